//! `from_collection(expr)`: a bounded source over any `IntoIterator`, split among workers.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "from_collection",
    usage: "from_collection(iterable)",
    needs: Needs::Nothing,
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Expr],
    variadic: false,
    bounded: true,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let source = e.setup(
        node,
        quote_spanned!(node.span=> #rt::sources::Collection::new(#arg)),
    );
    let (scope, ctx) = (e.scope(), e.ctx());
    quote_spanned!(node.span=> #source.build(#scope, #ctx))
}
