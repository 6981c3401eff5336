//! The `stream!` macro of Tidemill: a thin shell over the plan library
//! (`tidemill-plan`), which parses, checks and generates the code. Use the macro through
//! the `tidemill` crate, which documents the DSL.

use proc_macro::TokenStream;

/// Builds a Tidemill pipeline; see the `tidemill` crate for the DSL.
#[proc_macro]
pub fn stream(input: TokenStream) -> TokenStream {
    tidemill_plan::expand(input.into()).into()
}
