//! `__sql_group_by(key, value, fold, having, project)`: what `sql!` lowers an updating
//! `GROUP BY` (one without a window) to, not DSL syntax. Each record's key and aggregate
//! arguments go into a differential-dataflow collection, reduced per key by `fold`; the
//! changes of each key's result become a changelog of rows (`+I`, `-U`/`+U`, `-D`),
//! filtered by `having` and built by `project` (see the runtime's `sql::changelog`).
use quote::{quote, quote_spanned};

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "__sql_group_by",
    usage: "sql!(\"SELECT k, COUNT(*) AS n FROM t GROUP BY k\")",
    args: &[
        Arg::Closure,
        Arg::Closure,
        Arg::Expr,
        Arg::Closure,
        Arg::Closure,
    ],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let tick = e.tick();
    let (function, tick) = if e.is_timed(node.input(0)) {
        (quote!(group_by_timed), quote!(#tick,))
    } else {
        (quote!(group_by), quote!())
    };
    let input = e.input(node, 0);
    let (key, value, fold, having, project) = (
        node.expr(0),
        node.expr(1),
        node.expr(2),
        node.expr(3),
        node.expr(4),
    );
    quote_spanned!(node.span=> #rt::sql::changelog::#function(#input, #tick #key, #value, #fold, #having, #project))
}
