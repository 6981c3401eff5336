//! The DSL end to end: each operator's behaviour, at 1, 2 and 4 workers.

use std::collections::BTreeMap;

use tidemill::prelude::*;

const WORKERS: [u64; 3] = [1, 2, 4];

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn stateless_chain_and_union() {
    for w in WORKERS {
        let out = Collector::new();
        tidemill::run(
            Args::with_workers(w),
            stream! {
                let evens = from_collection(0..100u64).filter(|x| x % 2 == 0);
                let odds = from_collection(0..100u64).filter(|x| x % 2 == 1).map(|x| x * 1000);
                evens.union(odds).flat_map(|x| vec![x; 2]).collect(out);
            },
        )
        .unwrap();
        let expected: Vec<u64> = (0..100u64)
            .map(|x| if x % 2 == 0 { x } else { x * 1000 })
            .flat_map(|x| [x, x])
            .collect();
        assert_eq!(sorted(out.take()), sorted(expected), "at -w {w}");
    }
}

#[test]
fn keyed_aggregations_in_batch_mode_emit_final_values() {
    let data: Vec<(String, u64)> = (0..1000u64).map(|i| (format!("k{}", i % 37), i)).collect();
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in &data {
        *sums.entry(k.clone()).or_default() += v;
        *counts.entry(k.clone()).or_default() += 1;
    }
    for w in WORKERS {
        let (by_field, by_fn, counted, reduced) = (
            Collector::new(),
            Collector::new(),
            Collector::new(),
            Collector::new(),
        );
        let input = data.clone();
        tidemill::run(
            Args::with_workers(w),
            stream! {
                let pairs = from_collection(input);
                pairs.key_by(0).sum(1).collect(by_field);
                pairs.key_by(|p| p.0.clone()).sum(|p| p.1).collect(by_fn);
                pairs.key_by(|p| p.0.clone()).count().collect(counted);
                pairs.key_by(0).reduce(|a, b| if a.1 >= b.1 { a } else { b }).collect(reduced);
            },
        )
        .unwrap();
        let expected_sums: Vec<(String, u64)> = sums.clone().into_iter().collect();
        assert_eq!(sorted(by_field.take()), expected_sums, "sum(1) at -w {w}");
        assert_eq!(
            sorted(by_fn.take()),
            expected_sums,
            "sum(closure) at -w {w}"
        );
        assert_eq!(
            sorted(counted.take()),
            counts.clone().into_iter().collect::<Vec<_>>(),
            "count at -w {w}"
        );
        let max_per_key: Vec<(String, u64)> = sums
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    data.iter()
                        .filter(|(kk, _)| kk == k)
                        .map(|p| p.1)
                        .max()
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(sorted(reduced.take()), max_per_key, "reduce at -w {w}");
    }
}

#[test]
fn keyed_aggregations_in_streaming_mode_emit_every_update() {
    // Rolling semantics: key k with n records emits the running values 1..=n.
    let data: Vec<u64> = (0..300u64).map(|i| i % 7).collect();
    for w in WORKERS {
        let out = Collector::new();
        let input = data.clone();
        tidemill::run(
            Args::with_workers(w).execution_mode(ExecutionMode::Streaming),
            stream! { from_collection(input).key_by(|x| *x).count().collect(out); },
        )
        .unwrap();
        let mut expected = Vec::new();
        for k in 0..7u64 {
            let n = data.iter().filter(|x| **x == k).count() as u64;
            expected.extend((1..=n).map(|c| (k, c)));
        }
        assert_eq!(sorted(out.take()), expected, "at -w {w}");
    }
}

