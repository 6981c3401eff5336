//! Collected errors: every problem in a pipeline is reported at once, each at its span.

use proc_macro2::{Span, TokenStream};

/// A problem already reported in [`Errors`]: what a step that gave up returns.
#[derive(Debug)]
pub struct Reported;

#[derive(Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new(span, message));
    }

    /// Reports a problem, for a step that gives up: `return Err(errors.report(..))`.
    pub fn report(&mut self, span: Span, message: impl std::fmt::Display) -> Reported {
        self.push(span, message);
        Reported
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        self.list.iter().map(|e| e.to_string()).collect()
    }

    pub fn to_compile_errors(&self) -> TokenStream {
        self.list.iter().map(syn::Error::to_compile_error).collect()
    }
}
