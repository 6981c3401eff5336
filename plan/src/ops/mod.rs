//! The operator registry: one file per DSL operator, each a constant
//! [`OpSpec`] with its rules and its code writer; adding an operator
//! is adding a file and a line in [`ALL`].

use crate::ir::OpId;
use crate::spec::OpSpec;

mod allowed_lateness;
mod apply;
mod assign_timestamps;
mod collect;
mod count;
mod count_window;
mod dead_letters;
mod filter;
mod flat_map;
mod inspect;
mod interval_join;
mod join;
mod kafka_sink;
mod key_by;
mod late;
mod map;
mod print;
mod process;
mod process_window;
mod reduce;
mod side_output;
mod sink;
mod sources;
pub mod sql_group_by;
mod sum;
mod union;
mod window;
mod window_aggregates;
mod with_processing_time;
mod write_as_text;

/// Every operator the DSL knows.
pub const ALL: &[&OpSpec] = &[
    &sources::FROM_COLLECTION,
    &sources::READ_TEXT_FILE,
    &sources::FROM_SOURCE,
    &assign_timestamps::SPEC,
    &with_processing_time::SPEC,
    &map::SPEC,
    &filter::SPEC,
    &flat_map::SPEC,
    &inspect::SPEC,
    &union::SPEC,
    &key_by::SPEC,
    &reduce::SPEC,
    &sum::SPEC,
    &count::SPEC,
    &window::SPEC,
    &window::ALL_SPEC,
    &count_window::SPEC,
    &count_window::ALL_SPEC,
    &allowed_lateness::SPEC,
    &window_aggregates::MIN,
    &window_aggregates::MAX,
    &window_aggregates::AVG,
    &window_aggregates::AGGREGATE,
    &process_window::SPEC,
    &late::SPEC,
    &process::SPEC,
    &side_output::SPEC,
    &interval_join::SPEC,
    &interval_join::BETWEEN,
    &join::SPEC,
    &join::LOOKUP,
    &join::ON,
    &apply::SPEC,
    &print::SPEC,
    &print::DISCARD,
    &write_as_text::SPEC,
    &sink::SPEC,
    &kafka_sink::SPEC,
    &dead_letters::SPEC,
    &collect::SPEC,
    &sql_group_by::SPEC,
];

/// Looks a DSL operator up by name.
pub fn lookup(name: &str) -> Option<OpId> {
    lookup_internal(name).filter(|id| !spec(*id).is_internal())
}

/// Looks any operator up by name, those that only front ends emit (`__sql_group_by`)
/// included.
pub fn lookup_internal(name: &str) -> Option<OpId> {
    ALL.iter().position(|op| op.name == name).map(OpId)
}

/// The operators a pipeline may name.
pub fn dsl() -> impl Iterator<Item = &'static OpSpec> {
    ALL.iter().copied().filter(|op| !op.is_internal())
}

/// The spec of an operator.
pub fn spec(id: OpId) -> &'static OpSpec {
    ALL[id.0]
}
