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

/// The generated code is SQL's, not the user's Rust: clippy's style lints (a borrow
/// that a generic function would not need, say) do not apply to it.
const LINTS: Lints = Lints;

struct Lints;

impl quote::ToTokens for Lints {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote!(#[allow(clippy::all, clippy::pedantic, clippy::nursery)]));
    }
}

/// An unsuffixed float literal (maybe negated) as an `f64` one.
fn float_suffixed(n: &TokenStream) -> TokenStream {
    let text = n.to_string().replace(' ', "");
    let (minus, digits) = match text.strip_prefix('-') {
        Some(digits) => (quote!(-), digits.to_string()),
        None => (quote!(), text),
    };
    let value: f64 = digits.parse().expect("a float literal of the query");
    let literal = Literal::f64_suffixed(value);
    quote!(#minus #literal)
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
            let mut lower = Lower::new(at, &scope, &record, errors);
            let condition = lower.expr(condition)?;
            let code = lower.free(condition);
            Some(quote!(|#record: &_| { #LINTS let __tm_keep = #rt::is_true(#code); __tm_keep }))
        }
        None => None,
    };
    let mut steps: Vec<(&str, Vec<TokenStream>)> =
        condition.into_iter().map(|c| ("filter", vec![c])).collect();
    if windows.is_none() && group_by.is_empty() && select.having.is_none() {
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
        if windows.is_none() && keys.is_empty() {
            let place = select.having.as_ref().map_or(select.span(), |h| h.span());
            return Err(at.error(errors, place, "an aggregation without `GROUP BY` over an unbounded table (a global aggregate) is not supported in `sql!` yet: group by a key, or by windows"));
        }
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

/// A window table-valued function of `FROM`: the table it windows, and the DSL window
/// it becomes.
struct WindowTvf {
    table: SqlIdent,
    /// The window as the DSL writes it: `tumbling(10000ms)`.
    window: String,
    /// `SESSION`'s `PARTITION BY` columns.
    partition: Vec<SqlIdent>,
    /// The time column `DESCRIPTOR` names.
    descriptor: SqlIdent,
}

/// `TUMBLE(TABLE t, DESCRIPTOR(ts), size)`, `HOP(TABLE t, DESCRIPTOR(ts), slide, size)`,
/// `SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)` (with `TABLE t` already read
/// as `t`, see [`prepare`]).
fn window_tvf(at: &Query, expr: &Sql, errors: &mut Errors) -> Result<WindowTvf, Reported> {
    let unsupported = |errors: &mut Errors, what: sqlparser::tokenizer::Span, message: &str| {
        Err(at.error(errors, what, message))
    };
    let Sql::Function(function) = expr else {
        return unsupported(
            errors,
            expr.span(),
            "`TABLE(..)` in `FROM` takes a window function: `TUMBLE`, `HOP` or `SESSION`",
        );
    };
    let kind = function.name.to_string().to_uppercase();
    let args: Vec<&Sql> = match &function.args {
        FunctionArguments::List(list) => {
            let mut args = Vec::new();
            for arg in &list.args {
                match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                    other => return unsupported(errors, other.span(), &format!("`{kind}` takes its arguments in order: named arguments are not supported in `sql!` yet")),
                }
            }
            args
        }
        _ => return unsupported(errors, expr.span(), &format!("`{kind}` needs its arguments: the table, `DESCRIPTOR(time column)` and the window's size")),
    };
    let table = match args.first() {
        Some(Sql::Identifier(table)) => table.clone(),
        _ => {
            return unsupported(
                errors,
                expr.span(),
                &format!(
                    "`{kind}`'s first argument is the table: `{kind}(TABLE t, DESCRIPTOR(ts), ..)`"
                ),
            )
        }
    };
    let mut rest = &args[1..];
    let mut partition = Vec::new();
    if let Some(Sql::Function(f)) = rest.first() {
        if f.name.to_string() == "PARTITION_BY" {
            if kind != "SESSION" {
                return unsupported(errors, f.span(), &format!("`PARTITION BY` is for `SESSION` windows; `{kind}` windows are grouped by `GROUP BY`"));
            }
            if let FunctionArguments::List(list) = &f.args {
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Sql::Identifier(c))) => {
                            partition.push(c.clone())
                        }
                        other => {
                            return unsupported(
                                errors,
                                other.span(),
                                "`PARTITION BY` takes columns",
                            )
                        }
                    }
                }
            }
            rest = &rest[1..];
        }
    }
    let descriptor = match rest.first() {
        Some(Sql::Function(d)) if d.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") => {
            match &d.args {
                FunctionArguments::List(list) => match list.args.as_slice() {
                    [FunctionArg::Unnamed(FunctionArgExpr::Expr(Sql::Identifier(c)))] => c.clone(),
                    _ => return unsupported(errors, d.span(), "`DESCRIPTOR` names one column, the time column"),
                },
                _ => return unsupported(errors, d.span(), "`DESCRIPTOR` names one column, the time column"),
            }
        }
        _ => return unsupported(errors, expr.span(), &format!("`{kind}`'s second argument is the time column: `{kind}(TABLE t, DESCRIPTOR(ts), ..)`, the event time the table's stream carries (`assign_timestamps`)")),
    };
    let mut intervals = Vec::new();
    for arg in &rest[1..] {
        intervals.push(interval_ms(at, arg, errors)?);
    }
    let window = match (kind.as_str(), intervals.as_slice()) {
        ("TUMBLE", [size]) => format!("tumbling({size}ms)"),
        ("HOP", [slide, size]) => format!("sliding({size}ms, {slide}ms)"),
        ("SESSION", [gap]) => format!("session({gap}ms)"),
        ("TUMBLE" | "HOP" | "SESSION", _) => {
            let shape = match kind.as_str() {
                "TUMBLE" => "TUMBLE(TABLE t, DESCRIPTOR(ts), size)",
                "HOP" => "HOP(TABLE t, DESCRIPTOR(ts), slide, size)",
                _ => "SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)",
            };
            return unsupported(errors, expr.span(), &format!("`{kind}` takes `{shape}` (an offset is not supported in `sql!` yet)"));
        }
        ("CUMULATE", _) => return unsupported(errors, expr.span(), "`CUMULATE` windows are not supported in `sql!` yet"),
        _ => return unsupported(errors, expr.span(), &format!("unknown window function `{kind}`: the window TVFs are `TUMBLE`, `HOP` and `SESSION`")),
    };
    Ok(WindowTvf {
        table,
        window,
        partition,
        descriptor,
    })
}

