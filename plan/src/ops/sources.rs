//! The sources: `from_collection(iterable)` (any `IntoIterator`, split among workers by
//! position), `read_text_file(path)` (the lines of a file, read in parallel by byte
//! ranges), both bounded, and `from_source(spec)`: any `SourceSpec`, such as the Nexmark
//! generator, taken as unbounded (the job runs in streaming mode).
use proc_macro2::TokenStream;
use quote::quote_spanned;

use crate::args::Arg;
use crate::ir::Node;
use crate::spec::{Codegen, Needs, OpSpec, BASE};

const fn source(
    name: &'static str,
    usage: &'static str,
    bounded: bool,
    spec: fn(&Node) -> TokenStream,
) -> OpSpec {
    OpSpec {
        name,
        usage,
        needs: Needs::Nothing,
        args: &[Arg::Expr],
        bounded,
        codegen: Codegen::Source(spec),
        ..BASE
    }
}

pub const FROM_COLLECTION: OpSpec = source(
    "from_collection",
    "from_collection(iterable)",
    true,
    |node| {
        let arg = node.expr(0);
        quote_spanned!(node.span=> ::tidemill::__private::sources::Collection::new(#arg))
    },
);

pub const READ_TEXT_FILE: OpSpec = source("read_text_file", "read_text_file(path)", true, |node| {
    let arg = node.expr(0);
    quote_spanned!(node.span=> ::tidemill::__private::sources::TextFile::new(#arg))
});

pub const FROM_SOURCE: OpSpec = source("from_source", "from_source(spec)", false, |node| {
    let arg = node.expr(0);
    quote_spanned!(node.span=> #arg)
});
