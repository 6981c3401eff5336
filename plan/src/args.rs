//! Operator arguments, parsed once into typed values when the graph is built.
//!
//! An operator's spec declares the [`Arg`] form of each argument; [`Value::parse`] turns
//! the user's expression into a [`Value`] of that form, or says why it cannot. The
//! checker reports the reasons, and the code writers read typed values, never raw
//! expressions they would have to parse again.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit};

/// The form an argument must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Any expression.
    Expr,
    /// A closure (or the name of a function).
    Closure,
    /// A closure, or a tuple field index such as `0`.
    Selector,
    /// The name of a stream defined earlier, or a chain written in place.
    Stream,
    /// A window: `tumbling(10s)`, `sliding(10s, 2s)` or `session(30s)`.
    Window,
    /// A duration literal: `500ms`, `10s`, `1min`, `2h`.
    Duration,
    /// A duration that may be negative: `-5s`.
    SignedDuration,
    /// A number of records: any expression, and positive where it is a literal.
    Count,
}

impl Arg {
    /// How the argument is described in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Arg::Expr => "an expression",
            Arg::Closure => "a closure",
            Arg::Selector => "a closure or a tuple field index",
            Arg::Stream => "a stream name",
            Arg::Window => "a window, `tumbling(size)`, `sliding(size, slide)`, `cumulate(step, max)` or `session(gap)`,",
            Arg::Duration => "a duration such as `500ms`, `10s`, `1min` or `2h`",
            Arg::SignedDuration => "a duration such as `-5s` or `10s`",
            Arg::Count => "a number of records",
        }
    }
}

/// A window as the pipeline declares it, in milliseconds. Adding a window kind to the DSL
/// is a variant here, its parsing in [`window`], and its arms in [`Window::ticks`] and
/// [`Window::code`]; the runtime side is the kind's own file (see `docs/extending.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Windows of `size`; each of these kinds may be moved by an `offset` (Flink's window
    /// offset, `offset = -8h`), 0 without one.
    Tumbling { size: u64, offset: i64 },
    /// Windows of `size`, one starting every `slide` (at most `size`).
    Sliding { size: u64, slide: u64, offset: i64 },
    /// Windows growing by `step` from a start at every multiple of `max` up to `max`
    /// (Flink SQL's `CUMULATE`).
    Cumulate { step: u64, max: u64, offset: i64 },
    /// Sessions of one key closed by a `gap` without records.
    Session { gap: u64 },
}

/// The durations `ticks` of windows moved by `offset`: their ends fall on it too.
fn with_offset(mut ticks: Vec<u64>, offset: i64) -> Vec<u64> {
    if offset != 0 {
        ticks.push(offset.unsigned_abs());
    }
    ticks
}

/// The longest tick that session windows allow, in milliseconds.
///
/// Session ends fall on any millisecond, and a 1 ms tick would send about one message per
/// millisecond of event time. A session window takes part in the tick with its gap,
/// capped here: its sessions fire at the first tick boundary at or after their end, and a
/// record counts as late for a session by its source's watermark rounded down to the
/// tick (within 100 ms of the exact watermark, as Flink's periodic watermarks are within
/// their 200 ms interval).
pub const SESSION_TICK: u64 = 100;

impl Window {
    /// The durations the pipeline's tick must divide: window ends fall on ticks.
    pub fn ticks(&self) -> Vec<u64> {
        match *self {
            Window::Tumbling { size, offset } => with_offset(vec![size], offset),
            Window::Sliding {
                size,
                slide,
                offset,
            } => with_offset(vec![size, slide], offset),
            Window::Cumulate { step, max, offset } => with_offset(vec![step, max], offset),
            Window::Session { gap } => vec![gap.min(SESSION_TICK)],
        }
    }

