//! The sources: `from_collection(iterable)` (any `IntoIterator`, split among workers by
//! position), `read_text_file(path)` (the lines of a file, read in parallel by byte
//! ranges), both bounded, and `from_source(spec)`: any `SourceSpec`, such as the Nexmark
//! generator, taken as unbounded (the job runs in streaming mode).
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::graph::Node;

const fn source(
    name: &'static str,
    usage: &'static str,
    bounded: bool,
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
        bounded,
        time: None,
        codegen: Codegen::Source(spec),
    }
}

pub const FROM_COLLECTION: OpSpec = source(
    "from_collection",
    "from_collection(iterable)",
    true,
    |node| {
        let arg = &node.args[0];
        quote_spanned!(node.span=> ::tidemill::__private::sources::Collection::new(#arg))
    },
);

pub const READ_TEXT_FILE: OpSpec = source("read_text_file", "read_text_file(path)", true, |node| {
    let arg = &node.args[0];
    quote_spanned!(node.span=> ::tidemill::__private::sources::TextFile::new(#arg))
});

pub const FROM_SOURCE: OpSpec = source("from_source", "from_source(spec)", false, |node| {
    let arg = &node.args[0];
    quote_spanned!(node.span=> #arg)
});
