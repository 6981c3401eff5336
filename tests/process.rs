//! Process functions in pipelines, against reference models, at 1, 2 and 4 workers:
//! event-time timers see every record up to their time (a per-key tumbling sum built
//! from `MapState` and timers, on random out-of-order input), side outputs, and
//! functions on streams without timestamps.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tidemill::prelude::*;

/// `(key, event time ms, value)`.
type Rec = (u8, u64, u64);

const BOUND: u64 = 40;
const BUCKET: u64 = 100;

/// Buckets whose sum is odd, as a side output.
const ODD: OutputTag<(u8, u64, u64)> = OutputTag::new("odd");

/// Sums each key's values per 100 ms bucket of event time; a timer at the bucket's last
/// millisecond emits `(key, bucket start, sum)` once the watermark has passed it.
#[derive(Default)]
struct BucketSums {
    sums: MapState<u8, u64, u64>,
}

impl KeyedProcessFunction<u8, Rec> for BucketSums {
    type Out = (u8, u64, u64);

    fn process_element(&mut self, r: Rec, ctx: &mut Context<'_, u8>, _: &mut Vec<(u8, u64, u64)>) {
        let start = r.1 - r.1 % BUCKET;
        let sum = self.sums.get(ctx, &start).copied().unwrap_or(0);
        self.sums.put(ctx, start, sum + r.2);
        ctx.register_event_time_timer(start + BUCKET - 1);
    }

    fn on_timer(&mut self, time: u64, ctx: &mut Context<'_, u8>, out: &mut Vec<(u8, u64, u64)>) {
        let start = time + 1 - BUCKET;
        let sum = self
            .sums
            .remove(ctx, &start)
            .expect("a timer per bucket with records");
        let result = (*ctx.key(), start, sum);
        if sum % 2 == 1 {
            ctx.output(&ODD, result);
        }
        out.push(result);
    }
}

/// Random records, out of order by less than the bound relative to each source's largest
/// timestamp so far (whichever worker reads them), so none is late.
fn input() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec((0u8..6, 0u64..30, 0u64..BOUND, 0u64..10), 0..200).prop_map(|steps| {
        let mut now = 0;
        steps
            .into_iter()
            .map(|(key, advance, back, value)| {
                now += advance;
                (key, now.saturating_sub(back), value)
            })
            .collect()
    })
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn check(input: &[Rec], workers: u64, batch: u64) {
    let mut want: BTreeMap<(u8, u64), u64> = BTreeMap::new();
    for &(key, ts, value) in input {
        *want.entry((key, ts - ts % BUCKET)).or_default() += value;
    }
    let want: Vec<(u8, u64, u64)> = want.into_iter().map(|((k, s), v)| (k, s, v)).collect();
    let (sums, odd) = (Collector::new(), Collector::new());
    tidemill::run(
        Args::with_workers(workers).source_batch(batch),
        stream! {
            let buckets = from_collection(input.to_vec())
                .assign_timestamps(|r| r.1, out_of_orderness = 40ms)
                .key_by(0)
                .process(BucketSums::default());
            buckets.collect(sums);
            buckets.side_output(ODD).collect(odd);
        },
    )
    .unwrap();
    assert_eq!(sorted(sums.take()), want, "at {workers} workers");
    let odd_want: Vec<_> = want.iter().copied().filter(|r| r.2 % 2 == 1).collect();
    assert_eq!(sorted(odd.take()), odd_want, "at {workers} workers");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn event_time_timers_see_every_record_up_to_their_time(input in input(), batch in 1u64..8) {
        for workers in [1, 2, 4] {
            check(&input, workers, batch);
        }
    }
}

/// Counts each key's records; on a stream without timestamps every record is at event
/// time 0, so a timer at 0 fires once, when the input ends.
#[derive(Default)]
struct CountAtEnd {
    count: ValueState<String, u64>,
}

impl KeyedProcessFunction<String, String> for CountAtEnd {
    type Out = (String, u64);

    fn process_element(
        &mut self,
        _: String,
        ctx: &mut Context<'_, String>,
        _: &mut Vec<(String, u64)>,
    ) {
        let n = self.count.value(ctx).copied().unwrap_or(0);
        self.count.update(ctx, n + 1);
        ctx.register_event_time_timer(ctx.timestamp());
    }

    fn on_timer(&mut self, _: u64, ctx: &mut Context<'_, String>, out: &mut Vec<(String, u64)>) {
        let n = self.count.clear(ctx).unwrap_or(0);
        out.push((ctx.key().clone(), n));
    }
}

#[test]
fn untimed_streams_fire_their_timers_when_the_input_ends() {
    let words: Vec<String> = "a b a c a b".split(' ').map(str::to_string).collect();
    for workers in [1, 2, 4] {
        let out = Collector::new();
        tidemill::run(
            Args::with_workers(workers).source_batch(1),
            stream! {
                from_collection(words.clone())
                    .key_by(|w| w.clone())
                    .process(CountAtEnd::default())
                    .collect(out);
            },
        )
        .unwrap();
        assert_eq!(
            sorted(out.take()),
            [("a".to_string(), 3), ("b".into(), 2), ("c".into(), 1)],
            "at {workers} workers"
        );
    }
}
