//! The bounded sources: `from_collection(iterable)` (any `IntoIterator`, split among
//! workers by position) and `read_text_file(path)` (the lines of a file, read in
//! parallel by byte ranges).
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::plan::Node;

const fn bounded(
    name: &'static str,
    usage: &'static str,
    spec: fn(&Node) -> proc_macro2::TokenStream,
) -> OpSpec {
    OpSpec {
        name,
        usage,
        needs: Needs::Nothing,
        yields: Yields::Stream(Kind::Plain),
        args: &[Arg::Expr],
        variadic: false,
        options: &[],
        bounded: true,
        time: None,
        codegen: Codegen::Source(spec),
    }
}

pub const FROM_COLLECTION: OpSpec =
    bounded("from_collection", "from_collection(iterable)", |node| {
        let arg = &node.args[0];
        quote_spanned!(node.span=> ::tidemill::__private::sources::Collection::new(#arg))
    });

pub const READ_TEXT_FILE: OpSpec = bounded("read_text_file", "read_text_file(path)", |node| {
    let arg = &node.args[0];
    quote_spanned!(node.span=> ::tidemill::__private::sources::TextFile::new(#arg))
});
