//! The SQL front end: `sql!("SELECT .. FROM stream WHERE ..")` inside a pipeline, parsed
//! at compile time with `sqlparser` and lowered to the same IR as the DSL (through
//! [`push_node`]): `WHERE` becomes a `filter`, the projection a `map` into a generated
//! row struct, each column a field access on the table's records, so rustc checks every
//! name and type and the query fuses with the operators around it.
//!
//! ```text
//! sql      := "sql" "!" "(" STRING ("," "row" "=" PATH)? ","? ")"
//! ```
//! The query's tables are the pipeline's named streams. Its result is a stream of
//! `SqlRow { .. }`, a struct with the projected names (serde's traits, `Clone`, `Debug`,
//! `PartialEq`, and `Display` as Flink's `+I[..]`), or of the user's struct `PATH` with
//! `row = PATH`. Problems the planner sees are one error at the query, naming the line
//! and column in its text.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr as Sql, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident as SqlIdent, InTarget, ObjectNamePart, SelectItem,
    SetExpr, Spanned, Statement, TableFactor, UnaryOperator, Value as SqlValue,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use syn::{Expr, Ident};

use crate::diag::{Errors, Reported};
use crate::ir::{Graph, Input, Kind, Port};
use crate::nodes::{closest, push_node, resolve};
use crate::ops;
use crate::parse::SqlCall;

mod expr;
mod text;
mod windows;

use expr::*;
use text::*;
use windows::*;

/// The generated code is SQL's, not the user's Rust: clippy's style lints (a borrow
/// that a generic function would not need, say) do not apply to it.
const LINTS: Lints = Lints;

struct Lints;

impl quote::ToTokens for Lints {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote!(#[allow(clippy::all, clippy::pedantic, clippy::nursery)]));
    }
}

/// The runtime's SQL functions, as generated code names them.
fn rt() -> TokenStream {
    quote!(::tidemill::__private::sql)
}

/// Builds the nodes of the query `call` into `graph`: `Ok(Some(last node))`, `Ok(None)`
/// when its table is a broken stream (already reported), `Err` after reporting a problem.
pub fn build(
    graph: &mut Graph,
    call: &SqlCall,
    errors: &mut Errors,
) -> Result<Option<usize>, Reported> {
    let text = call.query.value();
    let at = Query {
        span: call.query.span(),
    };
    let built = build_query(graph, call, &text, &at, errors);
    if built.is_err() {
        // A query with a problem counts every stream it names as used, so that the
        // problem is its one message.
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if let Some(info) = graph.names.get_mut(word) {
                info.used = true;
            }
        }
    }
    built
}