/// Checks that a windowed table carries time, and that `DESCRIPTOR` names the column
/// its timestamps come from where the assigner says so plainly (`|r| r.ts`): windows
/// are over the stream's own event time.
fn event_time(
    graph: &Graph,
    mut node: usize,
    at: &Query,
    tvf: &WindowTvf,
    errors: &mut Errors,
) -> Result<(), Reported> {
    loop {
        let n = &graph.nodes[node];
        let op = crate::ops::spec(n.op);
        if let Some(time) = op.time {
            if time == crate::ir::Time::Event {
                if let Some(field) = plain_field(n.expr(0)) {
                    if field != tvf.descriptor.value {
                        return Err(at.error(errors, tvf.descriptor.span, &format!("`DESCRIPTOR({})` must name the table's time column: its stream's timestamps are its `{field}` (`assign_timestamps`)", tvf.descriptor.value)));
                    }
                }
            }
            return Ok(());
        }
        match n.inputs.as_slice() {
            [input] if matches!(op.codegen, crate::spec::Codegen::Fused(_)) => node = input.node,
            [] => {
                return Err(at.error(errors, tvf.descriptor.span, &format!("windows need the table's event time: add `.assign_timestamps(|r| r.{}, out_of_orderness = 5s)` to the stream `{}`", tvf.descriptor.value, tvf.table.value)));
            }
            // Anything else (a join, a union) keeps its inputs' time: the checker tells.
            _ => return Ok(()),
        }
    }
}

