//! Code generation, a driver over the operators' specs: the checked graph becomes a
//! `tidemill::Pipeline` value.
//!
//! - Arguments of sources and sinks (collections, paths, collectors) are evaluated once,
//!   before the workers start; everything else is built on every worker.
//! - Runs of stateless operators (`map`, `filter`, `flat_map`, `inspect`) whose
//!   intermediate streams have a single consumer are fused into one timely operator; a
//!   timestamp assigner runs in its source's operator, with the stateless operators
//!   around it.
//! - Each node's outputs are bound by their ports ([`Outputs`]).
//! - Generated calls carry the span of the user's operator, so type errors point into the
//!   pipeline rather than into the macro.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::emit::Emitter;
use crate::ir::{Graph, Kind, Node, Outputs, Port};
use crate::ops;
use crate::spec::{Codegen, OpSpec};

fn spec(node: &Node) -> &'static OpSpec {
    ops::spec(node.op)
}

/// The pipeline's tick in milliseconds: the gcd of the durations operators name (window
/// sizes and slides, allowed lateness, interval-join bounds: see each spec's `tick`), so
/// that window ends and cleanup times fall on ticks; 1 s when there are none.
pub fn tick(graph: &Graph) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let tick = graph
        .nodes
        .iter()
        .flat_map(|node| (spec(node).tick)(node))
        .fold(0, gcd);
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
    let (scope, ctx, name) = (e.scope(), e.ctx(), node.name);
    quote_spanned!(node.span=>
        #rt::sources::build(#scope, #ctx, &__tm_done, #name, &#spec, #rt::sources::pass, #rt::time::NoTime, #rt::sources::pass))
}