fn build_query(
    graph: &mut Graph,
    call: &SqlCall,
    text: &str,
    at: &Query,
    errors: &mut Errors,
) -> Result<Option<usize>, Reported> {
    let (text, declared) = create_tables(text, at, errors)?;
    let statements = Parser::parse_sql(&GenericDialect {}, &prepare(&text))
        .map_err(|e| errors.report(at.span, syntax_error(&e.to_string())))?;
    let query = match statements.as_slice() {
        [Statement::Query(query)] => query,
        [] => return Err(errors.report(at.span, "the query is empty: write `SELECT .. FROM ..`")),
        [other] => {
            return Err(at.error(
                errors,
                other,
                "only `SELECT` queries are supported in `sql!`",
            ))
        }
        [_, second, ..] => {
            return Err(at.error(errors, second, "one query per `sql!`"));
        }
    };
    let unsupported = |what: &str| format!("{what} is not supported in `sql!` yet");
    if let Some(with) = &query.with {
        return Err(at.error(errors, with, &unsupported("`WITH`")));
    }
    if let Some(order) = &query.order_by {
        return Err(at.error(errors, order, &unsupported("`ORDER BY`")));
    }
    if let Some(limit) = &query.limit_clause {
        return Err(at.error(errors, limit, &unsupported("`LIMIT`")));
    }
    let select = match &*query.body {
        SetExpr::Select(select) => select,
        other => {
            return Err(at.error(
                errors,
                other,
                &unsupported("a query other than `SELECT .. FROM .. WHERE ..`"),
            ))
        }
    };
    let group_by: &[Sql] = match &select.group_by {
        GroupByExpr::Expressions(keys, modifiers) if modifiers.is_empty() => keys,
        group => return Err(at.error(errors, group, &unsupported("this `GROUP BY`"))),
    };
    // `SELECT DISTINCT a, b` is `SELECT a, b .. GROUP BY a, b`, as Flink plans it.
    let distinct_keys: Vec<Sql>;
    let group_by = match &select.distinct {
        None => group_by,
        Some(sqlparser::ast::Distinct::Distinct) if group_by.is_empty() => {
            let mut keys = Vec::new();
            for item in &select.projection {
                match item {
                    SelectItem::UnnamedExpr(e @ (Sql::Identifier(_) | Sql::CompoundIdentifier(_)))
                    | SelectItem::ExprWithAlias {
                        expr: e @ (Sql::Identifier(_) | Sql::CompoundIdentifier(_)),
                        ..
                    } => keys.push(e.clone()),
                    other => return Err(at.error(errors, other, "`SELECT DISTINCT` takes columns (an expression is not supported in `sql!` yet)")),
                }
            }
            distinct_keys = keys;
            &distinct_keys
        }
        Some(_) => return Err(at.error(errors, &**select, &unsupported("this `SELECT DISTINCT`"))),
    };

    // The table: one stream of the pipeline, or its windows.
    let from = match select.from.as_slice() {
        [one] if one.joins.is_empty() => one,
        [one] => return Err(at.error(errors, &one.joins[0], &unsupported("a join"))),
        [] => {
            return Err(at.error(
                errors,
                &**select,
                "a query needs a table: `FROM stream`, a stream of this pipeline",
            ))
        }
        [_, second, ..] => {
            return Err(at.error(errors, second, &unsupported("more than one table (a join)")))
        }
    };
    let (name, alias, windows) = match &from.relation {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => match name.0.as_slice() {
            [ObjectNamePart::Identifier(table)] => (
                table.clone(),
                alias.as_ref().map(|a| a.name.value.clone()),
                None,
            ),
            _ => {
                return Err(at.error(
                    errors,
                    name,
                    "a table is a stream of this pipeline, named by one identifier",
                ))
            }
        },
        TableFactor::TableFunction { expr, alias } => {
            let tvf = window_tvf(at, expr, errors)?;
            (
                tvf.table.clone(),
                alias.as_ref().map(|a| a.name.value.clone()),
                Some(tvf),
            )
        }
        other => {
            return Err(at.error(
                errors,
                other,
                &unsupported("a table other than a stream of the pipeline or a window TVF"),
            ))
        }
    };
    let input = table(graph, at, &name, errors)?;
    let Some(mut input) = input else {
        return Ok(None);
    };
    for decl in &declared {
        if decl.name != name.value {
            return Err(at.error(
                errors,
                decl.at,
                &format!(
                    "`CREATE TABLE {}` declares a table the query does not read (it reads `{}`)",
                    decl.name, name.value
                ),
            ));
        }
    }
    if let Some((column, bound)) = declared.iter().find_map(|d| d.watermark.clone()) {
        // Flink's SQL watermark `ts - n` trails the largest time by n; the DSL's bound
        // B trails it by B + 1 ms (Flink's DataStream rule): B = n - 1 is the same.
        let Some(field) = rust_ident(&column, at.span) else {
            return Err(at.error(
                errors,
                declared[0].at,
                &format!("column `{column}` is not a Rust field name"),
            ));
        };
        let record = format_ident!("__tm_sql", span = at.span);
        let bound = format!("{}ms", bound.saturating_sub(1));
        let args = [
            quote!(|#record: &_| { #LINTS let __tm_ts = #record.#field as u64; __tm_ts }),
            format!("out_of_orderness = {bound}")
                .parse()
                .expect("an option"),
        ];
        input = step(graph, call, at, "assign_timestamps", args.to_vec(), input);
    }

    let scope = Scope {
        table: name.value.clone(),
        alias,
    };
    let record = format_ident!("__tm_sql", span = at.span);
    let rt = rt();

    // Everything lowered first, then the nodes pushed in the pipeline's order.
    let condition = match &select.selection {
        Some(condition) => {
            if let Some(aggregate) = aggregate_in(condition) {
                return Err(at.error(errors, aggregate.span(), "aggregate functions are not allowed in `WHERE`, which filters rows before they are grouped: filter the groups with `HAVING`"));
            }
            let mut lower = Lower::new(at, &scope, &record, errors);
            let condition = lower.expr(condition)?;
            let code = lower.free(condition);
            Some(quote!(|#record: &_| { #LINTS let __tm_keep = #rt::is_true(#code); __tm_keep }))
        }
        None => None,
    };
    let mut steps: Vec<(&str, Vec<TokenStream>)> =
        condition.into_iter().map(|c| ("filter", vec![c])).collect();
    let aggregated = select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            aggregate_in(e).is_some()
        }
        _ => false,
    });
    if windows.is_none() && group_by.is_empty() && select.having.is_none() && !aggregated {
        let mut lower = Lower::new(at, &scope, &record, errors);
        if let Some(projection) = projection(&mut lower, &select.projection, call.row.as_ref())? {
            steps.push(("map", vec![projection]));
        }
    } else {
        if let Some(tvf) = &windows {
            if let Some((column, _)) = declared.iter().find_map(|d| d.watermark.as_ref()) {
                if *column != tvf.descriptor.value {
                    return Err(at.error(errors, tvf.descriptor.span, &format!("`DESCRIPTOR({})` must name the table's time column: its watermark is on `{column}`", tvf.descriptor.value)));
                }
            }
            event_time(graph, input, at, tvf, errors)?;
        }
        let keys = group_keys(at, windows.as_ref(), group_by, select, errors)?;
        let mut over_groups = Lower::new(at, &scope, &record, errors);
        over_groups.grouped = Some(Grouped {
            keys: keys.iter().map(|k| k.value.clone()).collect(),
            aggregates: Vec::new(),
            windowed: windows.is_some(),
        });
        let having = match &select.having {
            Some(having) => {
                let code = over_groups.expr(having)?;
                let code = over_groups.free(code);
                Some(
                    quote!(|#record: &_| { #LINTS let __tm_keep = #rt::is_true(#code); __tm_keep }),
                )
            }
            None => None,
        };
        let projection = projection(&mut over_groups, &select.projection, call.row.as_ref())?
            .expect("a grouped projection names its columns");
        let aggregates = over_groups
            .grouped
            .take()
            .map(|g| g.aggregates)
            .unwrap_or_default();
        let mut over_records = Lower::new(at, &scope, &record, errors);
        let (values, folds) = aggregator(&mut over_records, &aggregates)?;
        let mut parts = Vec::new();
        for key in &keys {
            let code =
                over_records.column(std::slice::from_ref(key), &Sql::Identifier(key.clone()))?;
            parts.push(over_records.owned(code, true));
        }
        let key = quote!((#(#parts,)*));
        match windows {
            Some(tvf) => {
                // `(key, arguments)` records, keyed by the first, windowed, folded.
                let window: TokenStream = tvf.window.parse().expect("a window of the DSL");
                steps.push((
                    "map",
                    vec![quote!(move |#record| { #LINTS let __tm_kv = (#key, #values); __tm_kv })],
                ));
                if keys.is_empty() {
                    steps.push(("window_all", vec![window]));
                } else {
                    steps.push(("key_by", vec![quote!(0)]));
                    steps.push(("window", vec![window]));
                }
                steps.push((
                    "aggregate",
                    vec![quote!(#rt::aggregate::Aggregates(#folds))],
                ));
                steps.extend(having.map(|h| ("filter", vec![h])));
                steps.push(("map", vec![projection]));
            }
            None => {
                // An updating query: a changelog, over differential dataflow. Its upsert
                // key, for sinks: the result's columns that are the GROUP BY's.
                let upsert_key = upsert_key(&keys, &select.projection);
                let having = having.unwrap_or_else(|| quote!(|_: &_| true));
                steps.push((
                    "__sql_group_by",
                    vec![
                        quote!(|#record: &_| { #LINTS let __tm_k = #key; __tm_k }),
                        quote!(|#record: &_| { #LINTS let __tm_v = #values; __tm_v }),
                        folds,
                        having,
                        projection,
                        quote!([#(#upsert_key),*]),
                    ],
                ));
            }
        }
    }

    let mut current = input;
    for (op, args) in steps {
        current = step(graph, call, at, op, args, current);
    }
    Ok(Some(current))
}

/// Adds the node of operator `op` with the generated arguments `args`, reading `input`.
fn step(
    graph: &mut Graph,
    call: &SqlCall,
    at: &Query,
    op: &str,
    args: Vec<TokenStream>,
    input: usize,
) -> usize {
    // Spanned at the query, where rustc's messages on its types then point.
    let args: Vec<Expr> = args
        .into_iter()
        .map(|arg| syn::parse2(respan(arg, at.span)).expect("generated code parses"))
        .collect();
    let input = Input {
        node: input,
        port: Port::Main,
        span: call.name.span(),
    };
    push_node(
        graph,
        ops::lookup_internal(op).expect("an operator"),
        (call.name.span(), at.span),
        &args,
        vec![input],
    )
}

/// The stream a query's table names: `Ok(None)` for a broken one (already reported).
fn table(
    graph: &mut Graph,
    at: &Query,
    name: &SqlIdent,
    errors: &mut Errors,
) -> Result<Option<usize>, Reported> {
    let Some(table) = rust_ident(&name.value, at.span) else {
        return Err(at.error(
            errors,
            name.span,
            "a table is a stream of this pipeline: a Rust identifier",
        ));
    };
    if !graph.names.contains_key(&table.to_string()) {
        let known: Vec<&str> = graph.names.keys().map(String::as_str).collect();
        let best = closest(&name.value, &known).map(str::to_string);
        let hint = match &best {
            Some(best) => format!("; did you mean `{best}`?"),
            None if known.is_empty() => ": define it first with `let name = ...;`".to_string(),
            None => format!("; the streams defined before it are {}", list(&known)),
        };
        // Most likely a typo of `best`: count it as used, so it is not also reported unused.
        if let Some(info) = best.and_then(|best| graph.names.get_mut(&best)) {
            info.used = true;
        }
        return Err(at.error(
            errors,
            name.span,
            &format!("cannot find table `{}` in this pipeline{hint}", name.value),
        ));
    }
    let Some(input) = resolve(graph, &table, errors)? else {
        return Ok(None);
    };
    if graph.nodes[input].kind != Some(Kind::Plain) {
        return Err(at.error(
            errors,
            name.span,
            &format!("table `{table}` must be a stream of records, not a keyed or windowed stream: name the stream before `key_by`"),
        ));
    }
    Ok(Some(input))
}

/// The first aggregate function call in `e`, if any: a `SELECT` of one without `GROUP
/// BY` is a global aggregate, one updating row; `WHERE` may not have one. (Forms not
/// looked into here meet the aggregate when lowered, which says where it is.)
fn aggregate_in(e: &Sql) -> Option<&Sql> {
    match e {
        Sql::Function(f) => {
            let name = f.name.to_string().to_uppercase();
            if is_aggregate(&name) {
                return Some(e);
            }
            match &f.args {
                FunctionArguments::List(list) => list.args.iter().find_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => aggregate_in(e),
                    _ => None,
                }),
                _ => None,
            }
        }
        Sql::Nested(inner) | Sql::UnaryOp { expr: inner, .. } | Sql::Cast { expr: inner, .. } => {
            aggregate_in(inner)
        }
        Sql::IsNull(inner) | Sql::IsNotNull(inner) => aggregate_in(inner),
        Sql::BinaryOp { left, right, .. } => aggregate_in(left).or_else(|| aggregate_in(right)),
        Sql::Case {
            operand,
            conditions,
            else_result,
            ..
        } => operand
            .as_deref()
            .and_then(aggregate_in)
            .or_else(|| else_result.as_deref().and_then(aggregate_in))
            .or_else(|| {
                conditions
                    .iter()
                    .find_map(|c| aggregate_in(&c.condition).or_else(|| aggregate_in(&c.result)))
            }),
        _ => None,
    }
}

/// The names in the result of the `GROUP BY` columns, each projected as it is (maybe
/// renamed): the key of an updating query's rows. Empty when one is not projected.
fn upsert_key(keys: &[SqlIdent], items: &[SelectItem]) -> Vec<String> {
    let projected = |key: &SqlIdent| {
        items.iter().find_map(|item| {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(expr) => (expr, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
                _ => return None,
            };
            let column = match expr {
                Sql::Identifier(c) => c,
                Sql::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1],
                _ => return None,
            };
            (column.value == key.value).then(|| alias.unwrap_or(column).value.clone())
        })
    };
    keys.iter()
        .map(projected)
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// The projection's `map` closure, or `None` for `SELECT *` (the records as they are).
fn projection(
    lower: &mut Lower<'_>,
    items: &[SelectItem],
    row: Option<&syn::Path>,
) -> Result<Option<TokenStream>, Reported> {
    let (at, record) = (lower.at, lower.record);
    if let [item @ (SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..))] = items {
        if lower.grouped.is_some() {
            return lower.fail(item, "`SELECT *` over windows: name the window's columns, keys and aggregates, as `SELECT window_start, window_end, k, COUNT(*) ..`");
        }
        if row.is_some() {
            return lower.fail(
                item,
                "`SELECT *` yields the table's own records: name the columns for `row = ..`",
            );
        }
        return Ok(None);
    }
    // Each output column: its name, and its expression lowered.
    let mut names = BTreeSet::new();
    let mut fields = Vec::new();
    let mut bare: BTreeMap<String, usize> = BTreeMap::new();
    // The columns that computed expressions read.
    let mut read_elsewhere = BTreeSet::new();
    let mut outputs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (expr, alias) = match item {
            SelectItem::UnnamedExpr(expr) => (expr, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
            other => {
                return lower.fail(
                    other,
                    "`*` is the whole record: write it alone, `SELECT *`, or name the columns",
                )
            }
        };
        let code = lower.expr(expr)?;
        let read = std::mem::take(&mut lower.columns);
        if !matches!(code.form, Form::Column { .. }) {
            read_elsewhere.extend(read);
        }
        let name = match (alias, &code.form) {
            (Some(alias), _) => alias.value.clone(),
            (
                None,
                Form::Column {
                    name: Some(name), ..
                },
            ) => name.clone(),
            // A column that is computed, as `window_time`.
            (None, _) => match expr {
                Sql::Identifier(column) => column.value.clone(),
                Sql::CompoundIdentifier(parts) if parts.len() == 2 => parts[1].value.clone(),
                _ => format!("EXPR${i}"),
            },
        };
        if !names.insert(name.clone()) {
            return lower.fail(
                item,
                &format!("the result has two columns named `{name}`: rename one with `AS`"),
            );
        }
        let field = if name.starts_with("EXPR$") {
            format_ident!("expr{i}", span = at.span)
        } else {
            match rust_ident(&name, at.span) {
                Some(field) => field,
                None => {
                    return lower.fail(
                        item,
                        &format!("`{name}` is not a Rust field name: rename it with `AS`"),
                    )
                }
            }
        };
        if let Form::Column { id, .. } = &code.form {
            *bare.entry(id.clone()).or_default() += 1;
        }
        fields.push((field, name));
        outputs.push(code);
    }
    // A column projected once and read nowhere else moves out of the record; any other
    // is copied (`Clone`) from it.
    let rt = rt();
    let mut lets = Vec::new();
    let mut values = Vec::new();
    for (i, code) in outputs.into_iter().enumerate() {
        let value = match &code.form {
            Form::Column { id, path, .. } if bare[id] == 1 && !read_elsewhere.contains(id) => {
                quote_spanned!(at.span=> #record.#path)
            }
            _ => {
                let local = format_ident!("__tm_e{i}");
                let owned = lower.owned(code, true);
                lets.push(quote!(let #local = #owned;));
                quote!(#local)
            }
        };
        values.push(value);
    }
    let field_names: Vec<&Ident> = fields.iter().map(|(f, _)| f).collect();
    let build = match row {
        Some(row) => quote!(#row { #(#field_names: #values),* }),
        None => {
            let params: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("T{i}")).collect();
            let renames = fields.iter().map(|(field, name)| {
                let unraw = field.to_string();
                let unraw = unraw.strip_prefix("r#").unwrap_or(&unraw);
                if unraw == name {
                    quote!()
                } else {
                    quote!(#[serde(rename = #name)])
                }
            });
            let serde = quote!(#rt::serde);
            let serde_path = "::tidemill::__private::sql::serde";
            quote! {
                {
                    /// A result row of the query: its columns, by name.
                    #[derive(Clone, Debug, PartialEq, #serde::Serialize, #serde::Deserialize)]
                    #[serde(crate = #serde_path)]
                    struct SqlRow<#(#params),*> {
                        #(#renames pub #field_names: #params,)*
                    }
                    impl<#(#params: #serde::Serialize),*> ::core::fmt::Display for SqlRow<#(#params),*> {
                        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            #rt::write_row(f, "+I", self)
                        }
                    }
                    SqlRow { #(#field_names: #values),* }
                }
            }
        }
    };
    Ok(Some(
        quote!(move |#record| { #(#lets)* #LINTS let __tm_row = #build; __tm_row }),
    ))
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diag::Errors;
    use crate::parse::PipelineAst;

    /// The operators of the pipeline `src` and its errors.
    fn plan(src: &str) -> (Vec<&'static str>, Vec<String>) {
        let ast: PipelineAst = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let mut graph = crate::build::build(&ast, &mut errors);
        crate::check::check(&mut graph, &mut errors);
        (
            graph.nodes.iter().map(|n| n.name).collect(),
            errors.messages(),
        )
    }

    #[test]
    fn a_query_is_a_filter_and_a_map_in_its_tables_chain() {
        let (ops, errors) = plan(
            r#"let t = from_collection(v); sql!("SELECT a, b + 1 AS c FROM t WHERE a > 1").print();"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ops, ["from_collection", "filter", "map", "print"]);
    }

    #[test]
    fn select_star_is_the_records_themselves() {
        let (ops, errors) = plan(r#"let t = from_collection(v); sql!("SELECT * FROM t").print();"#);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ops, ["from_collection", "print"]);
        let (ops, _) =
            plan(r#"let t = from_collection(v); sql!("SELECT t.* FROM t WHERE x").print();"#);
        assert_eq!(ops, ["from_collection", "filter", "print"]);
    }

    #[test]
    fn each_problem_is_one_message_at_its_place() {
        let cases = [
            ("SELECT a FROM orders WHERE", "SQL syntax: expected an expression, found the end of the query"),
            ("SELECT a FROM orders ORDER BY a", "`ORDER BY` is not supported in `sql!` yet (at 1:31 of the query)"),
            ("SELECT a FROM ordres", "cannot find table `ordres` in this pipeline; did you mean `orders`? (at 1:15 of the query)"),
            ("SELECT a FROM zzz", "cannot find table `zzz` in this pipeline; the streams defined before it are `keyed` and `orders` (at 1:15 of the query)"),
            ("SELECT a FROM keyed", "table `keyed` must be a stream of records, not a keyed or windowed stream: name the stream before `key_by` (at 1:15 of the query)"),
            ("SELECT a, SUM(a) FROM orders", "column `a` is neither grouped nor aggregated: add it to `GROUP BY`, or aggregate it (`MAX(a)`) (at 1:8 of the query)"),
            ("SELECT COUNT(*) AS n FROM TABLE(TUMBLE(DATA => TABLE orders, TIMECOL => DESCRIPTOR(a), WIDTH => INTERVAL '1' SECOND)) GROUP BY window_start, window_end", "`TUMBLE` has no argument `WIDTH`: its arguments are DATA, TIMECOL, SIZE (at 1:88 of the query)"),
            ("SELECT COUNT(*) AS n FROM TABLE(SESSION(DATA => TABLE orders, TIMECOL => DESCRIPTOR(a), GAP => INTERVAL '1' SECOND, OFFSET => INTERVAL '1' SECOND)) GROUP BY window_start, window_end", "`SESSION` has no argument `OFFSET`: its arguments are DATA, TIMECOL, GAP (at 1:117 of the query)"),
            ("SELECT COUNT(*) AS n FROM TABLE(HOP(DATA => TABLE orders, DESCRIPTOR(a), SIZE => INTERVAL '1' SECOND)) GROUP BY window_start, window_end", "`HOP`'s arguments are all named or all in order: name this one too (DATA, TIMECOL, SLIDE, SIZE) (at 1:59 of the query)"),
            ("SELECT COUNT(*) AS n FROM TABLE(HOP(DATA => TABLE orders, TIMECOL => DESCRIPTOR(a), SIZE => INTERVAL '1' SECOND)) GROUP BY window_start, window_end", "`HOP` needs its `SLIDE` argument (at 1:33 of the query)"),
            ("SELECT a FROM orders WHERE SUM(a) > 1", "aggregate functions are not allowed in `WHERE`, which filters rows before they are grouped: filter the groups with `HAVING` (at 1:28 of the query)"),
            ("SELECT a AS b, c AS b FROM orders", "the result has two columns named `b`: rename one with `AS` (at 1:16 of the query)"),
            ("SELECT a FROM orders; SELECT b FROM orders", "one query per `sql!` (at 1:23 of the query)"),
            ("SELECT CAST(a AS DATE) AS d FROM orders", "CAST to `DATE` is not supported: the types are BIGINT, INT, SMALLINT, TINYINT, DOUBLE, FLOAT, DECIMAL (as DOUBLE), BOOLEAN and STRING (at 1:13 of the query)"),
        ];
        let mut wrong = Vec::new();
        for (query, want) in cases {
            let src = format!(
                r#"let orders = from_collection(v); orders.print(); let keyed = orders.key_by(|x| *x); keyed.count().print(); sql!("{query}").print();"#
            );
            let (_, errors) = plan(&src);
            if errors != [want] {
                wrong.push(format!("{query}: {errors:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