#[test]
fn text_file_round_trip_through_part_files() {
    let dir = std::env::temp_dir().join(format!("tidemill-dsl-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.txt");
    let lines: Vec<String> = (0..5000)
        .map(|i| format!("line {i} {}", "x".repeat(i % 13)))
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    for w in WORKERS {
        let out_dir = dir.join(format!("out-{w}"));
        // A stale part from an earlier, wider run must disappear.
        std::fs::create_dir_all(&out_dir).unwrap();
        std::fs::write(out_dir.join("part-00009"), "stale\n").unwrap();
        let (path, target) = (input.clone(), out_dir.clone());
        tidemill::run(
            Args::with_workers(w),
            stream! { read_text_file(path).write_as_text(target); },
        )
        .unwrap();
        let mut got = Vec::new();
        let mut parts = 0;
        for entry in std::fs::read_dir(&out_dir).unwrap() {
            parts += 1;
            got.extend(
                std::fs::read_to_string(entry.unwrap().path())
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
        }
        assert_eq!(parts, w, "one part file per worker at -w {w}");
        assert_eq!(sorted(got), sorted(lines.clone()), "at -w {w}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let err = tidemill::run(
        Args::with_workers(2),
        stream! { read_text_file("/no/such/file.txt").print(); },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot open input file /no/such/file.txt"),
        "{err}"
    );
    assert_eq!(
        err.matches("cannot open input file").count(),
        1,
        "reported once, not once per worker: {err}"
    );
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let path = std::env::temp_dir().join(format!("tidemill-dsl-utf8-{}.txt", std::process::id()));
    let mut bytes = b"good line\n".repeat(100);
    bytes.extend_from_slice(b"bad \xc3\x28 line\nmore\n");
    std::fs::write(&path, &bytes).unwrap();
    let p = path.clone();
    let err = tidemill::run(
        Args::with_workers(4),
        stream! { read_text_file(p).print(); },
    )
    .unwrap_err()
    .to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(
        err.contains(&format!("invalid UTF-8 in {} at line 101", path.display())),
        "{err}"
    );
}

#[test]
fn explain_prints_the_plan_without_running() {
    let pipeline = stream! {
        from_collection(vec![1u64]).map(|x| x + 1).filter(|x| *x > 0).key_by(|x| *x).count().map(|(k, n)| format!("{k} {n}")).print();
    };
    let plan = pipeline.plan();
    assert!(plan.bounded);
    let ops: Vec<&str> = plan.nodes.iter().map(|n| n.op).collect();
    assert_eq!(
        ops,
        [
            "from_collection",
            "map",
            "filter",
            "key_by",
            "count",
            "map",
            "print"
        ]
    );
    assert_eq!(
        plan.nodes[1].operator, plan.nodes[2].operator,
        "map and filter are fused"
    );
    assert!(plan.nodes[4].exchange && !plan.nodes[2].exchange);
    let mermaid = plan.to_mermaid();
    assert!(mermaid.contains("n3 == by key ==> n4"), "{mermaid}");
}

#[cfg(feature = "nexmark")]
#[test]
fn from_source_takes_any_source_and_discard_counts() {
    let config = tidemill::nexmark::Config::with_events(5_000);
    let generator = tidemill::nexmark::Generator::new(config.clone());
    let all: Vec<_> = (0..5_000)
        .filter_map(|n| generator.event(n).bid())
        .collect();
    let expensive = all.iter().filter(|b| b.price > 1_000).count() as u64;
    let expected: Vec<u64> = all.iter().map(|b| b.auction).collect();
    let auctions = Collector::new();
    let counting = Collector::counting();
    let report = tidemill::run(
        Args::with_workers(2).source_batch(97),
        stream! {
            let bids = from_source(tidemill::nexmark::bids(config))
                .assign_timestamps(|b| b.date_time);
            bids.map(|b| b.auction).collect(auctions);
            bids.map(|b| b.price).collect(counting);
            bids.filter(|b| b.price > 1_000).discard();
        },
    )
    .unwrap();
    assert_eq!(expected.len(), 4_600);
    assert_eq!(sorted(auctions.take()), sorted(expected));
    assert_eq!(counting.count(), 4_600);
    assert!(
        counting.take().is_empty(),
        "a counting collector keeps nothing"
    );
    assert!(expensive > 0 && expensive < 4_600);
    assert_eq!(report.discarded, expensive);
}
