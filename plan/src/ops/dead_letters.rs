//! `source.dead_letters()`: the input a source could not decode (a malformed JSON or CSV
//! record), each with the reason and where it was read, as `DeadLetter`s. Without it, a
//! source's dead letters go to standard error; they are counted either way.
use crate::diag::Errors;
use crate::ir::{Graph, Node, Port};
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "dead_letters",
    usage: "dead_letters()",
    reads: Port::DeadLetters,
    check,
    codegen: Codegen::Op(|e, node| e.input(node, 0)),
    ..BASE
};

fn check(graph: &Graph, node: &Node, errors: &mut Errors) {
    if !graph.nodes[node.input(0)].outputs.has(Port::DeadLetters) {
        errors.push(node.span, "`dead_letters()` takes the input a source could not decode: apply it to the stream a source yields, e.g. `let txns = from_source(spec); txns.dead_letters().print();`");
    }
}
