//! The `stream!` macro of Tidemill.
//!
//! The work happens in ordinary modules that are unit-tested without invoking the macro:
//! [`parse`] (syntax), [`plan`] (the operator graph, names resolved), [`check`] (kinds,
//! arguments, sinks), [`codegen`] (timely code), with one file per operator in [`ops`].
//! Use the macro through the `tidemill` crate, which documents the DSL.

use proc_macro::TokenStream;

mod check;
mod codegen;
mod diag;
mod ops;
mod parse;
mod plan;

/// Builds a Tidemill pipeline; see the `tidemill` crate for the DSL.
#[proc_macro]
pub fn stream(input: TokenStream) -> TokenStream {
    expand(input.into()).into()
}

fn expand(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let ast: parse::PipelineAst = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(e) => return codegen::placeholder(e.to_compile_error()),
    };
    let mut errors = diag::Errors::default();
    let graph = plan::build(&ast, &mut errors);
    let times = check::check(&graph, &mut errors);
    if errors.is_empty() {
        codegen::generate(&graph, &times)
    } else {
        codegen::placeholder(errors.to_compile_errors())
    }
}