    /// The runtime's value of these windows (a `WindowKind`), in a pipeline with `tick`.
    pub fn code(&self, rt: &TokenStream, span: Span, tick: u64) -> TokenStream {
        let (assigner, offset) = match *self {
            Window::Tumbling { size, offset } => (
                quote_spanned!(span=> #rt::window::Assigner::sliding(#size, #size)),
                offset,
            ),
            Window::Sliding {
                size,
                slide,
                offset,
            } => (
                quote_spanned!(span=> #rt::window::Assigner::sliding(#size, #slide)),
                offset,
            ),
            Window::Cumulate { step, max, offset } => (
                quote_spanned!(span=> #rt::window::Assigner::cumulate(#step, #max)),
                offset,
            ),
            Window::Session { gap } => {
                return quote_spanned!(span=> #rt::window::session(#gap).ticked(#tick))
            }
        };
        if offset == 0 {
            assigner
        } else {
            quote_spanned!(span=> #assigner.offset(#offset))
        }
    }
}

/// A key or field selector: a closure, or a tuple field index.
#[derive(Clone)]
pub enum Selector {
    Field(syn::Index),
    Closure(Box<Expr>),
}

/// A number of records: the expression, and its value where it is a literal.
#[derive(Clone)]
pub struct Count {
    pub expr: Expr,
    pub literal: Option<u64>,
}

/// A parsed argument.
#[derive(Clone)]
pub enum Value {
    /// [`Arg::Expr`] and [`Arg::Closure`]: the expression itself.
    Expr(Expr),
    Selector(Selector),
    /// A stream argument, resolved into one of the node's inputs.
    Stream,
    Window(Window),
    Duration(u64),
    SignedDuration(i64),
    Count(Count),
    /// The argument does not have its form: why (at a span), or `None` where the
    /// operator's usage says it best.
    Invalid(Option<(Span, String)>),
}

impl Value {
    /// `arg` read in the form `form`.
    pub fn parse(arg: &Expr, form: Arg) -> Value {
        let parsed = match form {
            Arg::Expr => Ok(Value::Expr(arg.clone())),
            Arg::Stream => Ok(Value::Stream),
            Arg::Closure if is_callable(arg) => Ok(Value::Expr(arg.clone())),
            Arg::Closure => return Value::Invalid(None),
            Arg::Selector => match field_index(arg) {
                Some(index) => Ok(Value::Selector(Selector::Field(index))),
                None if is_callable(arg) => {
                    Ok(Value::Selector(Selector::Closure(Box::new(arg.clone()))))
                }
                None => return Value::Invalid(None),
            },
            Arg::Window => window(arg).map(Value::Window),
            Arg::Duration => duration_ms(arg).map(Value::Duration),
            Arg::SignedDuration => signed_duration_ms(arg).map(Value::SignedDuration),
            Arg::Count => count(arg).map(Value::Count),
        };
        parsed.unwrap_or_else(|e| Value::Invalid(Some(e)))
    }
}

/// A problem with an argument: where, and the message.
pub type ArgError = (Span, String);

/// The milliseconds of a duration literal: `500ms`, `10s`, `1min`, `2h`, `1d`.
pub fn duration_ms(arg: &Expr) -> Result<u64, ArgError> {
    let unit_error = |span| {
        (
            span,
            "expected a duration with a unit: `500ms`, `10s`, `1min`, `2h` or `1d`".to_string(),
        )
    };
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(int), ..
    }) = arg
    else {
        return Err(unit_error(arg.span()));
    };
    let per_unit: u64 = match int.suffix() {
        "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(unit_error(int.span())),
    };
    int.base10_parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(|| {
            (
                int.span(),
                "this duration does not fit in u64 milliseconds".into(),
            )
        })
}

/// The milliseconds of a duration that may be negative: `-5s`, `10s`.
pub fn signed_duration_ms(arg: &Expr) -> Result<i64, ArgError> {
    let (negative, magnitude) = match arg {
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        _ => (false, arg),
    };
    let ms = duration_ms(magnitude)?;
    let ms =
        i64::try_from(ms).map_err(|_| (arg.span(), "this duration is too long".to_string()))?;
    Ok(if negative { -ms } else { ms })
}

/// A window argument: `tumbling(size)`, `sliding(size, slide)`, `cumulate(step, max)` or `session(gap)`.
pub fn window(arg: &Expr) -> Result<Window, ArgError> {
    let usage = "expected a window: `tumbling(10s)`, `sliding(10s, 2s)`, `cumulate(1s, 10s)` or `session(30s)`";
    let Expr::Call(call) = arg else {
        return Err((arg.span(), usage.into()));
    };
    let name = match &*call.func {
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    };
    let mut args: Vec<&Expr> = call.args.iter().collect();
    // A last `offset = <duration>` moves time windows (Flink's window offset).
    let mut offset = 0;
    if let Some(Expr::Assign(assign)) = args.last() {
        let is_offset = matches!(&*assign.left, Expr::Path(p) if p.path.is_ident("offset"));
        if is_offset && name.as_deref() == Some("session") {
            return Err((
                assign.left.span(),
                "session windows take no offset: each starts at its first record".into(),
            ));
        }
        if !is_offset {
            return Err((
                assign.left.span(),
                "the only named argument of a window is `offset = <duration>`, which moves tumbling, sliding and cumulating windows".into(),
            ));
        }
        offset = signed_duration_ms(&assign.right)?;
        args.pop();
    }
    match (name.as_deref(), args.as_slice()) {
        (Some("tumbling"), [size]) => Ok(Window::Tumbling {
            size: positive(size)?,
            offset,
        }),
        (Some("session"), [gap]) => Ok(Window::Session {
            gap: positive(gap)?,
        }),
        (Some("sliding"), [size_arg, slide_arg]) => {
            let (size, slide) = (positive(size_arg)?, positive(slide_arg)?);
            if slide > size {
                return Err((
                    slide_arg.span(),
                    format!("the slide ({slide} ms) is larger than the window size ({size} ms): records between windows would be lost; use a slide of at most the size"),
                ));
            }
            Ok(Window::Sliding {
                size,
                slide,
                offset,
            })
        }
        (Some("cumulate"), [step_arg, max_arg]) => {
            let (step, max) = (positive(step_arg)?, positive(max_arg)?);
            if !max.is_multiple_of(step) {
                return Err((
                    max_arg.span(),
                    format!("the max size ({max} ms) of cumulating windows must be a multiple of their step ({step} ms)"),
                ));
            }
            Ok(Window::Cumulate { step, max, offset })
        }
        (Some("tumbling"), _) => Err((
            call.span(),
            "`tumbling` takes one duration: `tumbling(10s)`".into(),
        )),
        (Some("sliding"), _) => Err((
            call.span(),
            "`sliding` takes a size and a slide: `sliding(10s, 2s)`".into(),
        )),
        (Some("cumulate"), _) => Err((
            call.span(),
            "`cumulate` takes a step and a max size: `cumulate(1s, 10s)`".into(),
        )),
        _ => Err((call.func.span(), usage.into())),
    }
}

fn positive(arg: &Expr) -> Result<u64, ArgError> {
    match duration_ms(arg)? {
        0 => Err((
            arg.span(),
            "a window size, slide or gap must be positive".into(),
        )),
        ms => Ok(ms),
    }
}

/// A number of records; a literal must be positive (others are checked when the job
/// starts).
fn count(arg: &Expr) -> Result<Count, ArgError> {
    let literal = match arg {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<u64>().ok(),
        _ => None,
    };
    if literal == Some(0) {
        return Err((
            arg.span(),
            "a count window's size and step must be positive".into(),
        ));
    }
    Ok(Count {
        expr: arg.clone(),
        literal,
    })
}

/// A tuple field index argument such as `0` or `1`.
pub fn field_index(arg: &Expr) -> Option<syn::Index> {
    match arg {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(int) if int.suffix().is_empty() => {
                int.base10_parse::<u32>().ok().map(|index| syn::Index {
                    index,
                    span: int.span(),
                })
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_callable(arg: &Expr) -> bool {
    matches!(arg, Expr::Closure(_) | Expr::Path(_))
}

/// The identifier of an argument that is a bare name.
pub fn bare_name(arg: &Expr) -> Option<Ident> {
    match arg {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => p.path.get_ident().cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_windows() {
        let d = |s: &str| duration_ms(&syn::parse_str(s).unwrap()).map_err(|e| e.1);
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("10s"), Ok(10_000));
        assert_eq!(d("2min"), Ok(120_000));
        assert_eq!(d("1h"), Ok(3_600_000));
        assert_eq!(d("1d"), Ok(86_400_000));
        assert!(d("10").unwrap_err().contains("with a unit"));
        assert!(d("10sec").unwrap_err().contains("with a unit"));
        let s = |s: &str| signed_duration_ms(&syn::parse_str(s).unwrap()).map_err(|e| e.1);
        assert_eq!(s("-5s"), Ok(-5_000));
        assert_eq!(s("250ms"), Ok(250));
        let w = |s: &str| window(&syn::parse_str(s).unwrap()).map_err(|e| e.1);
        assert_eq!(
            w("tumbling(1min)"),
            Ok(Window::Tumbling {
                size: 60_000,
                offset: 0
            })
        );
        assert_eq!(
            w("sliding(10s, 2s)"),
            Ok(Window::Sliding {
                size: 10_000,
                slide: 2_000,
                offset: 0
            })
        );
        assert_eq!(
            w("tumbling(1d, offset = -8h)"),
            Ok(Window::Tumbling {
                size: 86_400_000,
                offset: -28_800_000
            })
        );
        assert!(w("session(1s, offset = 1s)")
            .unwrap_err()
            .contains("take no offset"));
        assert!(w("tumbling(1s, start = 1s)")
            .unwrap_err()
            .contains("only named argument"));
        assert_eq!(w("session(30s)"), Ok(Window::Session { gap: 30_000 }));
        assert!(w("sliding(2s, 10s)")
            .unwrap_err()
            .contains("larger than the window size"));
        assert!(w("tumbling(0s)").unwrap_err().contains("must be positive"));
        assert!(w("hopping(5s)").unwrap_err().contains("expected a window"));
    }

    #[test]
    fn values_take_their_form() {
        let v = |s: &str, form| Value::parse(&syn::parse_str(s).unwrap(), form);
        assert!(matches!(
            v("0", Arg::Selector),
            Value::Selector(Selector::Field(syn::Index { index: 0, .. }))
        ));
        assert!(matches!(
            v("|x| x.id", Arg::Selector),
            Value::Selector(Selector::Closure(_))
        ));
        assert!(matches!(v("42", Arg::Closure), Value::Invalid(None)));
        assert!(matches!(v("10s", Arg::Duration), Value::Duration(10_000)));
        assert!(matches!(v("10", Arg::Duration), Value::Invalid(Some(_))));
        assert!(matches!(
            v("N", Arg::Count),
            Value::Count(Count { literal: None, .. })
        ));
        assert!(matches!(
            v("5", Arg::Count),
            Value::Count(Count {
                literal: Some(5),
                ..
            })
        ));
        assert!(matches!(v("0", Arg::Count), Value::Invalid(Some(_))));
    }
}
