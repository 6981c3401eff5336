//! Window TVFs and grouping: the window functions of `FROM`, the event time they need,
//! the keys of a `GROUP BY`, and the aggregates' arguments and folds.

use super::*;

/// A window table-valued function of `FROM`: the table it windows, and the DSL window
/// it becomes.
pub(super) struct WindowTvf {
    pub(super) table: SqlIdent,
    /// The window as the DSL writes it: `tumbling(10000ms)`.
    pub(super) window: String,
    /// `SESSION`'s `PARTITION BY` columns.
    pub(super) partition: Vec<SqlIdent>,
    /// The time column `DESCRIPTOR` names.
    pub(super) descriptor: SqlIdent,
}

/// `TUMBLE(TABLE t, DESCRIPTOR(ts), size)`, `HOP(TABLE t, DESCRIPTOR(ts), slide, size)`,
/// `SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)` (with `TABLE t` already read
/// as `t`, see [`prepare`]).
pub(super) fn window_tvf(
    at: &Query,
    expr: &Sql,
    errors: &mut Errors,
) -> Result<WindowTvf, Reported> {
    let unsupported = |errors: &mut Errors, what: sqlparser::tokenizer::Span, message: &str| {
        Err(at.error(errors, what, message))
    };
    let Sql::Function(function) = expr else {
        return unsupported(
            errors,
            expr.span(),
            "`TABLE(..)` in `FROM` takes a window function: `TUMBLE`, `HOP`, `CUMULATE` or `SESSION`",
        );
    };
    let kind = function.name.to_string().to_uppercase();
    let args: Vec<&Sql> = match &function.args {
        FunctionArguments::List(list) => {
            let named = list.args.iter().any(|a| matches!(a, FunctionArg::Named { .. }));
            if named {
                named_args(at, &kind, &list.args, expr, errors)?
            } else {
                let mut args = Vec::new();
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                        other => return unsupported(errors, other.span(), &format!("`{kind}` takes the table, `DESCRIPTOR(ts)` and intervals")),
                    }
                }
                args
            }
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
    // A last interval after the window's own is its offset (Flink's).
    let own = tvf_parameters(&kind).len().saturating_sub(2);
    let mut moved = String::new();
    if kind != "SESSION" && intervals.len() == own + 1 {
        let offset = intervals.pop().expect("an offset");
        moved = format!(", offset = {offset}ms");
    }
    let window = match (kind.as_str(), intervals.as_slice()) {
        ("TUMBLE", [size]) => format!("tumbling({size}ms{moved})"),
        ("HOP", [slide, size]) => format!("sliding({size}ms, {slide}ms{moved})"),
        ("SESSION", [gap]) => format!("session({gap}ms)"),
        ("CUMULATE", [step, size]) => {
            if !size.is_multiple_of(*step) {
                return unsupported(errors, rest[2].span(), &format!("`CUMULATE`'s max size ({size} ms) must be a multiple of its step ({step} ms)"));
            }
            format!("cumulate({step}ms, {size}ms{moved})")
        }
        ("TUMBLE" | "HOP" | "SESSION" | "CUMULATE", _) => {
            let shape = match kind.as_str() {
                "TUMBLE" => "TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])",
                "HOP" => "HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])",
                "CUMULATE" => "CUMULATE(TABLE t, DESCRIPTOR(ts), step, size [, offset])",
                _ => "SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)",
            };
            return unsupported(errors, expr.span(), &format!("`{kind}` takes `{shape}`"));
        }
        _ => return unsupported(errors, expr.span(), &format!("unknown window function `{kind}`: the window TVFs are `TUMBLE`, `HOP`, `CUMULATE` and `SESSION`")),
    };
    Ok(WindowTvf {
        table,
        window,
        partition,
        descriptor,
    })
}

/// The parameters of window TVF `kind` in order, by Flink's names (an `OFFSET` may
/// follow all but `SESSION`'s).
fn tvf_parameters(kind: &str) -> &'static [&'static str] {
    match kind {
        "TUMBLE" => &["DATA", "TIMECOL", "SIZE"],
        "HOP" => &["DATA", "TIMECOL", "SLIDE", "SIZE"],
        "CUMULATE" => &["DATA", "TIMECOL", "STEP", "SIZE"],
        "SESSION" => &["DATA", "TIMECOL", "GAP"],
        _ => &[],
    }
}

/// The arguments of a window TVF called with Flink's names (`TUMBLE(DATA => TABLE t,
/// TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '10' SECOND)`), in the order of its
/// positional form: `DATA`, `TIMECOL`, then `SIZE` (`TUMBLE`), `SLIDE` and `SIZE`
/// (`HOP`), `STEP` and `SIZE` (`CUMULATE`) or `GAP` (`SESSION`, whose `PARTITION BY`
/// follows `DATA`), and an `OFFSET` last.
fn named_args<'a>(
    at: &Query,
    kind: &str,
    list: &'a [FunctionArg],
    call: &Sql,
    errors: &mut Errors,
) -> Result<Vec<&'a Sql>, Reported> {
    let order = tvf_parameters(kind);
    let mut given: BTreeMap<String, &'a Sql> = BTreeMap::new();
    let mut partition = None;
    for arg in list {
        match arg {
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(e),
                ..
            } => {
                let key = name.value.to_uppercase();
                let optional = key == "OFFSET" && kind != "SESSION";
                if !order.contains(&key.as_str()) && !optional {
                    return Err(at.error(
                        errors,
                        name.span,
                        &format!(
                            "`{kind}` has no argument `{}`: its arguments are {}",
                            name.value,
                            order.join(", ")
                        ),
                    ));
                }
                if given.insert(key, e).is_some() {
                    return Err(at.error(
                        errors,
                        name.span,
                        &format!("`{}` is given twice", name.value),
                    ));
                }
            }
            // `TABLE t PARTITION BY k`, read as a `PARTITION_BY(k)` argument after `t`.
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e @ Sql::Function(f)))
                if f.name.to_string() == "PARTITION_BY" && partition.is_none() =>
            {
                partition = Some(e)
            }
            other => {
                return Err(at.error(errors, other.span(), &format!("`{kind}`'s arguments are all named or all in order: name this one too ({})", order.join(", "))));
            }
        }
    }
    let mut args = Vec::new();
    for (i, name) in order.iter().enumerate() {
        let Some(arg) = given.get(*name) else {
            return Err(at.error(
                errors,
                call.span(),
                &format!("`{kind}` needs its `{name}` argument"),
            ));
        };
        args.push(*arg);
        if i == 0 {
            args.extend(partition);
        }
        if i == order.len() - 1 {
            args.extend(given.get("OFFSET").copied());
        }
    }
    Ok(args)
}

/// Checks that a windowed table carries time, and that `DESCRIPTOR` names the column
/// its timestamps come from where the assigner says so plainly (`|r| r.ts`): windows
/// are over the stream's own event time.
pub(super) fn event_time(
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
pub(super) fn plain_field(closure: &Expr) -> Option<String> {
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
pub(super) fn interval_ms(at: &Query, expr: &Sql, errors: &mut Errors) -> Result<u64, Reported> {
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
pub(super) fn group_keys(
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

/// A query's aggregate functions: the tuple of their arguments, computed from a record,
/// and the tuple of their folds (`COUNT(*)`'s argument is `()`).
pub(super) fn aggregator(
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
