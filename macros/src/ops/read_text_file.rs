//! `read_text_file(path)`: the lines of a text file, read in parallel by byte ranges.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "read_text_file",
    usage: "read_text_file(path)",
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
    quote_spanned!(node.span=> ::tidemill::__private::sources::TextFile::new(#arg))
}
