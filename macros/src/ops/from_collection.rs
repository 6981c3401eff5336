//! `from_collection(expr)`: a bounded source over any `IntoIterator`, split among workers.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "from_collection",
    usage: "from_collection(iterable)",
    needs: Needs::Nothing,
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Expr],
    variadic: false,
    options: &[],
    bounded: true,
    time: None,
    codegen: Codegen::Source(spec),
};

fn spec(node: &Node) -> proc_macro2::TokenStream {
    let arg = &node.args[0];
    quote_spanned!(node.span=> ::tidemill::__private::sources::Collection::new(#arg))
}