/// The source operator of the timestamp assigner `node`, followed by the stateless
/// operators `post` (which keep each record's timestamp), fused into it: the source, the
/// stateless operators between them, and the stamper that holds the watermark.
fn source_with_post(e: &mut Emitter<'_>, node: &Node, post: &[&Node]) -> TokenStream {
    let rt = e.rt();
    let mut chain = Vec::new();
    let mut current = node;
    while let Some(input) = current.inputs.first() {
        current = &e.graph.nodes[input.node];
        chain.push(current);
    }
    let source = chain.pop().expect("checked: the chain starts at a source");
    chain.reverse();
    let Codegen::Source(source_spec) = spec(source).codegen else {
        unreachable!("checked: the chain starts at a source")
    };
    let Codegen::Assigner(stamper) = spec(node).codegen else {
        unreachable!("`{}` is not a timestamp assigner", node.name)
    };
    let source_spec = e.setup(source, source_spec(source));
    e.built_source = Some(source.id);
    let (bindings, logic) = if chain.is_empty() {
        (Vec::new(), quote!(#rt::sources::pass))
    } else {
        chain_logic(e, &chain, false)
    };
    let stamper = stamper(e, node);
    let (post_bindings, post_logic) = if post.is_empty() {
        (Vec::new(), quote!(#rt::sources::pass))
    } else {
        chain_logic(e, post, true)
    };
    let names: Vec<&str> = std::iter::once(source)
        .chain(chain.iter().copied())
        .chain(std::iter::once(node))
        .chain(post.iter().copied())
        .map(|n| n.name)
        .collect();
    let name = names.join(" > ");
    let (scope, ctx) = (e.scope(), e.ctx());
    quote!({
        let __tm_ty = #rt::sources::item_ty(&#source_spec);
        #(#bindings)*
        let __tm_stamper = #stamper;
        #(#post_bindings)*
        #rt::sources::build(#scope, #ctx, &__tm_done, #name, &#source_spec, #logic, __tm_stamper, #post_logic)
    })
}

/// The fused group of every node: a stateless node joins its input's group when the input
/// has no other consumer and is stateless too, or is a timestamp assigner (whose source
/// operator then runs the group).
pub fn fused_groups(graph: &Graph) -> Vec<usize> {
    let mut group: Vec<usize> = (0..graph.nodes.len()).collect();
    for node in &graph.nodes {
        if spec(node).fused().is_none() {
            continue;
        }
        if let Some(input) = node.inputs.first() {
            let from = spec(&graph.nodes[input.node]);
            let joinable = from.fused().is_some() || from.is_assigner();
            if joinable && graph.uses(input.node, Port::Main) == 1 {
                group[node.id] = group[input.node];
            }
        }
    }
    group
}

/// The nodes that a timestamp assigner absorbs into its source operator: the source and
/// the stateless operators between them.
fn absorbed_into_sources(graph: &Graph) -> Vec<bool> {
    let mut absorbed = vec![false; graph.nodes.len()];
    for node in graph.nodes.iter().filter(|n| spec(n).is_assigner()) {
        let mut current = node;
        while let Some(input) = current.inputs.first() {
            absorbed[input.node] = true;
            current = &graph.nodes[input.node];
        }
    }
    absorbed
}

/// The order nodes are written in: inputs first, and a reader of dead letters after the
/// node whose operator builds its source (a timestamp assigner, or the end of the fused
/// chain after it, can come later in the pipeline than the `dead_letters()`).
fn emission_order(graph: &Graph, group: &[usize], absorbed: &[bool]) -> Vec<usize> {
    fn rank(graph: &Graph, builder: &[usize], memo: &mut [Option<usize>], id: usize) -> usize {
        if let Some(r) = memo[id] {
            return r;
        }
        let node = &graph.nodes[id];
        let mut r = 2 * id;
        for input in &node.inputs {
            r = r.max(rank(graph, builder, memo, input.node));
            if input.port == Port::DeadLetters {
                r = r.max(rank(graph, builder, memo, builder[input.node]) + 1);
            }
        }
        memo[id] = Some(r);
        r
    }
    // The node that writes each source: itself, or the last node of its assigner's group.
    let mut builder: Vec<usize> = (0..graph.nodes.len()).collect();
    for node in graph.nodes.iter().filter(|n| spec(n).is_assigner()) {
        let last = (0..graph.nodes.len())
            .filter(|&n| group[n] == group[node.id])
            .max()
            .unwrap_or(node.id);
        let mut current = node;
        while let Some(input) = current.inputs.first() {
            if absorbed[input.node] {
                builder[input.node] = last;
            }
            current = &graph.nodes[input.node];
        }
    }
    let mut memo = vec![None; graph.nodes.len()];
    let mut order: Vec<usize> = (0..graph.nodes.len()).collect();
    order.sort_by_key(|&id| (rank(graph, &builder, &mut memo, id), id));
    order
}

/// The whole `stream!` expansion for a checked graph.
pub fn generate(graph: &Graph) -> TokenStream {
    let group = fused_groups(graph);
    let absorbed = absorbed_into_sources(graph);
    let mut e = Emitter::new(graph, tick(graph));
    let rt = e.rt();
    let mut body = Vec::new();
    for id in emission_order(graph, &group, &absorbed) {
        let node = &graph.nodes[id];
        let continues_group = graph.nodes.iter().any(|n| {
            group[n.id] == group[node.id] && n.inputs.first().map(|i| i.node) == Some(node.id)
        });
        let op = spec(node);
        let groups_on = op.fused().is_some() || op.is_assigner();
        if absorbed[node.id] || (groups_on && continues_group) {
            continue; // written with the operator that ends its group or source chain
        }
        let value = match &op.codegen {
            Codegen::Fused(_) => fused_chain(&mut e, &group, node),
            Codegen::Op(write) => write(&mut e, node),
            Codegen::Source(spec) => plain_source(&mut e, node, *spec),
            Codegen::Assigner(_) => source_with_post(&mut e, node, &[]),
        };
        // The records' variable, or `_` when nothing reads them.
        let records = if graph.uses(node.id, Port::Main) > 0 {
            let var = format_ident!("__tm_n{}", node.id);
            quote!(#var)
        } else {
            quote!(_)
        };
        if let Some(source) = e.built_source.take() {
            // A source operator: its records, and its dead letters.
            let dead = format_ident!("__tm_dead{}", source);
            body.push(quote!(let (#records, #dead) = #value;));
            if graph.uses(source, Port::DeadLetters) == 0 {
                let ctx = e.ctx();
                body.push(quote!(#rt::dead_letter::to_stderr(#dead, #ctx);));
            }
            continue;
        }
        match node.outputs {
            // Sinks tell sources that commit what they read (Kafka) what is written.
            Outputs::Nothing => body.push(quote!(#rt::sources::written(#value, &__tm_done);)),
            Outputs::Main => body.push(quote!(let #records = #value;)),
            Outputs::MainAndDeadLetters => {
                unreachable!("`{}`: a source's operator is written above", node.name)
            }
            Outputs::MainAndLate => {
                let late = format_ident!("__tm_late{}", node.id);
                body.push(quote!(let (#records, #late) = #value;));
                if graph.uses(node.id, Port::Late) == 0 {
                    let at = format!(
                        "window aggregation `{}` at line {}",
                        node.name,
                        node.span.start().line
                    );
                    let ctx = e.ctx();
                    body.push(quote!(#rt::window::count_late(#late, #ctx, #at);));
                }
            }
            Outputs::MainAndSides => {
                let sides = graph.readers(node.id).filter_map(|(_, port)| match port {
                    Port::Side(i) => Some(format_ident!("__tm_side{}_{}", node.id, i)),
                    _ => None,
                });
                body.push(quote!(let (#records, (#(#sides,)*)) = #value;));
            }
        }
    }
    let plan = plan_constant(graph, &group);
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
    while let Some(input) = members.last().and_then(|n| n.inputs.first()) {
        if group[input.node] != group[last.id] {
            break;
        }
        members.push(&e.graph.nodes[input.node]);
    }
    members.reverse();
    if spec(members[0]).is_assigner() {
        // The chain follows a timestamp assigner: it runs in the source operator.
        return source_with_post(e, members[0], &members[1..]);
    }
    let timed = e.is_timed(members[0].input(0));
    let input = e.input(members[0], 0);
    let name = members
        .iter()
        .map(|n| n.name)
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
    let fused = |node: &Node| spec(node).fused().expect("fused group member");
    let mut bindings = Vec::new();
    for (i, node) in members.iter().enumerate() {
        let helper = Ident::new(fused(node).helper, node.span);
        let (f, closure) = (&fns[i], node.expr(0));
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
        inner = (fused(node).wrap)(&fns[i], inner);
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
        .filter(|n| spec(n).is_source())
        .map(|n| format_ident!("__tm_setup{}", n.id));
    let bounded = quote!(true #(&& #rt::sources::SourceSpec::bounded(&#specs))*);
    let nodes = graph.nodes.iter().map(|n| {
        let (id, operator, op) = (n.id, group[n.id], n.name);
        let line = n.span.start().line;
        let inputs = n.inputs.iter().map(|i| i.node);
        // Records cross workers on the way into the operator that consumes a keyed or
        // windowed stream: the keyed aggregation.
        let exchange = n.kind == Some(Kind::Plain)
            && n.inputs.first().is_some_and(|i| graph.nodes[i.node].kind != Some(Kind::Plain));
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

    fn graph(src: &str) -> (Graph, ()) {
        let ast: PipelineAst = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let mut g = crate::build::build(&ast, &mut errors);
        crate::check::check(&mut g, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        (g, ())
    }

    #[test]
    fn stateless_chains_fuse_into_one_operator() {
        let (g, _times) = graph("read_text_file(p).flat_map(|l| f(l)).filter(|w| g(w)).map(|w| (w, 1)).key_by(0).sum(1).map(|x| x).print();");
        let groups = fused_groups(&g);
        // source | flat_map filter map | key_by | sum | map | print
        assert_eq!(groups, [0, 1, 1, 1, 4, 5, 6, 7]);
        let code = generate(&g).to_string();
        assert_eq!(
            code.matches("operators :: fused :: fused (").count(),
            2,
            "{code}"
        );
    }

    #[test]
    fn stateless_operators_after_a_timestamp_assigner_run_in_its_source() {
        let (g, _times) = graph("from_collection(v).map(|x| x).assign_timestamps(|x| *x, out_of_orderness = 1s).filter(|x| p(x)).map(|x| x).key_by(|x| *x).count().print();");
        let groups = fused_groups(&g);
        // source map assign_timestamps filter map | key_by | count | print
        assert_eq!(groups, [0, 1, 2, 2, 2, 5, 6, 7]);
        let code = generate(&g).to_string();
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
        let (g, _times) = graph("let a = from_collection(v).map(|x| x); a.filter(|x| p(x)).print(); a.map(|x| x).print();");
        let groups = fused_groups(&g);
        assert_eq!(groups, [0, 1, 2, 3, 4, 5]);
        let code = generate(&g).to_string();
        assert_eq!(
            code.matches(":: std :: clone :: Clone :: clone (& __tm_n1)")
                .count(),
            1,
            "{code}"
        );
    }

    /// The expansion of `src`, pretty-printed: what the snapshots in `src/snapshots/`
    /// hold (review a change with `cargo insta review`, or rerun with
    /// `INSTA_UPDATE=always` and read the diff).
    fn expansion(src: &str) -> String {
        let (g, ()) = graph(src);
        let code = generate(&g);
        let file: syn::File = syn::parse2(quote!(fn expansion() { #code })).unwrap();
        prettyplease::unparse(&file)
    }

    #[test]
    fn timestamp_options_reach_the_stamper() {
        insta::assert_snapshot!(expansion(
            "from_collection(v).assign_timestamps(|x| *x, idle_timeout = 1min, out_of_orderness = 2s).print();"
        ));
    }

    #[test]
    fn plan_marks_the_exchange_at_key_by() {
        insta::assert_snapshot!(expansion(
            "from_collection(v).key_by(|x| *x).count().print();"
        ));
    }

    #[test]
    fn a_fused_chain_is_one_closure() {
        insta::assert_snapshot!(expansion(
            "read_text_file(p).flat_map(|l| f(l)).filter(|w| g(w)).map(|w| (w, 1)).key_by(0).sum(1).print();"
        ));
    }

    #[test]
    fn outputs_are_bound_by_port() {
        // A window's late records, a source's dead letters and a process function's side
        // outputs, each read by name; the other side output unread is bound all the same.
        insta::assert_snapshot!(expansion(
            "let s = from_source(spec);
             s.dead_letters().print();
             let counts = s.assign_timestamps(|x| x.ts, out_of_orderness = 1s)
                 .key_by(|x| x.k).window(sliding(10s, 5s)).allowed_lateness(5s).count();
             counts.print();
             counts.late().discard();
             let p = from_collection(v).key_by(|x| *x).process(F::new());
             p.print();
             p.side_output(ALERTS).print();"
        ));
    }
}
