//! The local combiner of pane windows: before the exchange by key, each worker folds its
//! own records into one accumulator per key and pane, and ships those instead of the
//! records (Flink's local-global aggregation).
//!
//! The combiner keeps each timely time apart and ships a time's partial aggregates once
//! its input frontier passes that time, at that same time. A record's time decides its
//! lateness, so the window operator treats a partial exactly as it would have treated
//! each of its records. Only records in time for every window of their pane are
//! combined; the others (late for some or all windows) travel as they are.
//!
//! State is one accumulator per key and pane among the records of the times not yet
//! complete: with a source's watermark as the time, about one tick of input.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::StreamVec;

use super::{Aggregator, Assigner};
use crate::hash::StateMap;
use crate::key::{ExchangeData, KeySelector};
use crate::operators::keyed::state_of;
use crate::time::{time_of, Time, Timed};

/// What crosses the exchange into a combined window operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Part<T, K, Acc> {
    /// A record that is late for some of its windows: the operator sorts it out.
    Record(Timed<T>),
    /// The accumulator of `key`'s records in the pane ending at `pane`.
    Partial {
        /// The key.
        key: K,
        /// The end of the pane.
        pane: u64,
        /// Its records, aggregated.
        acc: Acc,
    },
}

impl<T, K, Acc> From<Timed<T>> for Part<T, K, Acc> {
    #[inline]
    fn from(record: Timed<T>) -> Self {
        Part::Record(record)
    }
}

/// Per pane end, each key's accumulator.
type Panes<K, Acc> = BTreeMap<u64, StateMap<K, Acc>>;

/// Per time not yet complete, its capability and its panes.
type Open<K, Acc> = BTreeMap<Time, (Capability<Time>, Panes<K, Acc>)>;

/// Pre-aggregates `stream` per key and pane (see the module docs).
pub(super) fn combiner<'scope, T, S, A>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    selector: S,
    assigner: Assigner,
    lateness: u64,
    agg: A,
) -> StreamVec<'scope, Time, Part<T, S::Key, A::Acc>>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    S::Key: ExchangeData,
    A: Aggregator<T>,
{
    stream.unary_frontier(Pipeline, "combine", move |_, _| {
        let mut open: Open<S::Key, A::Acc> = BTreeMap::new();
        let mut raw = Vec::new();
        move |(input, frontier), output| {
            input.for_each(|cap, data| {
                let stamp = time_of(&cap);
                let time = stamp.event;
                let (_, panes) = open
                    .entry(stamp)
                    .or_insert_with(|| (cap.delayed(&stamp, 0), BTreeMap::new()));
                for record in data.drain(..) {
                    if assigner.first_end(record.ts) + lateness <= time {
                        raw.push(Part::Record(record));
                        continue;
                    }
                    let pane = panes.entry(assigner.pane_end(record.ts)).or_default();
                    match state_of(pane, &selector, &record) {
                        Some(acc) => agg.add(acc, record.value),
                        None => {
                            let key = selector.with_key(&record, Clone::clone);
                            let mut acc = agg.init();
                            agg.add(&mut acc, record.value);
                            pane.insert(key, acc);
                        }
                    }
                }
                if !raw.is_empty() {
                    output.session(&cap).give_container(&mut raw);
                }
            });
            while let Some(entry) = open.first_entry() {
                if frontier.less_equal(entry.key()) {
                    break;
                }
                let (cap, panes) = entry.remove();
                let mut session = output.session(&cap);
                for (pane, keys) in panes {
                    session.give_iterator(keys.into_iter().map(|(key, acc)| Part::Partial {
                        key,
                        pane,
                        acc,
                    }));
                }
            }
        }
    })
}
