//! Code generation: the checked plan graph becomes a `tidemill::Pipeline` value.
//!
//! - Arguments of sources and sinks (collections, paths, collectors) are evaluated once,
//!   before the workers start; everything else is built on every worker.
//! - Runs of stateless operators (`map`, `filter`, `flat_map`, `inspect`) whose
//!   intermediate streams have a single consumer are fused into one timely operator.
//! - Generated calls carry the span of the user's operator, so type errors point into the
//!   pipeline rather than into the macro.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::check::{duration_ms, is_window_aggregate, is_windowed_input, window_spec};
use crate::graph::{Graph, Node};
use crate::ops::{Codegen, Time};

/// What operator code needs while it is written: inputs, setup values, well-known names.
pub struct Emitter<'g> {
    graph: &'g Graph,
    /// The time of each node's output.
    times: &'g [Time],
    /// The pipeline's tick: timely times are event times rounded down to it.
    tick: u64,
    /// Uses of each node's output not yet written; the last one moves, earlier ones clone.
    remaining_uses: Vec<usize>,
    /// The same for the late outputs of window aggregations.
    late_uses: Vec<usize>,
    /// The same for the dead-letter outputs of sources.
    dead_uses: Vec<usize>,
    /// The source whose operator the last generated value built, if any: its value is a
    /// pair `(records, dead letters)`.
    built_source: Option<usize>,
    setup: Vec<TokenStream>,
}

