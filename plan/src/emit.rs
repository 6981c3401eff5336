//! What an operator's code writer works with: its inputs (by port), values evaluated
//! once before the workers start, and the names the generated code shares.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::ir::{Graph, Kind, Node, Port, Time};

/// The state of code generation that operators' writers see.
pub struct Emitter<'g> {
    pub(crate) graph: &'g Graph,
    /// The pipeline's tick: timely times are event times rounded down to it.
    pub(crate) tick: u64,
    /// Uses of each node's records not yet written; the last one moves, earlier ones
    /// clone.
    pub(crate) remaining: Vec<usize>,
    /// The same for the late outputs of window aggregations.
    pub(crate) late_remaining: Vec<usize>,
    /// The same for the dead-letter outputs of sources.
    pub(crate) dead_remaining: Vec<usize>,
    /// The source whose operator the last written value built, if any: its value is a
    /// pair `(records, dead letters)`.
    pub(crate) built_source: Option<usize>,
    pub(crate) setup: Vec<TokenStream>,
}

impl<'g> Emitter<'g> {
    pub(crate) fn new(graph: &'g Graph, tick: u64) -> Self {
        let uses = |port| {
            (0..graph.nodes.len())
                .map(|id| graph.uses(id, port))
                .collect()
        };
        Emitter {
            graph,
            tick,
            remaining: uses(Port::Main),
            late_remaining: uses(Port::Late),
            dead_remaining: uses(Port::DeadLetters),
            built_source: None,
            setup: Vec::new(),
        }
    }

    /// The path of the runtime's codegen contract as seen from the user's crate.
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

    /// The `i`-th input stream of `node`, from the port its edge reads, spanned at the
    /// reference in the pipeline.
    pub fn input(&mut self, node: &Node, i: usize) -> TokenStream {
        let input = node.inputs[i];
        let (source, span) = (input.node, input.span);
        let (var, remaining) = match input.port {
            Port::Main => (format!("__tm_n{source}"), &mut self.remaining[source]),
            Port::Late => (
                format!("__tm_late{source}"),
                &mut self.late_remaining[source],
            ),
            Port::DeadLetters => (
                format!("__tm_dead{source}"),
                &mut self.dead_remaining[source],
            ),
            Port::Side(index) => {
                // Each side output is read once (the checker refuses a second reader).
                let var = Ident::new(&format!("__tm_side{source}_{index}"), span);
                return quote!(#var);
            }
        };
        let var = Ident::new(&var, span);
        *remaining -= 1;
        if *remaining > 0 {
            quote_spanned!(span=> ::std::clone::Clone::clone(&#var))
        } else {
            quote!(#var)
        }
    }

    /// The input of a sink: the records without their timestamps.
    pub fn value_input(&mut self, node: &Node) -> TokenStream {
        let (rt, input) = (self.rt(), self.input(node, 0));
        if self.is_timed(node.input(0)) {
            quote_spanned!(node.span=> #rt::time::values(#input))
        } else {
            input
        }
    }

    /// Whether the output of node `id` carries timestamps.
    pub fn is_timed(&self, id: usize) -> bool {
        self.graph.nodes[id].time != Time::None
    }

    /// Whether `node` aggregates a window (rather than rolling over a keyed stream).
    pub fn is_windowed(&self, node: &Node) -> bool {
        self.input_kind(node).is_some_and(Kind::is_windowed)
    }

    /// The kind of stream on `node`'s first input.
    pub fn input_kind(&self, node: &Node) -> Option<Kind> {
        self.graph.input_kind(node)
    }

    /// A window aggregation of `node`'s input with the aggregator `agg`, which may refer to
    /// the windowed stream as `__tm_w` (to pin closure types).
    pub fn window_aggregate(&mut self, node: &Node, agg: TokenStream) -> TokenStream {
        let (rt, name) = (self.rt(), node.name);
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

    /// The graph the code is written for.
    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// The pipeline's tick in milliseconds.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The tags of the side outputs taken from `node`, in the order of their ports.
    pub fn side_tags(&self, node: &Node) -> Vec<&syn::Expr> {
        let mut readers: Vec<(usize, &Node)> = self
            .graph
            .readers(node.id)
            .filter_map(|(n, port)| match port {
                Port::Side(i) => Some((i, n)),
                _ => None,
            })
            .collect();
        readers.sort_by_key(|(i, _)| *i);
        readers.into_iter().map(|(_, n)| n.expr(0)).collect()
    }
}
