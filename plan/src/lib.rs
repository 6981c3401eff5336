//! Tidemill's plan library: everything behind the `stream!` macro, as an ordinary crate
//! that other front ends (SQL) build on and that is unit-tested without the macro.
//!
//! A pipeline goes through four steps:
//! 1. [`parse`]: the syntax, statements of chained calls;
//! 2. [`build`]: the IR ([`ir`]), a graph of operator nodes with their arguments parsed
//!    into typed values ([`args`]) and edges that carry a port, names resolved;
//! 3. [`check`]: arguments, stream kinds, time, and that every stream reaches a sink;
//! 4. [`codegen`]: the timely code, each operator writing its own through [`emit`].
//!
//! Each operator is one file in [`ops`], a constant [`spec::OpSpec`] with its rules and
//! its code writer as hooks; the drivers name no operator. The modules form layers, each
//! using only those before it: `args`, `diag`, `parse`; `ir`; `emit`; `spec`; `ops`;
//! `nodes` (the node constructor every front end uses); `sql` (queries in `sql!("..")`);
//! `build`, `check`, `codegen`.

pub mod args;
pub mod build;
pub mod check;
pub mod codegen;
pub mod diag;
pub mod emit;
pub mod ir;
pub mod nodes;
pub mod ops;
pub mod parse;
pub mod spec;
pub mod sql;

use proc_macro2::TokenStream;

/// The expansion of `stream! { input }`: the pipeline's code, or its errors at the
/// user's spans (with a well-typed placeholder, so rustc adds none of its own).
pub fn expand(input: TokenStream) -> TokenStream {
    let ast: parse::PipelineAst = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(e) => return codegen::placeholder(e.to_compile_error()),
    };
    let mut errors = diag::Errors::default();
    let mut graph = build::build(&ast, &mut errors);
    check::check(&mut graph, &mut errors);
    if errors.is_empty() {
        codegen::generate(&graph)
    } else {
        codegen::placeholder(errors.to_compile_errors())
    }
}
