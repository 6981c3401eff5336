//! Tumbling and sliding windows, aggregated in panes of `gcd(size, slide)`: a record
//! updates one accumulator of its key and pane, and a firing window merges its panes.

use std::collections::{BTreeMap, VecDeque};

use super::combine::Part;
use super::shell::{window_operator, Fire, Timers, WindowLogic};
use super::{window_result, Aggregated, Aggregator, Assigner, WindowKind, WindowResult};
use crate::checkpoint::EpochGate;
use crate::hash::StateMap;
use crate::key::{ExchangeData, KeySelector};
use crate::operators::keyed::{state_of, KeyedStream};
use crate::time::Timed;

/// Per-key accumulators of one window, for partly late records, by window end.
type Panes<K, A> = BTreeMap<u64, StateMap<K, A>>;

/// Per-key accumulators of the open panes, by pane end, in order. Records come mostly in
/// time order, so a pane is found by a short scan from the newest, and expired panes
/// leave from the front: cheaper than a tree lookup per record.
struct PaneStore<K, A> {
    panes: VecDeque<(u64, StateMap<K, A>)>,
}

impl<K, A> Default for PaneStore<K, A> {
    fn default() -> Self {
        PaneStore {
            panes: VecDeque::new(),
        }
    }
}

impl<K, A> PaneStore<K, A> {
    /// The accumulators of the pane ending at `end`, created empty if it has none.
    #[inline]
    fn pane(&mut self, end: u64) -> &mut StateMap<K, A> {
        let mut i = self.panes.len();
        while i > 0 && self.panes[i - 1].0 > end {
            i -= 1;
        }
        if i == 0 || self.panes[i - 1].0 != end {
            self.panes.insert(i, (end, StateMap::default()));
            i += 1;
        }
        &mut self.panes[i - 1].1
    }

    /// The place of the pane ending at `end`, if it exists.
    fn find(&self, end: u64) -> Option<usize> {
        let i = self.panes.iter().rposition(|(e, _)| *e <= end)?;
        (self.panes[i].0 == end).then_some(i)
    }

    /// The panes whose ends lie in `ends`, in order.
    fn range(
        &self,
        ends: std::ops::RangeInclusive<u64>,
    ) -> impl Iterator<Item = &StateMap<K, A>> + '_ {
        let first = self.panes.partition_point(|(e, _)| e < ends.start());
        self.panes
            .range(first..)
            .take_while(move |(e, _)| e <= ends.end())
            .map(|(_, p)| p)
    }

    /// Drops the panes from the front while `expired` says so of their ends.
    fn expire(&mut self, mut expired: impl FnMut(u64) -> bool) {
        while self.panes.front().is_some_and(|(e, _)| expired(*e)) {
            self.panes.pop_front();
        }
    }
}

/// Tumbling and sliding windows, aggregated in panes.
struct PaneLogic<K, S, A: Aggregator<T>, T> {
    selector: S,
    assigner: Assigner,
    lateness: u64,
    agg: A,
    panes: PaneStore<K, A::Acc>,
    /// Accumulators of records that are late for some of their windows only (sliding
    /// windows): they count for the windows still open, by window end.
    partial: Panes<K, A::Acc>,
    /// Each window end that has state and has not fired yet, and the event time held
    /// for its results.
    pending: BTreeMap<u64, u64>,
    /// Windows ending at or before this have fired.
    fired: u64,
    /// Panes whose windows are all in `pending` and none fired: a record
    /// in time for them schedules nothing (with input out of order by less than a pane,
    /// records fall in one or two panes at a time).
    hot: [u64; 2],
    /// The bounds of the pane of the last record: every record of a pane belongs to the
    /// same windows, so they are computed once per pane, not per record.
    last_pane: PaneBounds,
    /// After a restore at another number of workers: keys whose windows fired up to a
    /// later frontier than `fired` on their old worker, and that frontier (see `restore`).
    /// Empty otherwise.
    fired_for: StateMap<K, u64>,
    _record: std::marker::PhantomData<fn(T)>,
}

