//! The codegen contract: everything the code that `stream!` generates calls, and
//! nothing more. The plan library writes paths into this module only (through the
//! facade's `tidemill::__private`), so what generated code may depend on is listed here,
//! in one place, and the public modules can change shape without breaking it. Not a
//! stable API: it changes with the plan library, which is always the same version.

pub use crate::job::{Pipeline, Plan, PlanNode};

/// Timestamps: the stampers of timestamp assigners, and records with and without them.
pub mod time {
    pub use crate::operators::fused::{at_zero, values};
    pub use crate::time::{NoTime, ProcessingTime, Timed};

    /// `assign_timestamps(f, out_of_orderness = bound)` after a chain whose records have
    /// the type `ty` witnesses: pins `f`'s argument type.
    pub fn bounded<U, F: FnMut(&U) -> u64>(
        _ty: crate::operators::fused::Ty<U>,
        f: F,
        bound: u64,
        tick: u64,
    ) -> crate::time::BoundedOutOfOrderness<F> {
        crate::time::BoundedOutOfOrderness::new(f, bound, tick)
    }
}

/// Sources: the source operator, and the specs of the built-in sources.
pub mod sources {
    pub use crate::sources::{
        build, finish, item_ty, pass, written, Collection, Completion, SourceSpec, TextFile,
    };
}

/// Sinks.
pub mod sinks {
    pub use crate::sinks::{
        collect, collect_timed, discard, print, Collector, SinkSpec, TextFileSink,
    };
}

/// Operators on streams: fused stateless chains, `key_by` and rolling aggregations,
/// `union`, process functions.
pub mod operators {
    pub use crate::operators::union;

    /// Fused chains of stateless operators: the typed helpers that bind each closure.
    pub mod fused {
        pub use crate::operators::fused::{
            filter, flat_map, fused, inspect, map, of, of_timed, Push,
        };
    }

    /// `key_by` (with and without timestamps) and the rolling aggregations of a keyed
    /// stream (one function each, for either).
    pub mod keyed {
        pub use crate::operators::keyed::{
            count, key_by_field, key_by_field_timed, key_by_fn, key_by_fn_timed, reduce, sum_by,
            sum_field,
        };
    }

    /// Keyed process functions, and the probe of whether their state can be checkpointed.
    pub mod process {
        pub use crate::operators::process::{process, StateProbe, ViaNothing, ViaSerde};
    }
}

/// Windows: assigners, aggregators, the window operators and late data.
pub mod window {
    pub use crate::window::{
        aggregate, allowed_lateness, count_late, count_windows, field_fn, max, min, process,
        reduce_fn, session, untimed, value_fn, window, window_all, Assigner, Avg, Count, Reduce,
        Sum, SumField,
    };
}

/// Joins: window joins, interval joins and lookup joins.
pub mod join {
    pub use crate::join::{
        apply, interval_join, interval_pair, lookup_join, lookup_keys, on, pin_keys,
        pin_lookup_keys, waiting_probe,
    };
}

/// The dead letters of sources that no `dead_letters()` reads.
pub mod dead_letter {
    pub use crate::dead_letter::to_stderr;
}

/// `kafka_sink`.
#[cfg(feature = "kafka")]
pub mod kafka {
    pub use crate::kafka::{kafka_sink, keyed_like};
}

/// SQL expressions and result rows (`sql!("..")`): the operators and functions over
/// field values, and serde for the derives of generated rows.
pub mod sql {
    pub use crate::sql::*;
    pub use serde;
}
