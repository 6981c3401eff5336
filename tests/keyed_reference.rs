//! Keyed rolling aggregations against a brute-force reference model, on random input at
//! 1, 2 and 4 workers, in batch and streaming modes.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tidemill::prelude::*;

type Input = Vec<(u8, u32)>;
/// What one sink received: `(key, value)` pairs.
type Updates = Vec<(u8, u64)>;

/// The model: per key, every value in input order.
fn model(input: &Input) -> BTreeMap<u8, Vec<u64>> {
    let mut per_key: BTreeMap<u8, Vec<u64>> = BTreeMap::new();
    for (k, v) in input {
        per_key.entry(*k).or_default().push(u64::from(*v));
    }
    per_key
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn run_all(
    input: &Input,
    workers: u64,
    mode: ExecutionMode,
) -> (Updates, Updates, Updates, Updates) {
    let (sums, sums_by, counts, maxes) = (
        Collector::new(),
        Collector::new(),
        Collector::new(),
        Collector::new(),
    );
    let data: Vec<(u8, u64)> = input.iter().map(|(k, v)| (*k, u64::from(*v))).collect();
    tidemill::run(
        Args::with_workers(workers).execution_mode(mode),
        stream! {
            let pairs = from_collection(data);
            pairs.key_by(0).sum(1).collect(sums);
            pairs.key_by(|p| p.0).sum(|p| p.1).collect(sums_by);
            pairs.key_by(|p| p.0).count().collect(counts);
            pairs.key_by(0).reduce(|a, b| if b.1 > a.1 { b } else { a }).collect(maxes);
        },
    )
    .unwrap();
    (sums.take(), sums_by.take(), counts.take(), maxes.take())
}

fn input_strategy() -> impl Strategy<Value = Input> {
    prop::collection::vec((0u8..12, 0u32..1000), 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Batch mode: exactly one final value per key, equal to the model's.
    #[test]
    fn batch_mode_matches_the_model(input in input_strategy()) {
        let per_key = model(&input);
        let total: Vec<(u8, u64)> = per_key.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        let count: Vec<(u8, u64)> = per_key.iter().map(|(k, vs)| (*k, vs.len() as u64)).collect();
        let max: Vec<(u8, u64)> = per_key.iter().map(|(k, vs)| (*k, *vs.iter().max().unwrap())).collect();
        for workers in [1, 2, 4] {
            let (sums, sums_by, counts, maxes) = run_all(&input, workers, ExecutionMode::Batch);
            prop_assert_eq!(sorted(sums), total.clone(), "sum(1) at -w {}", workers);
            prop_assert_eq!(sorted(sums_by), total.clone(), "sum(closure) at -w {}", workers);
            prop_assert_eq!(sorted(counts), count.clone(), "count at -w {}", workers);
            prop_assert_eq!(sorted(maxes), max.clone(), "reduce at -w {}", workers);
        }
    }

    /// Streaming mode: one update per record. Records of a key may reach its worker in any
    /// interleaving of the source workers, so the model checks what every order agrees on:
    /// counts are 1..=n, running sums are n non-decreasing values ending at the total, and
    /// running maxima end at the maximum.
    #[test]
    fn streaming_mode_matches_the_model(input in input_strategy()) {
        let per_key = model(&input);
        for workers in [1, 2, 4] {
            let (sums, sums_by, counts, maxes) = run_all(&input, workers, ExecutionMode::Streaming);
            let expected_counts: Vec<(u8, u64)> =
                per_key.iter().flat_map(|(k, vs)| (1..=vs.len() as u64).map(move |c| (*k, c))).collect();
            prop_assert_eq!(sorted(counts), expected_counts, "count at -w {}", workers);
            for (name, updates) in [("sum(1)", sums), ("sum(closure)", sums_by), ("reduce", maxes)] {
                let mut by_key: BTreeMap<u8, Vec<u64>> = BTreeMap::new();
                for (k, v) in updates {
                    by_key.entry(k).or_default().push(v);
                }
                prop_assert_eq!(by_key.len(), per_key.len(), "{} keys at -w {}", name, workers);
                for (k, vs) in &per_key {
                    let got = sorted(by_key[k].clone());
                    prop_assert_eq!(got.len(), vs.len(), "{} updates of key {} at -w {}", name, k, workers);
                    let last = *got.last().unwrap();
                    let expected = if name == "reduce" { *vs.iter().max().unwrap() } else { vs.iter().sum() };
                    prop_assert_eq!(last, expected, "{} final value of key {} at -w {}", name, k, workers);
                    prop_assert!(got.iter().all(|v| *v <= expected));
                }
            }
        }
    }
}