/// A pane and the ends of the first and last windows that contain it.
#[derive(Clone, Copy, Debug)]
struct PaneBounds {
    start: u64,
    end: u64,
    first_end: u64,
    last_end: u64,
}

impl PaneBounds {
    /// Bounds that hold no timestamp.
    const NONE: PaneBounds = PaneBounds {
        start: 1,
        end: 0,
        first_end: 0,
        last_end: 0,
    };

    fn of(assigner: &Assigner, ts: u64) -> PaneBounds {
        let end = assigner.pane_end(ts);
        PaneBounds {
            // A window offset can put the first pane's start before 0.
            start: end.saturating_sub(assigner.pane),
            end,
            first_end: assigner.first_end(ts),
            last_end: assigner.last_end(ts),
        }
    }
}

impl<K, S, A: Aggregator<T>, T> PaneLogic<K, S, A, T> {
    fn new(selector: S, assigner: Assigner, lateness: u64, agg: A) -> Self {
        PaneLogic {
            selector,
            assigner,
            lateness,
            agg,
            panes: PaneStore::default(),
            partial: BTreeMap::new(),
            pending: BTreeMap::new(),
            fired: 0,
            hot: [0; 2],
            last_pane: PaneBounds::NONE,
            fired_for: StateMap::default(),
            _record: std::marker::PhantomData,
        }
    }
}

/// Tumbling and sliding windows are aggregated in panes.
impl WindowKind for Assigner {
    fn aggregate<'scope, T, S, A>(
        self,
        keyed: KeyedStream<'scope, Timed<T>, S>,
        lateness: u64,
        name: &str,
        agg: A,
    ) -> Aggregated<'scope, S::Key, A::Out, T>
    where
        T: ExchangeData,
        S: KeySelector<Timed<T>>,
        A: Aggregator<T>,
    {
        let (stream, selector) = keyed.into_parts();
        let agg = std::rc::Rc::new(agg);
        let logic = PaneLogic::new(selector.clone(), self, lateness, agg.clone());
        if A::COMBINE && stream.scope().peers() > 1 {
            let parts = super::combine::combiner(stream, selector.clone(), self, lateness, agg);
            let route = move |part: &Part<T, S::Key, A::Acc>| match part {
                Part::Record(r) => selector.route(r),
                Part::Partial { key, .. } => crate::hash::route_hash(key),
            };
            window_operator(parts, route, name, logic)
        } else {
            window_operator(stream, move |r| selector.route(r), name, logic)
        }
    }
}

/// The results of a pane window aggregation.
type PaneResults<S, T, A> =
    Vec<Timed<WindowResult<<S as KeySelector<Timed<T>>>::Key, <A as Aggregator<T>>::Out>>>;

