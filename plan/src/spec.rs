//! What an operator is: its [`OpSpec`], one constant per operator in `ops/`, with its
//! arguments, the streams it takes and yields, its checks and its code writer as hooks.
//! The drivers (`build`, `check`, `codegen`) read specs and call hooks; they name no
//! operator.

use proc_macro2::{Ident, TokenStream};

use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::{Graph, Kind, Node, Port, Time};

/// What an operator consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// A source: no input stream.
    Nothing,
    /// A stream of one of these kinds.
    Stream(&'static [Kind]),
}

/// What an operator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yields {
    /// A stream of this kind (which [`OpSpec::output_kind`] may refine).
    Stream(Kind),
    /// Nothing: the operator is a sink.
    Nothing,
}

/// How a stateless operator is fused into its chain.
pub struct Fused {
    /// The typed helper in the runtime's `operators::fused` that binds the closure.
    pub helper: &'static str,
    /// Wraps the rest of the per-record body (`inner`) around a call of the closure `f`;
    /// the current record is `__tm_r`.
    pub wrap: fn(f: &Ident, inner: TokenStream) -> TokenStream,
}

/// How an operator becomes code.
pub enum Codegen {
    /// A stateless operator, fused with its neighbours into one timely operator.
    Fused(Fused),
    /// Any other operator: returns the expression of its output, shaped as its
    /// [`Outputs`](crate::ir::Outputs) (unit for sinks).
    Op(fn(&mut Emitter<'_>, &Node) -> TokenStream),
    /// A source: returns the expression of its `SourceSpec`, evaluated once per process.
    Source(fn(&Node) -> TokenStream),
    /// A timestamp assigner: returns its stamper, built in its source's operator (where
    /// `__tm_ty` names the records' type).
    Assigner(fn(&Emitter<'_>, &Node) -> TokenStream),
}

/// The specification of one DSL operator. Start from [`BASE`] and set what differs.
pub struct OpSpec {
    pub name: &'static str,
    /// How the operator is called, for messages, e.g. `map(|x| ...)`.
    pub usage: &'static str,
    pub needs: Needs,
    pub yields: Yields,
    /// The form of each positional argument.
    pub args: &'static [Arg],
    /// The last argument may repeat (at least once).
    pub variadic: bool,
    /// How many of the last arguments may be left out.
    pub optional: usize,
    /// Named options that may follow the arguments, each `name = value` with a value of
    /// the given form.
    pub options: &'static [(&'static str, Arg)],
    /// The kinds of the streams given as arguments (`union(b)`, `join(b)`).
    pub other_inputs: &'static [Kind],
    /// Whether streams given as arguments must carry the first input's time.
    pub same_time: bool,
    /// Which output of its input the operator reads ([`Port::Side`]'s index is given
    /// when the graph is built).
    pub reads: Port,
    /// For sources: whether the input is finite.
    pub bounded: bool,
    /// For timestamp assigners: the time of the records it yields.
    pub time: Option<Time>,
    /// Whether the operator has side outputs, taken with [`Port::Side`].
    pub side_outputs: bool,
    /// The kind of its output, given the declared one and its input's.
    pub output_kind: fn(declared: Kind, input: Option<Kind>) -> Kind,
    /// The operator's own rules, run once its arguments have their forms and its
    /// output's time is known.
    pub check: fn(&Graph, &Node, &mut Errors),
    /// The message for an input of a kind it does not take, where the generic one would
    /// not say what to do.
    pub wrong_input: fn(got: Kind) -> Option<String>,
    /// The durations (ms) that the pipeline's tick must divide.
    pub tick: fn(&Node) -> Vec<u64>,
    pub codegen: Codegen,
}

fn unwritten(_: &mut Emitter<'_>, node: &Node) -> TokenStream {
    unreachable!("`{}` has no code writer", node.name)
}

/// The defaults: a stateless-looking operator from a plain stream to a plain stream,
/// without arguments, options, or rules of its own.
pub const BASE: OpSpec = OpSpec {
    name: "",
    usage: "",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[],
    variadic: false,
    optional: 0,
    options: &[],
    other_inputs: &[Kind::Plain],
    same_time: true,
    reads: Port::Main,
    bounded: false,
    time: None,
    side_outputs: false,
    output_kind: |declared, _| declared,
    check: |_, _, _| {},
    wrong_input: |_| None,
    tick: |_| Vec::new(),
    codegen: Codegen::Op(unwritten),
};

impl OpSpec {
    /// Whether only a front end emits it (its name starts with `__`): not DSL syntax.
    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }
    pub fn is_source(&self) -> bool {
        self.needs == Needs::Nothing
    }
    pub fn is_sink(&self) -> bool {
        self.yields == Yields::Nothing
    }
    pub fn fused(&self) -> Option<&Fused> {
        match &self.codegen {
            Codegen::Fused(f) => Some(f),
            _ => None,
        }
    }
    /// Whether it is a timestamp assigner, which runs in its source's operator.
    pub fn is_assigner(&self) -> bool {
        self.time.is_some()
    }
}