/// The field `f` of `|x| x.f` (or `|x| x.f as T`).
fn plain_field(closure: &Expr) -> Option<String> {
    let Expr::Closure(c) = closure else {
        return None;
    };
    let mut body = &*c.body;
    if let Expr::Cast(cast) = body {
        body = &cast.expr;
    }
    match body {
        Expr::Field(f) => match (&*f.base, &f.member) {
            (Expr::Path(_), syn::Member::Named(name)) => Some(name.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The milliseconds of `INTERVAL 'n' UNIT`.
fn interval_ms(at: &Query, expr: &Sql, errors: &mut Errors) -> Result<u64, Reported> {
    use sqlparser::ast::DateTimeField as F;
    let shape = "a window's size is an interval such as `INTERVAL '10' SECOND`";
    let Sql::Interval(interval) = expr else {
        return Err(at.error(errors, expr, shape));
    };
    let amount = match &*interval.value {
        Sql::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(n) | SqlValue::Number(n, _) => {
                n.trim().parse::<u64>().ok()
            }
            _ => None,
        },
        _ => None,
    };
    let unit = match &interval.leading_field {
        Some(F::Millisecond | F::Milliseconds) => Some(1),
        Some(F::Second | F::Seconds) => Some(1_000),
        Some(F::Minute | F::Minutes) => Some(60_000),
        Some(F::Hour | F::Hours) => Some(3_600_000),
        Some(F::Day | F::Days) => Some(86_400_000),
        _ => None,
    };
    match (amount, unit, &interval.last_field) {
        (Some(n), Some(unit), None) if n > 0 => Ok(n * unit),
        _ => Err(at.error(
            errors,
            expr,
            &format!(
                "{shape}: a positive whole number of MILLISECOND, SECOND, MINUTE, HOUR or DAY"
            ),
        )),
    }
}

/// The keys of a `GROUP BY`: its columns, besides `window_start` and `window_end`,
/// which a windowed one must name, as Flink requires.
fn group_keys(
    at: &Query,
    tvf: Option<&WindowTvf>,
    group_by: &[Sql],
    select: &sqlparser::ast::Select,
    errors: &mut Errors,
) -> Result<Vec<SqlIdent>, Reported> {
    let mut keys = Vec::new();
    let (mut start, mut end) = (false, false);
    for key in group_by {
        let column = match key {
            Sql::Identifier(c) => c,
            Sql::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1],
            other => {
                return Err(at.error(
                    errors,
                    other,
                    "`GROUP BY` takes columns (an expression is not supported in `sql!` yet)",
                ))
            }
        };
        match column.value.as_str() {
            "window_start" | "window_end" | "window_time" if tvf.is_none() => {
                return Err(at.error(
                    errors,
                    column.span,
                    &format!("`{}` is a column of window TVFs: `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))`", column.value),
                ))
            }
            "window_start" => start = true,
            "window_end" => end = true,
            "window_time" => {
                return Err(at.error(
                    errors,
                    column.span,
                    "group by `window_start, window_end`: `window_time` follows from them",
                ))
            }
            _ if keys.iter().any(|k: &SqlIdent| k.value == column.value) => {}
            _ => keys.push(column.clone()),
        }
    }
    let Some(tvf) = tvf else {
        return Ok(keys);
    };
    if !(start && end) {
        let place = match group_by.first() {
            Some(first) => first.span(),
            None => select.span(),
        };
        return Err(at.error(errors, place, "a window aggregation groups by `window_start, window_end` (and any keys): `GROUP BY window_start, window_end, ..`"));
    }
    for column in &tvf.partition {
        if !keys.iter().any(|k| k.value == column.value) {
            return Err(at.error(errors, column.span, &format!("`SESSION` partitions by `{}`: group by it too, `GROUP BY window_start, window_end, {}`", column.value, column.value)));
        }
    }
    Ok(keys)
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

/// A query's aggregate functions: the tuple of their arguments, computed from a record,
/// and the tuple of their folds (`COUNT(*)`'s argument is `()`).
fn aggregator(
    lower: &mut Lower<'_>,
    aggregates: &[(String, sqlparser::ast::Function)],
) -> Result<(TokenStream, TokenStream), Reported> {
    let rt = rt();
    let agg = quote!(#rt::aggregate);
    let (mut values, mut folds) = (Vec::new(), Vec::new());
    for (id, f) in aggregates {
        let name = f.name.to_string().to_uppercase();
        let FunctionArguments::List(list) = &f.args else {
            return lower.fail(&f.name, &format!("`{id}` needs an argument"));
        };
        let distinct =
            list.duplicate_treatment == Some(sqlparser::ast::DuplicateTreatment::Distinct);
        match list.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if name == "COUNT" && !distinct => {
                values.push(quote!(()));
                folds.push(quote!(#agg::CountStar));
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] => {
                if distinct && name != "COUNT" {
                    return lower.fail(
                        &f.name,
                        &format!("`DISTINCT` is supported in `COUNT` only, not in `{name}`"),
                    );
                }
                let code = lower.expr(arg)?;
                values.push(lower.owned(code, true));
                folds.push(match (name.as_str(), distinct) {
                    ("COUNT", true) => quote!(#agg::CountDistinct),
                    ("COUNT", false) => quote!(#agg::Count),
                    ("SUM", _) => quote!(#agg::Sum),
                    ("AVG", _) => quote!(#agg::Avg),
                    ("MIN", _) => quote!(#agg::Min),
                    _ => quote!(#agg::Max),
                });
            }
            _ => return lower.fail(&f.name, &format!("`{name}` takes one argument")),
        }
    }
    Ok((quote!((#(#values,)*)), quote!((#(#folds,)*))))
}

/// Where messages about the query point: its literal, with the line and column in its
/// text (a literal's inside has no span of its own on stable Rust).
struct Query {
    span: Span,
}

impl Query {
    fn error(&self, errors: &mut Errors, at: impl Located, message: &str) -> Reported {
        let start = at.location().start;
        if start.line == 0 {
            errors.report(self.span, message)
        } else {
            let (line, column) = (start.line, start.column);
            errors.report(
                self.span,
                format!("{message} (at {line}:{column} of the query)"),
            )
        }
    }
}

/// The query as sqlparser reads it: Flink's `TABLE t` arguments of window functions
/// (`TUMBLE(TABLE t, ..)`), which sqlparser has no syntax for, as `t` padded to the same
/// width, so positions in messages stay those of the query; `SESSION`'s `TABLE t
/// PARTITION BY k` becomes `t,PARTITION_BY(k)`. Quoted text is left alone.
fn prepare(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let keyword_at = |i: usize, keyword: &str| {
        let n = keyword.chars().count();
        i + n <= chars.len()
            && chars[i..i + n]
                .iter()
                .copied()
                .map(|c| c.to_ascii_uppercase())
                .eq(keyword.chars())
            && (i == 0 || !word(chars[i - 1]))
            && chars.get(i + n).is_none_or(|c| !word(*c))
    };
    let skip_space = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(text.len() + 2);
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        let after = skip_space(i + 5);
        let names_a_table = chars.get(after).is_some_and(|c| word(*c) || *c == '`');
        if keyword_at(i, "TABLE") && after > i + 5 && names_a_table {
            out.push_str("     ");
            i += 5;
            // The name, as it is.
            while i < chars.len() && (chars[i].is_whitespace() || i < after) {
                out.push(chars[i]);
                i += 1;
            }
            if chars.get(i) == Some(&'`') {
                out.push('`');
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            while i < chars.len() && (word(chars[i]) || chars[i] == '`') {
                out.push(chars[i]);
                i += 1;
            }
            let partition = skip_space(i);
            let by = skip_space(partition + 9);
            if keyword_at(partition, "PARTITION") && keyword_at(by, "BY") {
                out.push_str(",PARTITION_BY(");
                i = by + 2;
                // The columns, to the next `,` or `)` outside parentheses.
                let mut depth = 0;
                while let Some(&c) = chars.get(i) {
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => break,
                        ')' => depth -= 1,
                        ',' if depth == 0 => break,
                        _ => {}
                    }
                    out.push(c);
                    i += 1;
                }
                out.push(')');
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// sqlparser's message as ours: `SQL syntax: expected .., found .. (at 4:14 of the
/// query)`.
fn syntax_error(message: &str) -> String {
    let message = message
        .strip_prefix("sql parser error: ")
        .unwrap_or(message);
    let (what, place) = match message.rsplit_once(" at Line: ") {
        Some((what, place)) => match place.split_once(", Column: ") {
            Some((line, column)) => (what, format!(" (at {line}:{column} of the query)")),
            None => (message, String::new()),
        },
        None => (message, String::new()),
    };
    let what = what
        .replace("Expected: ", "expected ")
        .replace(", found: ", ", found ")
        .replace("found EOF", "found the end of the query");
    format!("SQL syntax: {what}{place}")
}

/// Names as a message lists them: `a`, `b` and `c`.
fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// What has a place in the query's text.
trait Located {
    fn location(&self) -> sqlparser::tokenizer::Span;
}

impl<T: Spanned> Located for &T {
    fn location(&self) -> sqlparser::tokenizer::Span {
        self.span()
    }
}

impl Located for sqlparser::tokenizer::Span {
    fn location(&self) -> sqlparser::tokenizer::Span {
        *self
    }
}

/// The table a query reads: its name and alias, what qualified columns may name.
struct Scope {
    table: String,
    alias: Option<String>,
}

/// A name of the query as a Rust identifier at `span` (raw for keywords), if it is one.
fn rust_ident(name: &str, span: Span) -> Option<Ident> {
    match syn::parse_str::<Ident>(name) {
        Ok(mut ident) => {
            ident.set_span(span);
            Some(ident)
        }
        Err(_) if syn::parse_str::<Ident>(&format!("r#{name}")).is_ok() => {
            Some(Ident::new_raw(name, span))
        }
        Err(_) => None,
    }
}

/// What an expression lowered to: its code, and what it is, which decides how it is
/// used where its type matters.
struct Code {
    tokens: TokenStream,
    form: Form,
}

#[derive(Clone)]
enum Form {
    /// A column: a reference to the field `path` of the record (or of a window's
    /// result: its key, its aggregates), known as `id`.
    /// `name` is the column's name in the result, where it is projected alone (an
    /// aggregate has none).
    Column {
        id: String,
        path: TokenStream,
        name: Option<String>,
    },
    /// An integer or float literal: its unsuffixed Rust literal, which takes its type
    /// from where it is used.
    Number(TokenStream),
    /// A string literal.
    Text(String),
    /// `TRUE`, `FALSE`.
    Bool,
    /// `NULL`.
    Null,
    /// Anything computed: an owned value.
    Computed,
}

/// Lowers expressions of one query over one record.
struct Lower<'a> {
    at: &'a Query,
    scope: &'a Scope,
    record: &'a Ident,
    errors: &'a mut Errors,
    rt: TokenStream,
    /// The columns read, by name.
    columns: BTreeSet<String>,
    /// Over a window's results rather than records: its keys and the aggregates read.
    grouped: Option<Grouped>,
}

/// What expressions over a window's results see: the grouping keys (the result's
/// `key`), and the aggregate functions, in the order first read (its `value`).
struct Grouped {
    keys: Vec<String>,
    aggregates: Vec<(String, sqlparser::ast::Function)>,
    /// Whether the groups are windows (with `window_start`, `window_end`, `window_time`).
    windowed: bool,
}

impl<'a> Lower<'a> {
    fn new(at: &'a Query, scope: &'a Scope, record: &'a Ident, errors: &'a mut Errors) -> Self {
        Lower {
            at,
            scope,
            record,
            errors,
            rt: rt(),
            columns: BTreeSet::new(),
            grouped: None,
        }
    }

    fn fail<T>(&mut self, at: impl Located, message: &str) -> Result<T, Reported> {
        Err(self.at.error(self.errors, at, message))
    }

    fn computed(tokens: TokenStream) -> Code {
        Code {
            tokens,
            form: Form::Computed,
        }
    }

    /// The column an identifier names, checked against the table's name and alias.
    fn column(&mut self, parts: &[SqlIdent], whole: &Sql) -> Result<Code, Reported> {
        let column = match parts {
            [column] => column,
            [table, column] => {
                let known = table.value == self.scope.table
                    || self.scope.alias.as_deref() == Some(table.value.as_str());
                if !known {
                    let names = match &self.scope.alias {
                        Some(alias) => format!("`{alias}` (or `{}`)", self.scope.table),
                        None => format!("`{}`", self.scope.table),
                    };
                    return self.fail(
                        table.span,
                        &format!(
                            "unknown table `{}` in `{}`: the query reads {names}",
                            table.value, whole
                        ),
                    );
                }
                column
            }
            _ => return self.fail(whole, "a column is `name` or `table.name`"),
        };
        let Some(field) = rust_ident(&column.value, self.at.span) else {
            return self.fail(
                column.span,
                &format!("column `{}` is not a Rust field name", column.value),
            );
        };
        let record = self.record;
        let Some(grouped) = &self.grouped else {
            self.columns.insert(column.value.clone());
            return Ok(Code {
                tokens: quote_spanned!(self.at.span=> &#record.#field),
                form: Form::Column {
                    id: column.value.clone(),
                    path: quote!(#field),
                    name: Some(column.value.clone()),
                },
            });
        };
        // Over a window's results: its bounds and key, nothing else of the records.
        let windowed = grouped.windowed;
        let path = match column.value.as_str() {
            "window_start" | "window_end" | "window_time" if !windowed => {
                return self.fail(
                    column.span,
                    &format!("`{}` is a column of window TVFs: `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))`", column.value),
                )
            }
            "window_start" => quote!(start),
            "window_end" => quote!(end),
            "window_time" => {
                return Ok(Self::computed(
                    quote!(#record.end.wrapping_sub(1)),
                ))
            }
            name => match grouped.keys.iter().position(|k| k == name) {
                Some(i) => {
                    let i = syn::Index::from(i);
                    quote!(key.#i)
                }
                None => {
                    return self.fail(
                        column.span,
                        &format!("column `{}` is neither grouped nor aggregated: add it to `GROUP BY`, or aggregate it (`MAX({})`)", column.value, column.value),
                    )
                }
            },
        };
        Ok(self.grouped_column(path, Some(column.value.clone())))
    }

    /// A field of a window's result, named `name` when projected alone.
    fn grouped_column(&mut self, path: TokenStream, name: Option<String>) -> Code {
        let record = self.record;
        let id = path.to_string();
        self.columns.insert(id.clone());
        Code {
            tokens: quote!(&#record.#path),
            form: Form::Column { id, path, name },
        }
    }

    /// The expression's value where its own type decides: literals typed as in Flink (an
    /// integer literal adapting to the other operand).
    fn free(&self, code: Code) -> TokenStream {
        let rt = &self.rt;
        match code.form {
            Form::Number(n) if n.to_string().contains(['.', 'e', 'E']) => float_suffixed(&n),
            Form::Number(n) => quote!(#rt::Int(#n)),
            Form::Null => quote!(#rt::Null),
            _ => code.tokens,
        }
    }

    /// The value as an owned Rust value of its final type: a projected expression, a
    /// `CASE` branch. `all_literals` says whether nothing else gives a string literal its
    /// type.
    fn owned(&self, code: Code, all_literals: bool) -> TokenStream {
        let rt = &self.rt;
        match code.form {
            Form::Column { .. } => {
                let tokens = code.tokens;
                quote!(#rt::own(#tokens))
            }
            Form::Number(n) => n,
            Form::Text(s) if all_literals => quote!(::std::string::String::from(#s)),
            Form::Text(s) => quote!(::core::convert::Into::into(#s)),
            Form::Bool | Form::Computed | Form::Null => code.tokens,
        }
    }

    fn expr(&mut self, e: &Sql) -> Result<Code, Reported> {
        let rt = self.rt.clone();
        Ok(match e {
            Sql::Identifier(ident) => self.column(std::slice::from_ref(ident), e)?,
            Sql::CompoundIdentifier(parts) => self.column(parts, e)?,
            Sql::Nested(inner) => self.expr(inner)?,
            Sql::Value(v) => match &v.value {
                SqlValue::Number(n, _) => match number(n) {
                    Some(n) => Code {
                        tokens: n.clone(),
                        form: Form::Number(n),
                    },
                    None => return self.fail(e, &format!("`{n}` is not a number Tidemill reads")),
                },
                SqlValue::SingleQuotedString(s) => Code {
                    tokens: quote!(#s),
                    form: Form::Text(s.clone()),
                },
                SqlValue::Boolean(b) => Code {
                    tokens: quote!(#b),
                    form: Form::Bool,
                },
                SqlValue::Null => Code {
                    tokens: quote!(#rt::Null),
                    form: Form::Null,
                },
                _ => {
                    return self.fail(
                        e,
                        &format!("the literal `{v}` is not supported in `sql!` yet"),
                    )
                }
            },
            Sql::UnaryOp { op, expr } => {
                let inner = self.expr(expr)?;
                match op {
                    UnaryOperator::Plus => inner,
                    UnaryOperator::Minus => match inner.form {
                        Form::Number(n) => {
                            let negated = quote!(-#n);
                            Code {
                                tokens: negated.clone(),
                                form: Form::Number(negated),
                            }
                        }
                        _ => {
                            let inner = self.free(inner);
                            Self::computed(quote!(#rt::neg(#inner)))
                        }
                    },
                    UnaryOperator::Not => {
                        let inner = self.free(inner);
                        Self::computed(quote!(#rt::not(#inner)))
                    }
                    _ => {
                        return self.fail(
                            e,
                            &format!("the operator `{op}` is not supported in `sql!` yet"),
                        )
                    }
                }
            }
            Sql::BinaryOp { left, op, right } => {
                let function = match op {
                    BinaryOperator::Plus => "add",
                    BinaryOperator::Minus => "sub",
                    BinaryOperator::Multiply => "mul",
                    BinaryOperator::Divide => "div",
                    BinaryOperator::Modulo => "rem",
                    BinaryOperator::Eq => "eq",
                    BinaryOperator::NotEq => "ne",
                    BinaryOperator::Lt => "lt",
                    BinaryOperator::LtEq => "le",
                    BinaryOperator::Gt => "gt",
                    BinaryOperator::GtEq => "ge",
                    BinaryOperator::StringConcat => "concat",
                    BinaryOperator::And => "and",
                    BinaryOperator::Or => "or",
                    _ => {
                        return self.fail(
                            e,
                            &format!("the operator `{op}` is not supported in `sql!` yet"),
                        )
                    }
                };
                let function = format_ident!("{function}");
                let left = self.expr(left)?;
                let right = self.expr(right)?;
                let (left, right) = (self.free(left), self.free(right));
                if matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                    Self::computed(quote!(#rt::#function(#left, || #right)))
                } else {
                    Self::computed(quote!(#rt::#function(#left, #right)))
                }
            }
            Sql::IsNull(inner) | Sql::IsNotNull(inner) => {
                let inner = self.expr(inner)?;
                let inner = self.free(inner);
                let test = quote!(#rt::is_null(#inner));
                Self::computed(if matches!(e, Sql::IsNull(_)) {
                    test
                } else {
                    quote!(!#test)
                })
            }
            Sql::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let value = self.expr(expr)?;
                let value = self.free(value);
                let low = self.expr(low)?;
                let low = self.free(low);
                let high = self.expr(high)?;
                let high = self.free(high);
                let between = quote!(#rt::and(#rt::ge(#value, #low), || #rt::le(#value, #high)));
                Self::computed(if *negated {
                    quote!(#rt::not(#between))
                } else {
                    between
                })
            }
            Sql::In {
                expr,
                target: InTarget::List(list),
                negated,
                global: false,
            } => {
                let value = self.expr(expr)?;
                let value = self.free(value);
                let mut tests = Vec::new();
                for item in list {
                    let item = self.expr(item)?;
                    let item = self.free(item);
                    tests.push(quote!(#rt::eq(#value, #item)));
                }
                let Some(last) = tests.pop() else {
                    return self.fail(e, "`IN ()` needs at least one value");
                };
                let any = tests
                    .into_iter()
                    .rev()
                    .fold(last, |rest, test| quote!(#rt::or(#test, || #rest)));
                Self::computed(if *negated {
                    quote!(#rt::not(#any))
                } else {
                    any
                })
            }
            Sql::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            } => {
                let value = self.expr(expr)?;
                let value = self.free(value);
                let pattern = self.expr(pattern)?;
                let pattern = self.free(pattern);
                let like = quote!(#rt::like(#value, #pattern));
                Self::computed(if *negated {
                    quote!(#rt::not(#like))
                } else {
                    like
                })
            }
            Sql::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref())?,
            Sql::Cast {
                kind: CastKind::Cast | CastKind::TryCast | CastKind::DoubleColon,
                expr,
                data_type,
                format: None,
                ..
            } => {
                let Some(ty) = rust_type(data_type) else {
                    return self.fail(e, &format!("CAST to `{data_type}` is not supported: the types are BIGINT, INT, SMALLINT, TINYINT, DOUBLE, FLOAT, DECIMAL (as DOUBLE), BOOLEAN and STRING"));
                };
                let value = self.expr(expr)?;
                let value = self.free(value);
                Self::computed(quote!(#rt::cast::<#ty, _>(#value)))
            }
            Sql::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let Some(from) = substring_from else {
                    return self.fail(e, "`SUBSTRING` needs a start: `SUBSTRING(s FROM 1 FOR 3)`");
                };
                let value = self.expr(expr)?;
                let value = self.free(value);
                let from = self.expr(from)?;
                let from = self.free(from);
                let length = match substring_for {
                    Some(length) => {
                        let length = self.expr(length)?;
                        let length = self.free(length);
                        quote!(::core::option::Option::Some(#length))
                    }
                    None => quote!(::core::option::Option::None::<i32>),
                };
                Self::computed(quote!(#rt::substring(#value, #from, #length)))
            }
            Sql::Function(function) => self.function(function, e)?,
            Sql::Extract { field, expr, .. } => {
                use sqlparser::ast::DateTimeField as D;
                let field = match field {
                    D::Year | D::Years => quote!(Year),
                    D::Quarter => quote!(Quarter),
                    D::Month | D::Months => quote!(Month),
                    D::Week(None) | D::Weeks | D::IsoWeek => quote!(Week),
                    D::Day | D::Days => quote!(Day),
                    D::Hour | D::Hours => quote!(Hour),
                    D::Minute | D::Minutes => quote!(Minute),
                    D::Second | D::Seconds => quote!(Second),
                    D::Millisecond | D::Milliseconds => quote!(Millisecond),
                    D::Dow | D::DayOfWeek => quote!(DayOfWeek),
                    D::Doy | D::DayOfYear => quote!(DayOfYear),
                    D::Epoch => quote!(Epoch),
                    other => return self.fail(e, &format!("`EXTRACT({other} ..)` is not supported: the fields are YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND, DOW, DOY and EPOCH")),
                };
                let value = self.expr(expr)?;
                let value = self.free(value);
                Self::computed(quote!(#rt::time::extract(#rt::time::TimeField::#field, #value)))
            }
            _ => return self.fail(e, &format!("`{e}` is not supported in `sql!` yet")),
        })
    }

    fn case(
        &mut self,
        operand: Option<&Sql>,
        conditions: &[sqlparser::ast::CaseWhen],
        otherwise: Option<&Sql>,
    ) -> Result<Code, Reported> {
        let rt = self.rt.clone();
        let operand = match operand {
            Some(o) => {
                let o = self.expr(o)?;
                Some(self.free(o))
            }
            None => None,
        };
        let mut tests = Vec::new();
        let mut results = Vec::new();
        for when in conditions {
            let test = self.expr(&when.condition)?;
            let test = self.free(test);
            tests.push(match &operand {
                Some(o) => quote!(#rt::eq(#o, #test)),
                None => test,
            });
            results.push(self.expr(&when.result)?);
        }
        let otherwise = match otherwise {
            Some(o) if !matches!(o, Sql::Value(v) if v.value == SqlValue::Null) => {
                Some(self.expr(o)?)
            }
            _ => None,
        };
        let all_literals = results
            .iter()
            .chain(&otherwise)
            .all(|c| matches!(c.form, Form::Text(_)));
        let has_else = otherwise.is_some();
        let branch = |lower: &Self, code: Code| match (has_else, code.form.clone()) {
            (true, _) => lower.owned(code, all_literals),
            (false, Form::Number(n)) => quote!(::core::option::Option::Some(#n)),
            (false, _) => {
                let owned = lower.owned(code, all_literals);
                quote!(#rt::nullable(#owned))
            }
        };
        let mut chain = match otherwise {
            Some(o) => {
                let o = branch(self, o);
                quote!({ #o })
            }
            None => quote!({ ::core::option::Option::None }),
        };
        for (test, result) in tests.into_iter().zip(results).rev() {
            let result = branch(self, result);
            chain = quote!(if #rt::is_true(#test) { #result } else #chain);
        }
        Ok(Self::computed(chain))
    }

    fn function(&mut self, f: &sqlparser::ast::Function, e: &Sql) -> Result<Code, Reported> {
        let rt = self.rt.clone();
        let name = f.name.to_string().to_uppercase();
        let args = match &f.args {
            FunctionArguments::List(list)
                if (list.duplicate_treatment.is_none() || name == "COUNT")
                    && list.clauses.is_empty() =>
            {
                let mut args = Vec::new();
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) => args.push(a),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if name == "COUNT" => {}
                        _ => {
                            return self.fail(
                                e,
                                &format!("the argument `{arg}` of `{name}` is not supported"),
                            )
                        }
                    }
                }
                args
            }
            FunctionArguments::None => Vec::new(),
            _ => return self.fail(e, &format!("`{e}` is not supported in `sql!` yet")),
        };
        if f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() {
            return self.fail(e, &format!("`{e}` is not supported in `sql!` yet"));
        }
        let arity = |lower: &mut Self, n: usize| -> Result<(), Reported> {
            if args.len() == n {
                Ok(())
            } else {
                lower.fail(
                    e,
                    &format!(
                        "`{name}` takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                )
            }
        };
        Ok(match name.as_str() {
            "UPPER" | "LOWER" | "CHAR_LENGTH" | "CHARACTER_LENGTH" => {
                arity(self, 1)?;
                let function = match name.as_str() {
                    "UPPER" => quote!(upper),
                    "LOWER" => quote!(lower),
                    _ => quote!(char_length),
                };
                let a = self.expr(args[0])?;
                let a = self.free(a);
                Self::computed(quote!(#rt::#function(#a)))
            }
            "DATE_FORMAT" => {
                arity(self, 2)?;
                let a = self.expr(args[0])?;
                let a = self.free(a);
                let pattern = self.expr(args[1])?;
                let pattern = self.free(pattern);
                Self::computed(quote!(#rt::time::date_format(#a, #pattern)))
            }
            "MOD" => {
                arity(self, 2)?;
                let a = self.expr(args[0])?;
                let a = self.free(a);
                let b = self.expr(args[1])?;
                let b = self.free(b);
                Self::computed(quote!(#rt::rem(#a, #b)))
            }
            "SUBSTR" | "SUBSTRING" if args.len() == 2 || args.len() == 3 => {
                let a = self.expr(args[0])?;
                let a = self.free(a);
                let from = self.expr(args[1])?;
                let from = self.free(from);
                let length = match args.get(2) {
                    Some(l) => {
                        let l = self.expr(l)?;
                        let l = self.free(l);
                        quote!(::core::option::Option::Some(#l))
                    }
                    None => quote!(::core::option::Option::None::<i32>),
                };
                Self::computed(quote!(#rt::substring(#a, #from, #length)))
            }
            "CONCAT" if !args.is_empty() => {
                let mut parts = Vec::new();
                for a in &args {
                    let a = self.expr(a)?;
                    parts.push(self.free(a));
                }
                let first = parts.remove(0);
                if parts.is_empty() {
                    Self::computed(quote!(#rt::own(#first)))
                } else {
                    let joined = parts
                        .into_iter()
                        .fold(first, |acc, p| quote!(#rt::concat(#acc, #p)));
                    Self::computed(joined)
                }
            }
            "COALESCE" if !args.is_empty() => {
                let mut lowered = Vec::new();
                for a in &args {
                    lowered.push(self.expr(a)?);
                }
                let last = lowered.pop().expect("one argument at least");
                let last_is_literal = matches!(last.form, Form::Number(_) | Form::Text(_) | Form::Bool);
                let mut rest = match last.form {
                    Form::Number(n) => n,
                    Form::Text(s) => quote!(::core::convert::Into::into(#s)),
                    _ => self.owned(last, false),
                };
                for (i, a) in lowered.into_iter().enumerate().rev() {
                    let a = self.free(a);
                    // The innermost pair fixes a literal's type from the column's.
                    rest = if i == args.len() - 2 && last_is_literal {
                        quote!(#rt::coalesce_with(#a, || #rest))
                    } else {
                        quote!(#rt::coalesce(#a, || #rest))
                    };
                }
                Self::computed(rest)
            }
            "COUNT" | "SUM" | "MIN" | "MAX" | "AVG" => {
                let Some(grouped) = &mut self.grouped else {
                    return self.fail(e, &format!("`{name}` is an aggregate function: group the rows by a key, `GROUP BY k` (an updating query), or by windows, `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, ..`"));
                };
                let id = format!("{name}({})", f.args);
                let index = match grouped.aggregates.iter().position(|(a, _)| *a == id) {
                    Some(i) => i,
                    None => {
                        grouped.aggregates.push((id, f.clone()));
                        grouped.aggregates.len() - 1
                    }
                };
                let index = syn::Index::from(index);
                self.grouped_column(quote!(value.#index), None)
            }
            _ => return self.fail(e, &format!("unknown function `{name}`; the functions are UPPER, LOWER, CHAR_LENGTH, SUBSTRING, SUBSTR, CONCAT, COALESCE, MOD and DATE_FORMAT (and EXTRACT)")),
        })
    }
}

/// An integer or float literal as an unsuffixed Rust literal.
fn number(text: &str) -> Option<TokenStream> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Literal::i64_unsuffixed(i).into_token_stream());
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| Literal::f64_unsuffixed(f).into_token_stream())
}

use quote::ToTokens;

/// The Rust type of a SQL type in `CAST`.
fn rust_type(ty: &DataType) -> Option<TokenStream> {
    Some(match ty {
        DataType::BigInt(_) | DataType::Int64 => quote!(i64),
        DataType::Int(_) | DataType::Integer(_) | DataType::Int32 => quote!(i32),
        DataType::SmallInt(_) | DataType::Int16 => quote!(i16),
        DataType::TinyInt(_) | DataType::Int8(_) => quote!(i8),
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float64 => quote!(f64),
        DataType::Decimal(_) | DataType::Numeric(_) | DataType::Dec(_) => quote!(f64),
        DataType::Float(_) | DataType::Real | DataType::Float32 => quote!(f32),
        DataType::Boolean | DataType::Bool => quote!(bool),
        DataType::String(_)
        | DataType::Varchar(_)
        | DataType::Char(_)
        | DataType::CharVarying(_)
        | DataType::Text => quote!(::std::string::String),
        _ => return None,
    })
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
                    impl<#(#params: #rt::Field),*> #rt::Row for SqlRow<#(#params),*> {
                        fn write(&self, kind: &str, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            #rt::write_row(f, kind, &[#(&self.#field_names as &dyn #rt::Field),*])
                        }
                    }
                    impl<#(#params: #rt::Field),*> ::core::fmt::Display for SqlRow<#(#params),*> {
                        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            #rt::Row::write(self, "+I", f)
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

/// A `CREATE TABLE` of the query: the stream it names and its watermark.
struct TableDecl {
    name: String,
    /// `WATERMARK FOR column AS column - INTERVAL 'n' UNIT`: the column and `n` in ms.
    watermark: Option<(String, u64)>,
    /// Where the declaration is, for messages.
    at: sqlparser::tokenizer::Span,
}

/// The line and column of the char at `offset` of `text`, as sqlparser counts them.
fn location(text: &str, offset: usize) -> sqlparser::tokenizer::Span {
    let (mut line, mut column) = (1u64, 1u64);
    for c in text.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    let at = sqlparser::tokenizer::Location::new(line, column);
    sqlparser::tokenizer::Span::new(at, at)
}

/// The `CREATE TABLE name (.., WATERMARK FOR ts AS ts - INTERVAL '5' SECOND);`
/// statements at the start of `text`, which sqlparser does not read (Flink's
/// `WATERMARK`), and the text with them blanked out (same width: positions stay).
fn create_tables(
    text: &str,
    at: &Query,
    errors: &mut Errors,
) -> Result<(String, Vec<TableDecl>), Reported> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut tables = Vec::new();
    let word_at = |i: usize, word: &str| {
        let n = word.len();
        i + n <= chars.len()
            && chars[i..i + n]
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .eq(word.chars())
            && chars
                .get(i + n)
                .is_none_or(|c| !(c.is_alphanumeric() || *c == '_'))
    };
    let skip = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let ident = |i: usize| -> (String, usize) {
        let mut j = i;
        if chars.get(j) == Some(&'`') {
            j += 1;
            let start = j;
            while j < chars.len() && chars[j] != '`' {
                j += 1;
            }
            return (chars[start..j].iter().collect(), (j + 1).min(chars.len()));
        }
        while chars
            .get(j)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            j += 1;
        }
        (chars[i..j].iter().collect(), j)
    };
    let mut i = skip(0);
    while word_at(i, "CREATE") {
        let start = i;
        let fail = |errors: &mut Errors, offset: usize, message: &str| {
            Err(at.error(errors, location(text, offset), message))
        };
        let table_kw = skip(i + 6);
        if !word_at(table_kw, "TABLE") {
            return fail(errors, table_kw, "`CREATE` in `sql!` is `CREATE TABLE stream (WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)`");
        }
        let name_at = skip(table_kw + 5);
        let (name, after_name) = ident(name_at);
        if name.is_empty() {
            return fail(
                errors,
                name_at,
                "`CREATE TABLE` names a stream of this pipeline",
            );
        }
        let open = skip(after_name);
        if chars.get(open) != Some(&'(') {
            return fail(
                errors,
                open,
                "`CREATE TABLE name (..)` takes its columns and watermark in parentheses",
            );
        }
        // The items, to the matching parenthesis (quotes respected).
        let (mut depth, mut j, mut quote) = (0usize, open, None::<char>);
        let mut items = vec![open + 1];
        while j < chars.len() {
            let c = chars[j];
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '`' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                (None, ',') if depth == 1 => items.push(j + 1),
                _ => {}
            }
            j += 1;
        }
        if j >= chars.len() {
            return fail(errors, open, "`CREATE TABLE` lacks its closing parenthesis");
        }
        let close = j;
        let mut watermark = None;
        for (k, &item) in items.iter().enumerate() {
            let end = items.get(k + 1).map_or(close, |next| next - 1);
            let p = skip(item);
            if !word_at(p, "WATERMARK") {
                continue; // a column: the stream's struct has its name and type
            }
            let item_text: String = chars[p..end].iter().collect();
            let words: Vec<&str> = item_text.split_whitespace().collect();
            let shape =
                "the watermark is `WATERMARK FOR ts AS ts - INTERVAL 'n' SECOND` (or `AS ts`)";
            let parsed = match words.as_slice() {
                [w, f, col, a, same]
                    if w.eq_ignore_ascii_case("WATERMARK")
                        && f.eq_ignore_ascii_case("FOR")
                        && a.eq_ignore_ascii_case("AS")
                        && same == col =>
                {
                    Some((col.to_string(), 0))
                }
                [w, f, col, a, same, "-", interval, amount, unit]
                    if w.eq_ignore_ascii_case("WATERMARK")
                        && f.eq_ignore_ascii_case("FOR")
                        && a.eq_ignore_ascii_case("AS")
                        && same == col
                        && interval.eq_ignore_ascii_case("INTERVAL") =>
                {
                    let n = amount.trim_matches('\'').parse::<u64>().ok();
                    let unit = match unit.to_ascii_uppercase().trim_end_matches('S') {
                        "MILLISECOND" => Some(1),
                        "SECOND" => Some(1_000),
                        "MINUTE" => Some(60_000),
                        "HOUR" => Some(3_600_000),
                        "DAY" => Some(86_400_000),
                        _ => None,
                    };
                    n.zip(unit).map(|(n, unit)| (col.to_string(), n * unit))
                }
                _ => None,
            };
            match parsed {
                Some(w) => watermark = Some(w),
                None => return fail(errors, p, shape),
            }
        }
        let mut end = skip(close + 1);
        if word_at(end, "WITH") {
            return fail(errors, end, "a table's connector is the pipeline's source: `CREATE TABLE` in `sql!` declares only a watermark, without `WITH (..)`");
        }
        if chars.get(end) == Some(&';') {
            end += 1;
        }
        for c in &mut out[start..end] {
            if !c.is_whitespace() {
                *c = ' ';
            }
        }
        tables.push(TableDecl {
            name,
            watermark,
            at: location(text, name_at),
        });
        i = skip(end);
    }
    Ok((out.into_iter().collect(), tables))
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
            ("SELECT a, SUM(a) FROM orders", "`SUM` is an aggregate function: group the rows by a key, `GROUP BY k` (an updating query), or by windows, `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, ..` (at 1:11 of the query)"),
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