/// A pane window operator takes records, or records and partial aggregates after a
/// combiner.
impl<I, T, S, A> WindowLogic<I, T, WindowResult<S::Key, A::Out>> for PaneLogic<S::Key, S, A, T>
where
    I: Into<Part<T, S::Key, A::Acc>>,
    T: Clone + 'static,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    const KIND: &'static str = "pane window";

    fn on_record<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        item: I,
        updates: &mut PaneResults<S, T, A>,
        late: &mut Vec<Timed<T>>,
    ) {
        match item.into() {
            Part::Record(record) => self.record(timers, time, record, updates, late),
            Part::Partial { key, pane, acc } => self.partial(timers, time, key, pane, acc, updates),
        }
    }

    /// Most records of a batch fall in one pane whose windows are all scheduled and in
    /// time: those take a short path here, straight to the pane's accumulators (found
    /// once, not per record); any other record takes [`Self::record`], after which the
    /// short path's pane is found again.
    fn on_batch<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        items: &mut Vec<I>,
        updates: &mut PaneResults<S, T, A>,
        late: &mut Vec<Timed<T>>,
    ) {
        // The pane of the short path: its bounds and its place in `self.panes`.
        let mut hot: Option<(u64, u64, usize)> = None;
        for item in items.drain(..) {
            let record = match item.into() {
                Part::Record(record) => record,
                Part::Partial { key, pane, acc } => {
                    self.partial(timers, time, key, pane, acc, updates);
                    hot = None; // panes may have moved
                    continue;
                }
            };
            if let Some((start, end, at)) = hot {
                if start <= record.ts && record.ts < end {
                    // As the common case of `record` (a shared `#[inline(always)]` helper
                    // for the two measured 13 instructions per event more on q7).
                    let pane = &mut self.panes.panes[at].1;
                    match state_of(pane, &self.selector, &record) {
                        Some(acc) => self.agg.add(acc, record.value),
                        None => {
                            let key = self.selector.with_key(&record, Clone::clone);
                            let mut acc = self.agg.init();
                            self.agg.add(&mut acc, record.value);
                            pane.insert(key, acc);
                        }
                    }
                    continue;
                }
            }
            self.record(timers, time, record, updates, late);
            hot = self.hot_pane(time);
        }
    }

    fn on_frontier<F: Fire<WindowResult<S::Key, A::Out>>>(&mut self, out: &mut F, frontier: u64) {
        self.frontier(out, frontier);
    }

    fn snapshot(&self) -> Vec<u8> {
        let pending: Vec<(u64, u64)> = self.pending.iter().map(|(end, at)| (*end, *at)).collect();
        crate::checkpoint::encode(&(
            &self.panes.panes,
            &self.partial,
            pending,
            self.fired,
            &self.fired_for,
        ))
    }

    fn restore<H: Timers>(&mut self, gate: &EpochGate<I>, timers: &mut H) {
        type State<K, A> = (
            VecDeque<(u64, StateMap<K, A>)>,
            Panes<K, A>,
            Vec<(u64, u64)>,
            u64,
            StateMap<K, u64>,
        );
        let mut parts = gate
            .restored_states::<State<S::Key, A::Acc>>()
            .unwrap_or_default();
        if gate.rescaled() {
            // Restored at another number of workers: the old workers' frontiers differ a
            // little at a cut, so one may have fired windows another had not, and those
            // may still take records of the next epochs (they waited in its stash). The
            // merged state fires from the least of them; each key that had fired further
            // keeps how far, and windows up to there do not fire for it again.
            let least = parts.iter().map(|p| p.3).min().unwrap_or(0);
            for (panes, partial, _, fired, fired_for) in &mut parts {
                let keys = panes
                    .iter()
                    .flat_map(|(_, pane)| pane.keys())
                    .chain(partial.values().flat_map(|pane| pane.keys()));
                crate::checkpoint::rescale::note_fired(keys, *fired, least, fired_for);
            }
        }
        let Some((panes, partial, pending, fired, fired_for)) = (if gate.rescaled() {
            crate::checkpoint::rescale::merge(parts, &gate.owns())
        } else {
            parts.pop()
        }) else {
            return;
        };
        self.panes.panes = panes;
        self.partial = partial;
        self.pending = pending
            .into_iter()
            .inspect(|&(_, at)| timers.hold(at))
            .collect();
        self.fired = fired;
        self.fired_for = fired_for;
    }
}

