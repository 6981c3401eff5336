//! Collected errors: every problem in a pipeline is reported at once, each at its span.

use proc_macro2::{Span, TokenStream};

#[derive(Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new(span, message));
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
