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

use crate::ops::Codegen;
use crate::plan::{Graph, Node};

/// What operator code needs while it is written: inputs, setup values, well-known names.
pub struct Emitter<'g> {
    graph: &'g Graph,
    /// Uses of each node's output not yet written; the last one moves, earlier ones clone.
    remaining_uses: Vec<usize>,
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
        self.remaining_uses[source] -= 1;
        if self.remaining_uses[source] > 0 {
            quote_spanned!(span=> ::std::clone::Clone::clone(&#var))
        } else {
            quote!(#var)
        }
    }
}

/// The fused group of every node: a node joins its input's group when both are stateless
/// and the input has no other consumer.
pub fn fused_groups(graph: &Graph) -> Vec<usize> {
    let consumers = consumer_counts(graph);
    let mut group: Vec<usize> = (0..graph.nodes.len()).collect();
    for node in &graph.nodes {
        if node.op.fused().is_none() {
            continue;
        }
        if let Some(&(input, _)) = node.inputs.first() {
            if graph.nodes[input].op.fused().is_some() && consumers[input] == 1 {
                group[node.id] = group[input];
            }
        }
    }
    group
}

fn consumer_counts(graph: &Graph) -> Vec<usize> {
    let mut counts = vec![0; graph.nodes.len()];
    for node in &graph.nodes {
        for &(input, _) in &node.inputs {
            counts[input] += 1;
        }
    }
    counts
}

/// The whole `stream!` expansion for a checked graph.
pub fn generate(graph: &Graph) -> TokenStream {
    let group = fused_groups(graph);
    let consumers = consumer_counts(graph);
    let mut e = Emitter {
        graph,
        remaining_uses: consumers.clone(),
        setup: Vec::new(),
    };
    let rt = e.rt();
    let mut body = Vec::new();
    for node in &graph.nodes {
        let continues_group = graph.nodes.iter().any(|n| {
            group[n.id] == group[node.id] && n.inputs.first().map(|i| i.0) == Some(node.id)
        });
        if node.op.fused().is_some() && continues_group {
            continue; // written with the last operator of its group
        }
        let value = match &node.op.codegen {
            Codegen::Fused(_) => fused_chain(&mut e, &group, node),
            Codegen::Op(gen) => gen(&mut e, node),
        };
        if node.op.is_sink() {
            body.push(quote!(#value;));
        } else {
            let var = format_ident!("__tm_n{}", node.id);
            body.push(quote!(let #var = #value;));
        }
    }
    let plan = plan_constant(e.graph, &group);
    let (setup, scope, ctx) = (&e.setup, e.scope(), e.ctx());
    quote! {
        {
            #(#setup)*
            #rt::Pipeline::new(#plan, move |#scope, #ctx| { #(#body)* })
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
    let input = e.input(members[0], 0);
    let name = members
        .iter()
        .map(|n| n.op.name)
        .collect::<Vec<_>>()
        .join(" > ");
    let mut bindings = Vec::new();
    let mut inner = quote!(__tm_out.push(__tm_r););
    let fns: Vec<Ident> = (0..members.len())
        .map(|i| format_ident!("__tm_f{}", i))
        .collect();
    for (i, node) in members.iter().enumerate() {
        let fused = node.op.fused().expect("fused group member");
        let helper = Ident::new(fused.helper, node.span);
        let (f, closure) = (&fns[i], &node.args[0]);
        let next_ty = if i + 1 == members.len() {
            quote!(_)
        } else {
            quote!(__tm_ty)
        };
        bindings.push(quote_spanned!(node.span=>
            let (mut #f, #next_ty) = #rt::operators::fused::#helper(__tm_ty, #closure);
        ));
    }
    for (i, node) in members.iter().enumerate().rev() {
        inner = (node.op.fused().expect("fused group member").wrap)(&fns[i], inner);
    }
    quote!({
        let __tm_in = #input;
        let __tm_ty = #rt::operators::fused::of(&__tm_in);
        #(#bindings)*
        #rt::operators::fused::fused(__tm_in, #name, move |__tm_r, __tm_out| { #inner })
    })
}

/// The plan as a constant the binary can print (`--explain`).
fn plan_constant(graph: &Graph, group: &[usize]) -> TokenStream {
    let rt = quote!(::tidemill::__private);
    let bounded = graph
        .nodes
        .iter()
        .filter(|n| n.op.is_source())
        .all(|n| n.op.bounded);
    let nodes = graph.nodes.iter().map(|n| {
        let (id, operator, op) = (n.id, group[n.id], n.op.name);
        let line = n.span.start().line;
        let inputs = n.inputs.iter().map(|(i, _)| *i);
        let exchange = n.inputs.iter().any(|(i, _)| graph.nodes[*i].op.name == "key_by");
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

    fn graph(src: &str) -> Graph {
        let ast: PipelineAst = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let g = crate::plan::build(&ast, &mut errors);
        crate::check::check(&g, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        g
    }

    #[test]
    fn stateless_chains_fuse_into_one_operator() {
        let g = graph("read_text_file(p).flat_map(|l| f(l)).filter(|w| g(w)).map(|w| (w, 1)).key_by(0).sum(1).map(|x| x).print();");
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
    fn a_stream_with_two_consumers_ends_its_group() {
        let g = graph("let a = from_collection(v).map(|x| x); a.filter(|x| p(x)).print(); a.map(|x| x).print();");
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

    #[test]
    fn plan_marks_the_exchange_at_key_by() {
        let code =
            generate(&graph("from_collection(v).key_by(|x| *x).count().print();")).to_string();
        assert!(
            code.contains("op : \"count\" , line : 1usize , inputs : & [1usize] , exchange : true"),
            "{code}"
        );
        assert!(code.contains("bounded : true"), "{code}");
    }
}
