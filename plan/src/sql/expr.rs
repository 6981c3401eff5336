//! Expressions: columns, literals, operators and functions, lowered to calls of the
//! runtime's generic SQL functions over the records' own field types.

use quote::ToTokens;

use super::*;

/// An unsuffixed float literal (maybe negated) as an `f64` one.
pub(super) fn float_suffixed(n: &TokenStream) -> TokenStream {
    let text = n.to_string().replace(' ', "");
    let (minus, digits) = match text.strip_prefix('-') {
        Some(digits) => (quote!(-), digits.to_string()),
        None => (quote!(), text),
    };
    let value: f64 = digits.parse().expect("a float literal of the query");
    let literal = Literal::f64_suffixed(value);
    quote!(#minus #literal)
}

/// The table a query reads: its name and alias, what qualified columns may name.
pub(super) struct Scope {
    pub(super) table: String,
    pub(super) alias: Option<String>,
}

/// Whether `name` (upper case) is an aggregate function of `sql!`.
pub(super) fn is_aggregate(name: &str) -> bool {
    matches!(name, "COUNT" | "SUM" | "MIN" | "MAX" | "AVG")
}

/// A name of the query as a Rust identifier at `span` (raw for keywords), if it is one.
pub(super) fn rust_ident(name: &str, span: Span) -> Option<Ident> {
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
pub(super) struct Code {
    pub(super) tokens: TokenStream,
    pub(super) form: Form,
}

#[derive(Clone)]
pub(super) enum Form {
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
pub(super) struct Lower<'a> {
    pub(super) at: &'a Query,
    pub(super) scope: &'a Scope,
    pub(super) record: &'a Ident,
    pub(super) errors: &'a mut Errors,
    pub(super) rt: TokenStream,
    /// The columns read, by name.
    pub(super) columns: BTreeSet<String>,
    /// Over a window's results rather than records: its keys and the aggregates read.
    pub(super) grouped: Option<Grouped>,
}

/// What expressions over a window's results see: the grouping keys (the result's
/// `key`), and the aggregate functions, in the order first read (its `value`).
pub(super) struct Grouped {
    pub(super) keys: Vec<String>,
    pub(super) aggregates: Vec<(String, sqlparser::ast::Function)>,
    /// Whether the groups are windows (with `window_start`, `window_end`, `window_time`).
    pub(super) windowed: bool,
}

impl<'a> Lower<'a> {
    pub(super) fn new(
        at: &'a Query,
        scope: &'a Scope,
        record: &'a Ident,
        errors: &'a mut Errors,
    ) -> Self {
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

    pub(super) fn fail<T>(&mut self, at: impl Located, message: &str) -> Result<T, Reported> {
        Err(self.at.error(self.errors, at, message))
    }

    pub(super) fn computed(tokens: TokenStream) -> Code {
        Code {
            tokens,
            form: Form::Computed,
        }
    }

    /// The column an identifier names, checked against the table's name and alias.
    pub(super) fn column(&mut self, parts: &[SqlIdent], whole: &Sql) -> Result<Code, Reported> {
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
    pub(super) fn grouped_column(&mut self, path: TokenStream, name: Option<String>) -> Code {
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
    pub(super) fn free(&self, code: Code) -> TokenStream {
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
    pub(super) fn owned(&self, code: Code, all_literals: bool) -> TokenStream {
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

    pub(super) fn expr(&mut self, e: &Sql) -> Result<Code, Reported> {
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

    pub(super) fn case(
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

    pub(super) fn function(
        &mut self,
        f: &sqlparser::ast::Function,
        e: &Sql,
    ) -> Result<Code, Reported> {
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
            name if is_aggregate(name) => {
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
pub(super) fn number(text: &str) -> Option<TokenStream> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Literal::i64_unsuffixed(i).into_token_stream());
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| Literal::f64_unsuffixed(f).into_token_stream())
}

/// The Rust type of a SQL type in `CAST`.
pub(super) fn rust_type(ty: &DataType) -> Option<TokenStream> {
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
