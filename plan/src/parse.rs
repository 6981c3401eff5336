//! The syntax of a pipeline: statements of chained calls.
//!
//! ```text
//! pipeline  := statement*
//! statement := "let" IDENT "=" chain ";" | chain ";"
//! chain     := head ("." call)*
//! head      := call | IDENT | sql      (a source call, a stream named earlier, a query)
//! sql       := "sql" "!" "(" STRING ("," "row" "=" PATH)? ")"
//! call      := IDENT "(" expr,* ")"
//! ```
//! Arguments are Rust expressions; the checker decides which form each operator accepts.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Expr, Ident, LitStr, Token};

/// A whole `stream! { ... }` body.
pub struct PipelineAst {
    pub statements: Vec<Statement>,
}

/// One `;`-terminated statement.
pub struct Statement {
    /// `let NAME =`, when the statement names its stream.
    pub name: Option<Ident>,
    pub chain: Chain,
}

/// A head followed by method-style calls.
pub struct Chain {
    pub head: Head,
    pub calls: Vec<Call>,
}

pub enum Head {
    /// A stream defined by an earlier `let`.
    Name(Ident),
    /// A source, e.g. `from_collection(..)`.
    Call(Call),
    /// A SQL query over the pipeline's streams: `sql!("SELECT ..")`.
    Sql(SqlCall),
}

/// `sql!("..")` as the pipeline writes it.
pub struct SqlCall {
    /// The `sql` of `sql!`.
    pub name: Ident,
    pub query: LitStr,
    /// `row = PATH`: the user's struct for the result rows.
    pub row: Option<syn::Path>,
}

/// `name(args)`.
pub struct Call {
    pub name: Ident,
    pub args: Vec<Expr>,
    /// The span of the parentheses and what is inside them.
    pub args_span: Span,
}

impl Parse for PipelineAst {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut statements = Vec::new();
        while !input.is_empty() {
            statements.push(input.parse()?);
        }
        Ok(PipelineAst { statements })
    }
}

impl Parse for Statement {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = if input.peek(Token![let]) {
            input.parse::<Token![let]>()?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(name)
        } else {
            None
        };
        let chain = input.parse()?;
        input.parse::<Token![;]>()?;
        Ok(Statement { name, chain })
    }
}

impl Parse for Chain {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lookahead = input.lookahead1();
        if !lookahead.peek(Ident) {
            return Err(lookahead.error());
        }
        let first: Ident = input.parse()?;
        let head = if first == "sql" && input.peek(Token![!]) {
            Head::Sql(SqlCall::parse_after_name(first, input)?)
        } else if input.peek(syn::token::Paren) {
            Head::Call(Call::parse_after_name(first, input)?)
        } else {
            Head::Name(first)
        };
        let mut calls = Vec::new();
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            let name: Ident = input.parse()?;
            let lookahead = input.lookahead1();
            if !lookahead.peek(syn::token::Paren) {
                return Err(lookahead.error());
            }
            calls.push(Call::parse_after_name(name, input)?);
        }
        Ok(Chain { head, calls })
    }
}

impl Call {
    fn parse_after_name(name: Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        let parens = parenthesized!(content in input);
        let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
        Ok(Call {
            name,
            args: args.into_iter().collect(),
            args_span: parens.span.join(),
        })
    }
}

impl SqlCall {
    /// Parses what follows the name `sql`: `!("..", row = T)`.
    pub fn parse_after_name(name: Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        input.parse::<Token![!]>()?;
        let content;
        parenthesized!(content in input);
        let query: LitStr = content.parse()?;
        let mut row = None;
        if content.peek(Token![,]) {
            content.parse::<Token![,]>()?;
            if !content.is_empty() {
                let key: Ident = content.parse()?;
                if key != "row" {
                    return Err(syn::Error::new(
                        key.span(),
                        "unknown option of `sql!`; the one option is `row = MyStruct`, the struct of the result rows",
                    ));
                }
                content.parse::<Token![=]>()?;
                row = Some(content.parse()?);
                if content.peek(Token![,]) {
                    content.parse::<Token![,]>()?;
                }
            }
        }
        if !content.is_empty() {
            return Err(content.error(
                "expected the end of `sql!`: write `sql!(\"SELECT ..\")` or `sql!(\"SELECT ..\", row = MyStruct)`",
            ));
        }
        Ok(SqlCall { name, query, row })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> syn::Result<PipelineAst> {
        syn::parse_str(src)
    }

    #[test]
    fn parses_statements_and_chains() {
        let ast = parse(
            "let words = read_text_file(path).flat_map(|l| split(l));
             words.key_by(0).sum(1).print();",
        )
        .unwrap();
        assert_eq!(ast.statements.len(), 2);
        assert_eq!(
            ast.statements[0].name.as_ref().unwrap().to_string(),
            "words"
        );
        let Head::Call(source) = &ast.statements[0].chain.head else {
            panic!("expected a source call")
        };
        assert_eq!(source.name.to_string(), "read_text_file");
        assert_eq!(source.args.len(), 1);
        let Head::Name(name) = &ast.statements[1].chain.head else {
            panic!("expected a stream name")
        };
        assert_eq!(name.to_string(), "words");
        let ops: Vec<String> = ast.statements[1]
            .chain
            .calls
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(ops, ["key_by", "sum", "print"]);
    }

    #[test]
    fn parses_many_arguments_and_trailing_commas() {
        let ast = parse("a.union(b, c,).print();").unwrap();
        assert_eq!(ast.statements[0].chain.calls[0].args.len(), 2);
    }

    #[test]
    fn rejects_missing_semicolon_and_missing_parens() {
        assert!(parse("from_collection(v).print()").is_err());
        let err = parse("from_collection(v).print;")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("expected parentheses"), "{err}");
    }
}