impl<T, S, A> PaneLogic<S::Key, S, A, T>
where
    T: Clone + 'static,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    /// Holds a time for each window ending at one of `ends` that is still to fire;
    /// returns whether any of them already fired.
    fn schedule<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        ends: impl Iterator<Item = u64>,
        fired: u64,
    ) -> bool {
        let mut refire = false;
        for end in ends {
            if end <= fired {
                refire = true;
            } else {
                self.pending.entry(end).or_insert_with(|| {
                    let at = time.max(end - 1);
                    timers.hold(at);
                    at
                });
            }
        }
        refire
    }

    /// Pushes the updated result of `key` in each window ending at one of `ends` that
    /// already fired.
    fn refire(
        &self,
        key: &S::Key,
        ends: impl Iterator<Item = u64>,
        fired: u64,
        updates: &mut PaneResults<S, T, A>,
    ) {
        let (agg, assigner) = (&self.agg, &self.assigner);
        for end in ends.filter(|&e| e <= fired) {
            if let Some(acc) = merge_key(agg, assigner, &self.panes, &self.partial, end, key) {
                updates.push(result(assigner, end, key.clone(), agg.finish(&acc)));
            }
        }
    }

    /// A partial aggregate from a combiner: the records of `key` in the pane ending at
    /// `pane`, all in time for every window of the pane (the combiner decided so from
    /// the same `time` as [`Self::record`] would).
    fn partial<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        key: S::Key,
        pane: u64,
        acc: A::Acc,
        updates: &mut PaneResults<S, T, A>,
    ) {
        let assigner = self.assigner;
        let ends = move || assigner.ends(pane.saturating_sub(assigner.pane));
        debug_assert!(
            ends().all(|e| e + self.lateness > time),
            "a combined pane is in time"
        );
        let fired = self.fired_at(&key);
        let refire = self.schedule(timers, time, ends(), fired);
        let agg = &self.agg;
        let states = self.panes.pane(pane);
        match states.get_mut(&key) {
            Some(state) => agg.merge(state, &acc),
            None => {
                states.insert(key.clone(), acc);
            }
        }
        if refire {
            self.refire(&key, ends(), fired, updates);
        }
    }

    /// How far `key`'s windows have fired: `fired`, or further for a key whose old
    /// worker had fired further before a restore at another number of workers.
    #[inline]
    fn fired_at(&self, key: &S::Key) -> u64 {
        if self.fired_for.is_empty() {
            return self.fired;
        }
        self.fired_for
            .get(key)
            .map_or(self.fired, |&at| at.max(self.fired))
    }

    /// The pane of the last record, with its place in `self.panes`, if a record at
    /// `time` in it would take the common path of [`Self::record`]: all its windows in
    /// time and scheduled, none fired.
    fn hot_pane(&self, time: u64) -> Option<(u64, u64, usize)> {
        let bounds = self.last_pane;
        if bounds.first_end + self.lateness <= time || !self.hot.contains(&bounds.end) {
            return None;
        }
        let at = self.panes.find(bounds.end)?;
        Some((bounds.start, bounds.end, at))
    }

    /// A record off the short path of [`WindowLogic::on_batch`]. Kept out of line: inlined
    /// into the batch loop, it cost q7 10 instructions per event more there (one more
    /// copy of each record).
    #[inline(never)]
    fn record<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        record: Timed<T>,
        updates: &mut PaneResults<S, T, A>,
        late: &mut Vec<Timed<T>>,
    ) {
        let (assigner, ts) = (self.assigner, record.ts);
        let lateness = self.lateness;
        let open = |end: u64| end + lateness > time;
        let bounds = if self.last_pane.start <= ts && ts < self.last_pane.end {
            self.last_pane
        } else {
            self.last_pane = PaneBounds::of(&assigner, ts);
            self.last_pane
        };
        if !open(bounds.last_end) {
            late.push(record);
            return;
        }
        // Hold a capability for each window still to fire, and note whether the record is
        // late for some windows or reaches fired ones.
        let whole = open(bounds.first_end);
        let pane_end = bounds.end;
        // (Per key only after a restore at another number of workers.)
        let fired = if self.fired_for.is_empty() {
            self.fired
        } else {
            self.selector.with_key(&record, |k| self.fired_at(k))
        };
        let refire = if whole && self.hot.contains(&pane_end) {
            false
        } else {
            let ends = assigner.ends(ts).filter(|&e| open(e));
            let refire = self.schedule(timers, time, ends, fired);
            if whole && !refire && self.fired_for.is_empty() {
                self.hot = [pane_end, self.hot[0]];
            }
            refire
        };
        let agg = &self.agg;
        if whole && !refire {
            // The common case: the key is borrowed, and cloned only when new to the pane.
            let pane = self.panes.pane(pane_end);
            match state_of(pane, &self.selector, &record) {
                Some(acc) => agg.add(acc, record.value),
                None => {
                    let key = self.selector.with_key(&record, Clone::clone);
                    let mut acc = agg.init();
                    agg.add(&mut acc, record.value);
                    pane.insert(key, acc);
                }
            }
            return;
        }
        let key = self.selector.with_key(&record, Clone::clone);
        if whole {
            let pane = self.panes.pane(pane_end);
            agg.add(
                pane.entry(key.clone()).or_insert_with(|| agg.init()),
                record.value,
            );
        } else {
            for end in assigner.ends(ts).filter(|&e| open(e)) {
                let window = self.partial.entry(end).or_default();
                let acc = window.entry(key.clone()).or_insert_with(|| agg.init());
                agg.add(acc, record.value.clone());
            }
        }
        // Within the allowed lateness of windows that fired: fire them again.
        self.refire(&key, assigner.ends(ts).filter(|&e| open(e)), fired, updates);
    }

    fn frontier<F: Fire<WindowResult<S::Key, A::Out>>>(&mut self, out: &mut F, frontier: u64) {
        let (assigner, agg) = (self.assigner, &self.agg);
        while let Some(entry) = self.pending.first_entry() {
            let end = *entry.key();
            if end > frontier {
                break;
            }
            let at = entry.remove();
            for (key, acc) in merge_all(agg, &assigner, &self.panes, &self.partial, end) {
                if !self.fired_for.is_empty()
                    && self.fired_for.get(&key).is_some_and(|&to| to >= end)
                {
                    continue; // fired before a restore at another number of workers
                }
                out.fire(at, result(&assigner, end, key, agg.finish(&acc)));
            }
            out.release(at);
        }
        if !self.fired_for.is_empty() {
            self.fired_for.retain(|_, at| *at > frontier);
        }
        if frontier > self.fired {
            self.fired = frontier;
            self.hot = [0; 2]; // some of their windows may have fired
        }
        // Drop the state no window can use any more.
        let expired = |end: u64| end.saturating_add(self.lateness) <= frontier;
        self.panes
            .expire(|pane| expired(assigner.pane_last_window_end(pane)));
        while let Some(entry) = self.partial.first_entry() {
            if !expired(*entry.key()) {
                break;
            }
            entry.remove();
        }
    }
}

