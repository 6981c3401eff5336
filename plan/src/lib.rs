//! Tidemill's plan library: everything behind the `stream!` macro, as an ordinary crate
//! that other front ends (SQL) build on and that is unit-tested without the macro.
//!
//! A pipeline goes through four steps:
//! 1. [`parse`]: the syntax, statements of chained calls;
//! 2. [`graph`]: the IR, a graph of operator nodes with their arguments parsed into typed
//!    values and edges that carry a port, names resolved;
//! 3. [`check`]: stream kinds, time, and that every stream reaches a sink;
//! 4. [`codegen`]: the timely code.
//!
//! Each operator is one file in [`ops`], a constant [`ops::OpSpec`] with its rules as
//! hooks; the drivers name no operator.

pub mod check;
pub mod codegen;
pub mod diag;
pub mod graph;
pub mod ops;
pub mod parse;

use proc_macro2::TokenStream;

/// The expansion of `stream! { input }`: the pipeline's code, or its errors at the
/// user's spans (with a well-typed placeholder, so rustc adds none of its own).
pub fn expand(input: TokenStream) -> TokenStream {
    let ast: parse::PipelineAst = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(e) => return codegen::placeholder(e.to_compile_error()),
    };
    let mut errors = diag::Errors::default();
    let graph = graph::build(&ast, &mut errors);
    let times = check::check(&graph, &mut errors);
    if errors.is_empty() {
        codegen::generate(&graph, &times)
    } else {
        codegen::placeholder(errors.to_compile_errors())
    }
}