impl Emitter<'_> {
    /// The path of the runtime as seen from the user's crate.
    pub fn rt(&self) -> TokenStream {
        quote!(::tidemill::__private)
    }

    /// The timely scope the dataflow is built in.
    pub fn scope(&self) -> Ident {
        Ident::new("__tm_scope", Span::call_site())
    }

    /// The job context (`&JobContext`).
    pub fn ctx(&self) -> Ident {
        Ident::new("__tm_ctx", Span::call_site())
    }

    /// Evaluates `value` once, before the workers start; returns the variable holding it.
    pub fn setup(&mut self, node: &Node, value: TokenStream) -> Ident {
        let var = format_ident!("__tm_setup{}", node.id);
        self.setup.push(quote!(let #var = #value;));
        var
    }

    /// The `i`-th input stream of `node`, spanned at the reference in the pipeline.
    pub fn input(&mut self, node: &Node, i: usize) -> TokenStream {
        let (source, span) = node.inputs[i];
        let var = Ident::new(&format!("__tm_n{source}"), span);
        take_use(&mut self.remaining_uses[source], var, span)
    }

    /// The input of a sink: the records without their timestamps.
    pub fn value_input(&mut self, node: &Node) -> TokenStream {
        let (rt, input) = (self.rt(), self.input(node, 0));
        if self.times[node.inputs[0].0] == Time::None {
            input
        } else {
            quote_spanned!(node.span=> #rt::time::values(#input))
        }
    }

    /// Whether the output of node `id` carries timestamps.
    pub fn is_timed(&self, id: usize) -> bool {
        self.times[id] != Time::None
    }

    /// Whether `node` aggregates a window (rather than rolling over a keyed stream).
    pub fn is_windowed(&self, node: &Node) -> bool {
        is_windowed_input(self.graph, node)
    }

    /// A window aggregation of `node`'s input with the aggregator `agg`, which may refer to
    /// the windowed stream as `__tm_w` (to pin closure types).
    pub fn window_aggregate(&mut self, node: &Node, agg: TokenStream) -> TokenStream {
        let (rt, name) = (self.rt(), node.op.name);
        let call = quote_spanned!(node.span=> {
            let __tm_a = #agg;
            #rt::window::aggregate(__tm_w, #name, __tm_a)
        });
        self.window_call(node, call)
    }

    /// An operation on `node`'s windowed input, bound as `__tm_w` for `call`, which yields
    /// `(results, late)`. Count windows on a stream without timestamps run at event time
    /// 0; their results drop it again (their late output, always empty, keeps it).
    pub fn window_call(&mut self, node: &Node, call: TokenStream) -> TokenStream {
        let (rt, input) = (self.rt(), self.input(node, 0));
        if self.is_timed(node.id) {
            return quote_spanned!(node.span=> { let __tm_w = #input; #call });
        }
        quote_spanned!(node.span=> {
            let __tm_w = #input;
            let (__tm_r, __tm_l) = #call;
            (#rt::time::values(__tm_r), __tm_l)
        })
    }

    /// The runtime function of the rolling aggregation `name` for `node`'s input:
    /// `name_timed` on a timestamped stream, whose outputs keep event time.
    pub fn rolling(&self, node: &Node, name: &str) -> Ident {
        if self.is_timed(node.inputs[0].0) {
            format_ident!("{}_timed", name, span = node.span)
        } else {
            Ident::new(name, node.span)
        }
    }

    /// The kind of stream node `id` yields.
    pub fn kind(&self, id: usize) -> Option<crate::ops::Kind> {
        crate::check::kind_of(self.graph, id)
    }

    /// The pipeline's tick in milliseconds.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The tags of the side outputs taken from the process function `node`, in order.
    pub fn side_tags(&self, node: &Node) -> Vec<&syn::Expr> {
        side_readers(self.graph, node.id)
            .map(|reader| &reader.args[0])
            .collect()
    }

    /// The side output that `node` (a `side_output(TAG)`) takes from its process function.
    pub fn side_input(&mut self, node: &Node) -> TokenStream {
        let (source, span) = node.inputs[0];
        let index = side_readers(self.graph, source)
            .position(|reader| reader.id == node.id)
            .expect("a side_output reads its process function");
        let var = Ident::new(&format!("__tm_side{source}_{index}"), span);
        quote!(#var)
    }

    /// The late records of the window aggregation that `node` (a `late()`) reads.
    pub fn late_input(&mut self, node: &Node) -> TokenStream {
        let (source, span) = node.inputs[0];
        let var = Ident::new(&format!("__tm_late{source}"), span);
        take_use(&mut self.late_uses[source], var, span)
    }

    /// The dead letters of the source that `node` (a `dead_letters()`) reads.
    pub fn dead_input(&mut self, node: &Node) -> TokenStream {
        let (source, span) = node.inputs[0];
        let var = Ident::new(&format!("__tm_dead{source}"), span);
        take_use(&mut self.dead_uses[source], var, span)
    }
}

/// The `side_output` nodes that read node `id`, in pipeline order.
pub fn side_readers(graph: &Graph, id: usize) -> impl Iterator<Item = &Node> {
    graph
        .nodes
        .iter()
        .filter(move |n| n.op.name == "side_output" && n.inputs[0].0 == id)
}

/// One use of a stream variable: a clone while other uses remain, else the variable.
fn take_use(remaining: &mut usize, var: Ident, span: Span) -> TokenStream {
    *remaining -= 1;
    if *remaining > 0 {
        quote_spanned!(span=> ::std::clone::Clone::clone(&#var))
    } else {
        quote!(#var)
    }
}

/// The longest tick that session windows allow, in milliseconds.
const SESSION_TICK: u64 = 100;

/// The pipeline's tick in milliseconds: the gcd of every window size, slide, allowed
/// lateness and interval-join bound, so that window ends and cleanup times fall on ticks
/// (1 s without windows).
///
/// Session ends fall on any millisecond, and a 1 ms tick would send about one message per
/// millisecond of event time. A session window takes part with its gap, capped at
/// [`SESSION_TICK`]: its sessions fire at the first tick boundary at or after their end,
/// and a record counts as late for a session by its source's watermark rounded down to
/// the tick (within 100 ms of the exact watermark, as Flink's periodic watermarks are
/// within their 200 ms interval).
pub fn tick(graph: &Graph) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let mut tick = 0;
    for node in &graph.nodes {
        match node.op.name {
            "window" | "window_all" => {
                if let Ok(spec) = window_spec(&node.args[0]) {
                    tick = if spec.session {
                        gcd(tick, spec.size.min(SESSION_TICK))
                    } else {
                        gcd(gcd(tick, spec.size), spec.slide)
                    };
                }
            }
            "allowed_lateness" => {
                if let Ok(ms) = duration_ms(&node.args[0]) {
                    tick = gcd(tick, ms);
                }
            }
            // Interval join bounds: lateness is read from timely times, so ticks must be
            // finer than the join's interval.
            "between" => {
                for arg in &node.args {
                    if let Ok(ms) = crate::check::signed_duration_ms(arg) {
                        tick = gcd(tick, ms.unsigned_abs());
                    }
                }
            }
            _ => {}
        }
    }
    if tick == 0 {
        1000
    } else {
        tick
    }
}

/// A source not followed by a timestamp assigner: records at time 0.
fn plain_source(e: &mut Emitter<'_>, node: &Node, spec: fn(&Node) -> TokenStream) -> TokenStream {
    let rt = e.rt();
    let spec = e.setup(node, spec(node));
    e.built_source = Some(node.id);
    let (scope, ctx, name) = (e.scope(), e.ctx(), node.op.name);
    quote_spanned!(node.span=>
        #rt::sources::build(#scope, #ctx, &__tm_done, #name, &#spec, #rt::sources::pass, #rt::time::NoTime, #rt::sources::pass))
}

/// `assign_timestamps` / `with_processing_time`: one source operator made of the source,
/// the stateless operators between them, and the stamper that holds the watermark.
pub fn timestamped_source(e: &mut Emitter<'_>, node: &Node) -> TokenStream {
    source_with_post(e, node, &[])
}

/// The source operator of the timestamp assigner `node`, followed by the stateless
/// operators `post` (which keep each record's timestamp), fused into it.
fn source_with_post(e: &mut Emitter<'_>, node: &Node, post: &[&Node]) -> TokenStream {
    let rt = e.rt();
    let mut chain = Vec::new();
    let mut current = node;
    while let Some(&(input, _)) = current.inputs.first() {
        current = &e.graph.nodes[input];
        chain.push(current);
    }
    let source = chain.pop().expect("checked: the chain starts at a source");
    chain.reverse();
    let Codegen::Source(spec) = source.op.codegen else {
        unreachable!("checked: the chain starts at a source")
    };
    let spec = e.setup(source, spec(source));
    e.built_source = Some(source.id);
    let (bindings, logic) = if chain.is_empty() {
        (Vec::new(), quote!(#rt::sources::pass))
    } else {
        chain_logic(e, &chain, false)
    };
    let tick = e.tick;
    let stamper = match node.op.time {
        Some(Time::Event) => {
            let f = &node.args[0];
            let option = |name: &str| node.option(name).and_then(|v| duration_ms(v).ok());
            let bound = option("out_of_orderness").unwrap_or(0);
            let stamper =
                quote_spanned!(node.span=> #rt::time::bounded(__tm_ty, #f, #bound, #tick));
            match option("idle_timeout") {
                Some(ms) => quote_spanned!(node.span=> #stamper.with_idle_timeout(#ms)),
                None => stamper,
            }
        }
        _ => quote_spanned!(node.span=> #rt::time::ProcessingTime::new(#tick)),
    };
    let (post_bindings, post_logic) = if post.is_empty() {
        (Vec::new(), quote!(#rt::sources::pass))
    } else {
        chain_logic(e, post, true)
    };
    let names: Vec<&str> = std::iter::once(source)
        .chain(chain.iter().copied())
        .chain(std::iter::once(node))
        .chain(post.iter().copied())
        .map(|n| n.op.name)
        .collect();
    let name = names.join(" > ");
    let (scope, ctx) = (e.scope(), e.ctx());
    quote!({
        let __tm_ty = #rt::sources::item_ty(&#spec);
        #(#bindings)*
        let __tm_stamper = #stamper;
        #(#post_bindings)*
        #rt::sources::build(#scope, #ctx, &__tm_done, #name, &#spec, #logic, __tm_stamper, #post_logic)
    })
}

/// The fused group of every node: a stateless node joins its input's group when the input
/// has no other consumer and is stateless too, or is a timestamp assigner (whose source
/// operator then runs the group).
pub fn fused_groups(graph: &Graph) -> Vec<usize> {
    let consumers = consumer_counts(graph).records;
    let mut group: Vec<usize> = (0..graph.nodes.len()).collect();
    for node in &graph.nodes {
        if node.op.fused().is_none() {
            continue;
        }
        if let Some(&(input, _)) = node.inputs.first() {
            let joinable =
                graph.nodes[input].op.fused().is_some() || graph.nodes[input].op.time.is_some();
            if joinable && consumers[input] == 1 {
                group[node.id] = group[input];
            }
        }
    }
    group
}

/// How many operators read each node's records, its late output (`late`,
/// `side_output`) and its dead letters (`dead_letters`).
struct Consumers {
    records: Vec<usize>,
    late: Vec<usize>,
    dead: Vec<usize>,
}

fn consumer_counts(graph: &Graph) -> Consumers {
    let n = graph.nodes.len();
    let mut c = Consumers {
        records: vec![0; n],
        late: vec![0; n],
        dead: vec![0; n],
    };
    for node in &graph.nodes {
        for &(input, _) in &node.inputs {
            match node.op.name {
                "late" | "side_output" => c.late[input] += 1,
                "dead_letters" => c.dead[input] += 1,
                _ => c.records[input] += 1,
            }
        }
    }
    c
}

/// The nodes that a timestamp assigner absorbs into its source operator: the source and
/// the stateless operators between them.
fn absorbed_into_sources(graph: &Graph) -> Vec<bool> {
    let mut absorbed = vec![false; graph.nodes.len()];
    for node in graph.nodes.iter().filter(|n| n.op.time.is_some()) {
        let mut current = node;
        while let Some(&(input, _)) = current.inputs.first() {
            absorbed[input] = true;
            current = &graph.nodes[input];
        }
    }
    absorbed
}

/// The order nodes are written in: inputs first, and a `dead_letters()` after the node
/// whose operator builds its source (a timestamp assigner, or the end of the fused chain
/// after it, can come later in the pipeline than the `dead_letters()`).
fn emission_order(graph: &Graph, group: &[usize], absorbed: &[bool]) -> Vec<usize> {
    fn rank(graph: &Graph, builder: &[usize], memo: &mut [Option<usize>], id: usize) -> usize {
        if let Some(r) = memo[id] {
            return r;
        }
        let node = &graph.nodes[id];
        let mut r = 2 * id;
        for &(input, _) in &node.inputs {
            r = r.max(rank(graph, builder, memo, input));
            if node.op.name == "dead_letters" {
                r = r.max(rank(graph, builder, memo, builder[input]) + 1);
            }
        }
        memo[id] = Some(r);
        r
    }
    // The node that writes each source: itself, or the last node of its assigner's group.
    let mut builder: Vec<usize> = (0..graph.nodes.len()).collect();
    for node in graph.nodes.iter().filter(|n| n.op.time.is_some()) {
        let last = (0..graph.nodes.len())
            .filter(|&n| group[n] == group[node.id])
            .max()
            .unwrap_or(node.id);
        let mut current = node;
        while let Some(&(input, _)) = current.inputs.first() {
            if absorbed[input] {
                builder[input] = last;
            }
            current = &graph.nodes[input];
        }
    }
    let mut memo = vec![None; graph.nodes.len()];
    let mut order: Vec<usize> = (0..graph.nodes.len()).collect();
    order.sort_by_key(|&id| (rank(graph, &builder, &mut memo, id), id));
    order
}

/// The whole `stream!` expansion for a checked graph.
pub fn generate(graph: &Graph, times: &[Time]) -> TokenStream {
    let group = fused_groups(graph);
    let Consumers {
        records: consumers,
        late: late_consumers,
        dead: dead_consumers,
    } = consumer_counts(graph);
    let absorbed = absorbed_into_sources(graph);
    let mut e = Emitter {
        graph,
        times,
        tick: tick(graph),
        remaining_uses: consumers.clone(),
        late_uses: late_consumers.clone(),
        dead_uses: dead_consumers.clone(),
        built_source: None,
        setup: Vec::new(),
    };
    let rt = e.rt();
    let mut body = Vec::new();
    for id in emission_order(graph, &group, &absorbed) {
        let node = &graph.nodes[id];
        let continues_group = graph.nodes.iter().any(|n| {
            group[n.id] == group[node.id] && n.inputs.first().map(|i| i.0) == Some(node.id)
        });
        let groups_on = node.op.fused().is_some() || node.op.time.is_some();
        if absorbed[node.id] || (groups_on && continues_group) {
            continue; // written with the operator that ends its group or source chain
        }
        let value = match &node.op.codegen {
            Codegen::Fused(_) => fused_chain(&mut e, &group, node),
            Codegen::Op(gen) => gen(&mut e, node),
            Codegen::Source(spec) => plain_source(&mut e, node, *spec),
        };
        let var = format_ident!("__tm_n{}", node.id);
        if let Some(source) = e.built_source.take() {
            // A source operator: its records, and its dead letters.
            let dead = format_ident!("__tm_dead{}", source);
            let records = if consumers[node.id] > 0 {
                quote!(#var)
            } else {
                quote!(_)
            };
            body.push(quote!(let (#records, #dead) = #value;));
            if dead_consumers[source] == 0 {
                let ctx = e.ctx();
                body.push(quote!(#rt::dead_letter::to_stderr(#dead, #ctx);));
            }
        } else if node.op.is_sink() {
            // Sinks tell sources that commit what they read (Kafka) what is written.
            body.push(quote!(#rt::sources::written(#value, &__tm_done);));
        } else if is_window_aggregate(graph, node.id) {
            let late = format_ident!("__tm_late{}", node.id);
            let results = if consumers[node.id] > 0 {
                quote!(#var)
            } else {
                quote!(_)
            };
            body.push(quote!(let (#results, #late) = #value;));
            if late_consumers[node.id] == 0 {
                let at = format!(
                    "window aggregation `{}` at line {}",
                    node.op.name,
                    node.span.start().line
                );
                let ctx = e.ctx();
                body.push(quote!(#rt::window::count_late(#late, #ctx, #at);));
            }
        } else if node.op.name == "process" {
            // A keyed process function (an interval join's has a late output instead).
            let main = if consumers[node.id] > 0 {
                quote!(#var)
            } else {
                quote!(_)
            };
            let sides = (0..side_readers(graph, node.id).count())
                .map(|i| format_ident!("__tm_side{}_{}", node.id, i));
            body.push(quote!(let (#main, (#(#sides,)*)) = #value;));
        } else {
            body.push(quote!(let #var = #value;));
        }
    }
    let plan = plan_constant(e.graph, &group);
    let (setup, scope, ctx) = (&e.setup, e.scope(), e.ctx());
    quote! {
        {
            #(#setup)*
            #rt::Pipeline::new(#plan, move |#scope, #ctx| {
                let __tm_done = #rt::sources::Completion::new();
                #(#body)*
                #rt::sources::finish(__tm_done);
            })
        }
    }
}

/// One timely operator for the fused group ending at `last`.
fn fused_chain(e: &mut Emitter<'_>, group: &[usize], last: &Node) -> TokenStream {
    let rt = e.rt();
    let mut members = vec![last];
    while let Some(&(input, _)) = members.last().and_then(|n| n.inputs.first()) {
        if group[input] != group[last.id] {
            break;
        }
        members.push(&e.graph.nodes[input]);
    }
    members.reverse();
    if members[0].op.time.is_some() {
        // The chain follows a timestamp assigner: it runs in the source operator.
        return source_with_post(e, members[0], &members[1..]);
    }
    let timed = e.is_timed(members[0].inputs[0].0);
    let input = e.input(members[0], 0);
    let name = members
        .iter()
        .map(|n| n.op.name)
        .collect::<Vec<_>>()
        .join(" > ");
    let (bindings, logic) = chain_logic(e, &members, timed);
    let ty = if timed {
        quote!(#rt::operators::fused::of_timed(&__tm_in))
    } else {
        quote!(#rt::operators::fused::of(&__tm_in))
    };
    quote!({
        let __tm_in = #input;
        let __tm_ty = #ty;
        #(#bindings)*
        #rt::operators::fused::fused(__tm_in, #name, #logic)
    })
}

/// The closures of a chain of stateless operators, bound to their input types (starting
/// from a `__tm_ty` witness in scope), and the per-record closure that runs them. On a
/// timestamped stream every output keeps the timestamp of its input record.
fn chain_logic(e: &Emitter<'_>, members: &[&Node], timed: bool) -> (Vec<TokenStream>, TokenStream) {
    let rt = e.rt();
    let fns: Vec<Ident> = members
        .iter()
        .map(|n| format_ident!("__tm_f{}", n.id))
        .collect();
    let mut bindings = Vec::new();
    for (i, node) in members.iter().enumerate() {
        let fused = node.op.fused().expect("fused group member");
        let helper = Ident::new(fused.helper, node.span);
        let (f, closure) = (&fns[i], &node.args[0]);
        bindings.push(quote_spanned!(node.span=>
            let (mut #f, __tm_ty) = #rt::operators::fused::#helper(__tm_ty, #closure);
        ));
    }
    let mut inner = if timed {
        quote!(#rt::operators::fused::Push::push(__tm_out, #rt::time::Timed { ts: __tm_ts, value: __tm_r });)
    } else {
        quote!(#rt::operators::fused::Push::push(__tm_out, __tm_r);)
    };
    for (i, node) in members.iter().enumerate().rev() {
        inner = (node.op.fused().expect("fused group member").wrap)(&fns[i], inner);
    }
    let logic = if timed {
        quote!(move |__tm_t: #rt::time::Timed<_>, __tm_out: &mut _| {
            let (__tm_ts, __tm_r) = (__tm_t.ts, __tm_t.value);
            #inner
        })
    } else {
        quote!(move |__tm_r, __tm_out: &mut _| { #inner })
    };
    (bindings, logic)
}

/// The plan the binary can print (`--explain`). Whether it is bounded is asked of the
/// sources' specs (a Kafka source may be bounded or not), once they are evaluated.
fn plan_constant(graph: &Graph, group: &[usize]) -> TokenStream {
    let rt = quote!(::tidemill::__private);
    let specs = graph
        .nodes
        .iter()
        .filter(|n| n.op.is_source())
        .map(|n| format_ident!("__tm_setup{}", n.id));
    let bounded = quote!(true #(&& #rt::sources::SourceSpec::bounded(&#specs))*);
    let nodes = graph.nodes.iter().map(|n| {
        let (id, operator, op) = (n.id, group[n.id], n.op.name);
        let line = n.span.start().line;
        let inputs = n.inputs.iter().map(|(i, _)| *i);
        // Records cross workers on the way into the operator that consumes a keyed or
        // windowed stream: the keyed aggregation.
        let exchange = n.op.yields == crate::ops::Yields::Stream(crate::ops::Kind::Plain)
            && n.inputs.first().is_some_and(|(i, _)| {
                graph.nodes[*i].op.yields != crate::ops::Yields::Stream(crate::ops::Kind::Plain)
            });
        quote!(#rt::PlanNode { id: #id, operator: #operator, op: #op, line: #line, inputs: &[#(#inputs),*], exchange: #exchange })
    });
    quote!(#rt::Plan { nodes: &[#(#nodes),*], bounded: #bounded })
}

/// What the macro expands to when the pipeline has errors: the errors, and a well-typed
/// empty pipeline so rustc does not add errors of its own.
pub fn placeholder(errors: TokenStream) -> TokenStream {
    quote! {
        {
            #errors
            ::tidemill::__private::Pipeline::new(
                ::tidemill::__private::Plan { nodes: &[], bounded: true },
                |_, _| {},
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Errors;
    use crate::parse::PipelineAst;

    fn graph(src: &str) -> (Graph, Vec<Time>) {
        let ast: PipelineAst = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let g = crate::graph::build(&ast, &mut errors);
        let times = crate::check::check(&g, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        (g, times)
    }

    #[test]
    fn stateless_chains_fuse_into_one_operator() {
        let (g, times) = graph("read_text_file(p).flat_map(|l| f(l)).filter(|w| g(w)).map(|w| (w, 1)).key_by(0).sum(1).map(|x| x).print();");
        let groups = fused_groups(&g);
        // source | flat_map filter map | key_by | sum | map | print
        assert_eq!(groups, [0, 1, 1, 1, 4, 5, 6, 7]);
        let code = generate(&g, &times).to_string();
        assert_eq!(
            code.matches("operators :: fused :: fused (").count(),
            2,
            "{code}"
        );
    }

    #[test]
    fn stateless_operators_after_a_timestamp_assigner_run_in_its_source() {
        let (g, times) = graph("from_collection(v).map(|x| x).assign_timestamps(|x| *x, out_of_orderness = 1s).filter(|x| p(x)).map(|x| x).key_by(|x| *x).count().print();");
        let groups = fused_groups(&g);
        // source map assign_timestamps filter map | key_by | count | print
        assert_eq!(groups, [0, 1, 2, 2, 2, 5, 6, 7]);
        let code = generate(&g, &times).to_string();
        assert_eq!(code.matches("sources :: build (").count(), 1, "{code}");
        assert!(
            !code.contains("operators :: fused :: fused ("),
            "no separate fused operator: {code}"
        );
        assert!(
            code.contains("\"from_collection > map > assign_timestamps > filter > map\""),
            "{code}"
        );
        // An assigner with two consumers keeps its chains apart.
        let (g, _) = graph("let s = from_collection(v).assign_timestamps(|x| *x); s.map(|x| x).print(); s.filter(|x| p(x)).print();");
        assert_eq!(fused_groups(&g), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_tick_divides_window_bounds_and_caps_sessions() {
        let tick_of = |windows: &str| {
            let (g, _) = graph(&format!(
                "let s = from_collection(v).assign_timestamps(|x| *x); {windows}"
            ));
            tick(&g)
        };
        assert_eq!(tick_of("s.print();"), 1000);
        assert_eq!(
            tick_of("s.key_by(|x| *x).window(sliding(10s, 2s)).count().print(); s.window_all(tumbling(3s)).count().print();"),
            1000
        );
        assert_eq!(
            tick_of("s.key_by(|x| *x).window(session(10s)).count().print();"),
            100
        );
        assert_eq!(
            tick_of("s.key_by(|x| *x).window(session(15ms)).count().print();"),
            15
        );
        assert_eq!(
            tick_of("s.key_by(|x| *x).window(session(10s)).count().print(); s.window_all(tumbling(250ms)).count().print();"),
            50
        );
    }

    #[test]
    fn a_stream_with_two_consumers_ends_its_group() {
        let (g, times) = graph("let a = from_collection(v).map(|x| x); a.filter(|x| p(x)).print(); a.map(|x| x).print();");
        let groups = fused_groups(&g);
        assert_eq!(groups, [0, 1, 2, 3, 4, 5]);
        let code = generate(&g, &times).to_string();
        assert_eq!(
            code.matches(":: std :: clone :: Clone :: clone (& __tm_n1)")
                .count(),
            1,
            "{code}"
        );
    }

    #[test]
    fn timestamp_options_reach_the_stamper() {
        let (g, times) = graph("from_collection(v).assign_timestamps(|x| *x, idle_timeout = 1min, out_of_orderness = 2s).print();");
        let code = generate(&g, &times).to_string();
        assert!(
            code.contains("2000u64 , 1000u64) . with_idle_timeout (60000u64)"),
            "{code}"
        );
    }

    #[test]
    fn plan_marks_the_exchange_at_key_by() {
        let (g, times) = graph("from_collection(v).key_by(|x| *x).count().print();");
        let code = generate(&g, &times).to_string();
        assert!(
            code.contains("op : \"count\" , line : 1usize , inputs : & [1usize] , exchange : true"),
            "{code}"
        );
        assert!(
            code.contains("bounded : true && :: tidemill :: __private :: sources :: SourceSpec :: bounded (& __tm_setup0)"),
            "{code}"
        );
    }
}