/// The result of `key` in the window ending at `end`.
fn result<K, V>(assigner: &Assigner, end: u64, key: K, value: V) -> Timed<WindowResult<K, V>> {
    window_result(assigner.window(end), key, value)
}

/// The accumulator of `key` in the window ending at `end`, if it has records.
fn merge_key<K: crate::key::Key, T, A: Aggregator<T>>(
    agg: &A,
    assigner: &Assigner,
    panes: &PaneStore<K, A::Acc>,
    partial: &Panes<K, A::Acc>,
    end: u64,
    key: &K,
) -> Option<A::Acc> {
    let mut merged: Option<A::Acc> = None;
    let parts = panes.range(assigner.panes_of(end)).chain(partial.get(&end));
    for acc in parts.filter_map(|p| p.get(key)) {
        match merged.as_mut() {
            Some(m) => agg.merge(m, acc),
            None => merged = Some(acc.clone()),
        }
    }
    merged
}

/// The accumulator of every key in the window ending at `end`.
fn merge_all<K: crate::key::Key, T, A: Aggregator<T>>(
    agg: &A,
    assigner: &Assigner,
    panes: &PaneStore<K, A::Acc>,
    partial: &Panes<K, A::Acc>,
    end: u64,
) -> StateMap<K, A::Acc> {
    let mut merged: StateMap<K, A::Acc> = StateMap::default();
    let parts = panes.range(assigner.panes_of(end)).chain(partial.get(&end));
    for pane in parts {
        for (key, acc) in pane {
            match merged.get_mut(key) {
                Some(m) => agg.merge(m, acc),
                None => {
                    merged.insert(key.clone(), acc.clone());
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pane_store_keeps_panes_in_order() {
        let mut store: PaneStore<u64, u64> = PaneStore::default();
        // Out of order: 30 and 10 arrive after 40 and 20.
        for (end, key) in [(20, 1), (40, 1), (30, 2), (10, 3), (40, 2), (20, 1)] {
            *store.pane(end).entry(key).or_default() += 1;
        }
        let ends: Vec<u64> = store.panes.iter().map(|(e, _)| *e).collect();
        assert_eq!(ends, [10, 20, 30, 40]);
        assert_eq!(store.pane(20).get(&1), Some(&2));
        let sizes: Vec<usize> = store.range(15..=35).map(|p| p.len()).collect();
        assert_eq!(sizes, [1, 1], "panes 20 and 30");
        assert_eq!(store.range(41..=50).count(), 0);
        store.expire(|end| end <= 20);
        let ends: Vec<u64> = store.panes.iter().map(|(e, _)| *e).collect();
        assert_eq!(ends, [30, 40]);
    }
}

/// The pane logic alone, against a model of Flink's windows, on random out-of-order
/// input: what each window ends with, when it fires, and what is late.
#[cfg(test)]
mod logic_tests {
    use std::collections::BTreeMap;

    use super::super::testing::{key_of, run, steps, value_of, Record, Rng, Step};
    use super::super::{Sum, WindowResult};
    use super::PaneLogic;
    use crate::key::KeyFn;
    use crate::time::Timed;

    /// Each `(key, end)` and the sum of the records in time for it.
    type Sums = BTreeMap<(u64, u64), u64>;

    /// What each window ends with, and the late records.
    fn model(
        assigner: &super::Assigner,
        lateness: u64,
        steps: &[Step<Record>],
    ) -> (Sums, Vec<Timed<Record>>) {
        let (mut sums, mut late) = (BTreeMap::new(), Vec::new());
        for step in steps {
            let Step::Batch(time, records) = step else {
                continue;
            };
            for r in records {
                let open: Vec<u64> = assigner
                    .ends(r.ts)
                    .filter(|e| e + lateness > *time)
                    .collect();
                if open.is_empty() {
                    late.push(*r);
                }
                for end in open {
                    *sums.entry((r.value.0, end)).or_default() += r.value.1;
                }
            }
        }
        (sums, late)
    }

    fn check(assigner: super::Assigner, lateness: u64, seed: u64) {
        let mut rng = Rng(seed);
        let steps = steps(&mut rng, 300, 3, 40, 30);
        let (sums, mut late) = model(&assigner, lateness, &steps);
        let agg = Sum(value_of as fn(&Record) -> u64);
        let mut logic = PaneLogic::new(KeyFn(key_of as fn(&_) -> u64), assigner, lateness, agg);
        let mut run = run::<Record, WindowResult<u64, u64>, _>(&mut logic, steps);
        let mut last = BTreeMap::new();
        let mut fired_at = BTreeMap::new();
        for e in &run.results {
            let r = &e.result.value;
            let end = r.end as u64;
            assert_eq!(e.result.ts, end - 1, "a result is stamped with its last ms");
            assert_eq!(r.start, r.end - assigner.size as i64);
            if e.fired {
                assert!(end <= e.frontier, "{r:?} fired before it was complete");
                assert!(e.at >= end - 1, "{r:?} travels before its last ms");
                assert!(
                    fired_at.insert((r.key, end), e.frontier).is_none(),
                    "{r:?} fired twice"
                );
            } else {
                // A key's first record in a window that fired for others, within the
                // allowed lateness, fires the key's window at once, as in Flink.
                assert!(
                    end <= e.frontier,
                    "{r:?} updated a window that had not fired"
                );
                assert!(lateness > 0, "an update without allowed lateness");
            }
            last.insert((r.key, end), r.value);
        }
        assert_eq!(last, sums, "what each window ends with");
        let order = |v: &mut Vec<Timed<Record>>| v.sort_by_key(|r| (r.ts, r.value));
        order(&mut run.late);
        order(&mut late);
        assert_eq!(run.late, late, "the late records");
    }

    #[test]
    fn tumbling_windows_match_the_model() {
        for seed in 1..=20 {
            check(super::Assigner::tumbling(10), 0, seed);
            check(super::Assigner::tumbling(25), 30, seed);
        }
    }

    #[test]
    fn sliding_windows_match_the_model() {
        for seed in 1..=20 {
            check(super::Assigner::sliding(30, 10), 0, seed);
            check(super::Assigner::sliding(20, 8), 15, seed);
        }
    }

    #[test]
    fn windows_moved_by_an_offset_match_the_model() {
        for seed in 1..=20 {
            check(super::Assigner::tumbling(10).offset(3), 0, seed);
            check(super::Assigner::sliding(20, 8).offset(-3), 15, seed);
        }
    }
}
