//! Updating SQL queries, `GROUP BY` without a window: a changelog (`+I`, `-U`/`+U`, `-D`)
//! over differential dataflow, checked against a model that applies each timestamp's
//! records in event-time order, at 1, 2 and 4 workers.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tidemill::prelude::*;
use tidemill::sql::{Change, RowKind};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Action {
    user_id: u64,
    item_id: u64,
    action: String,
    timestamp: u64,
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(
        (
            0u64..3,
            0u64..3,
            prop::sample::select(vec!["view", "buy"]),
            0u64..40,
        )
            .prop_map(|(user_id, item_id, action, t)| Action {
                user_id,
                item_id,
                action: action.to_string(),
                timestamp: t * 250,
            }),
        0..80,
    )
}

type Pair = (u64, u64);
/// A key's changes in order: `(kind, count)`.
type Changes = BTreeMap<Pair, Vec<(RowKind, i64)>>;

/// Flink's changelog of `COUNT(*) .. HAVING COUNT(*) > 1` per pair, applying the records
/// of each second of event time at once (the pipeline's tick, 1 s without windows: the
/// engine's batch of changes).
fn model(input: &[Action], having: fn(i64) -> bool) -> Changes {
    model_by(input, |a| (a.user_id, a.item_id), having)
}

/// [`model`] with the rows grouped by `key`.
fn model_by(input: &[Action], key: fn(&Action) -> Pair, having: fn(i64) -> bool) -> Changes {
    let mut by_time: BTreeMap<u64, Vec<Pair>> = BTreeMap::new();
    for a in input {
        by_time.entry(a.timestamp / 1000).or_default().push(key(a));
    }
    let mut counts: BTreeMap<Pair, i64> = BTreeMap::new();
    let mut changes = Changes::new();
    for pairs in by_time.values() {
        let before = counts.clone();
        for p in pairs {
            *counts.entry(*p).or_default() += 1;
        }
        for (p, n) in &counts {
            let old = before.get(p).copied().filter(|c| having(*c));
            let new = Some(*n).filter(|c| having(*c));
            let out = changes.entry(*p).or_default();
            match (old, new) {
                (Some(o), Some(n)) if o != n => {
                    out.push((RowKind::UpdateBefore, o));
                    out.push((RowKind::UpdateAfter, n));
                }
                (None, Some(n)) => out.push((RowKind::Insert, n)),
                (Some(o), None) => out.push((RowKind::Delete, o)),
                _ => {}
            }
        }
    }
    changes.retain(|_, v| !v.is_empty());
    changes
}

fn per_key(changes: Vec<(u64, u64, RowKind, i64)>) -> Changes {
    let mut out = Changes::new();
    for (u, i, kind, n) in changes {
        out.entry((u, i)).or_default().push((kind, n));
    }
    out
}

/// The recommendation query's changelog, that of `HAVING COUNT(*) < 3` (whose rows
/// are withdrawn, `-D`, at a third action), and that of a global aggregate (no `GROUP
/// BY`: one row, keyed `(0, 0)` here).
fn run_timed(input: &[Action], workers: u64) -> (Changes, Changes, Changes) {
    let (out, few, global) = (Collector::new(), Collector::new(), Collector::new());
    let data = input.to_vec();
    tidemill::run(
        Args::with_workers(workers),
        stream! {
            // The bound covers all the disorder: every action counts at its own time.
            let user_actions = from_collection(data)
                .assign_timestamps(|a| a.timestamp, out_of_orderness = 10s);
            sql!("SELECT user_id, item_id, COUNT(*) AS count FROM user_actions GROUP BY user_id, item_id HAVING COUNT(*) > 1")
                .map(|c| (c.row.user_id, c.row.item_id, c.kind, c.row.count))
                .collect(out);
            sql!("SELECT user_id, item_id, COUNT(*) AS count FROM user_actions GROUP BY user_id, item_id HAVING COUNT(*) < 3")
                .map(|c| (c.row.user_id, c.row.item_id, c.kind, c.row.count))
                .collect(few);
            sql!("SELECT COUNT(*) AS count FROM user_actions HAVING COUNT(*) > 2")
                .map(|c| (0, 0, c.kind, c.row.count))
                .collect(global);
        },
    )
    .unwrap();
    (
        per_key(out.take()),
        per_key(few.take()),
        per_key(global.take()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// On an event-time stream, each key's changes follow the model's, time by time.
    #[test]
    fn the_changelog_matches_the_model(input in actions()) {
        let want = (
            model(&input, |n| n > 1),
            model(&input, |n| n < 3),
            model_by(&input, |_| (0, 0), |n| n > 2),
        );
        for workers in [1, 2, 4] {
            prop_assert_eq!(&run_timed(&input, workers), &want, "at -w {}", workers);
        }
    }
}

#[test]
fn without_timestamps_a_bounded_query_ends_with_its_final_rows() {
    let mut input = Vec::new();
    for (u, i, n) in [(1u64, 10u64, 3), (1, 11, 1), (2, 10, 2)] {
        for k in 0..n {
            input.push(Action {
                user_id: u,
                item_id: i,
                action: "view".into(),
                timestamp: k,
            });
        }
    }
    for workers in [1, 2] {
        let printed = Collector::new();
        let data = input.clone();
        tidemill::run(
            Args::with_workers(workers),
            stream! {
                let user_actions = from_collection(data);
                sql!("SELECT user_id, item_id, COUNT(*) AS count FROM user_actions GROUP BY user_id, item_id HAVING COUNT(*) > 1")
                    .map(|c| c.to_string())
                    .collect(printed);
            },
        )
        .unwrap();
        let mut printed = printed.take();
        printed.sort();
        assert_eq!(printed, ["+I[1, 10, 3]", "+I[2, 10, 2]"], "at -w {workers}");
    }
}

/// A purchase of item 7 by each `(user, time)`.
fn buys<const N: usize>(at: [(u64, u64); N]) -> Vec<Action> {
    at.into_iter()
        .map(|(u, t)| Action {
            user_id: u,
            item_id: 7,
            action: "buy".into(),
            timestamp: t,
        })
        .collect()
}

#[test]
fn updates_print_as_flink_changelog_rows() {
    let input = buys([(1u64, 0u64), (1, 1000), (1, 2000), (2, 2000)]);
    let printed = Collector::new();
    tidemill::run(
        Args::with_workers(1),
        stream! {
            let user_actions = from_collection(input).assign_timestamps(|a| a.timestamp, out_of_orderness = 5s);
            sql!("SELECT user_id, COUNT(*) AS n, MAX(timestamp) AS last FROM user_actions GROUP BY user_id")
                .map(|c: Change<_>| c.to_string())
                .collect(printed);
        },
    )
    .unwrap();
    let printed = printed.take();
    let user =
        |u: &str| -> Vec<&String> { printed.iter().filter(|l| l[3..].starts_with(u)).collect() };
    assert_eq!(
        user("1,"),
        [
            "+I[1, 1, 0]",
            "-U[1, 1, 0]",
            "+U[1, 2, 1000]",
            "-U[1, 2, 1000]",
            "+U[1, 3, 2000]"
        ]
    );
    assert_eq!(user("2,"), ["+I[2, 1, 2000]"]);
}

#[test]
fn a_global_aggregate_is_one_row_updated_as_the_input_grows() {
    let input = buys([(1u64, 0u64), (2, 1000), (1, 2000), (3, 2000)]);
    for workers in [1, 2] {
        let printed = Collector::new();
        let data = input.clone();
        tidemill::run(
            Args::with_workers(workers),
            stream! {
                let user_actions = from_collection(data).assign_timestamps(|a| a.timestamp, out_of_orderness = 5s);
                sql!("SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS users, MAX(timestamp) AS last FROM user_actions")
                    .map(|c: Change<_>| c.to_string())
                    .collect(printed);
            },
        )
        .unwrap();
        assert_eq!(
            printed.take(),
            [
                "+I[1, 1, 0]",
                "-U[1, 1, 0]",
                "+U[2, 2, 1000]",
                "-U[2, 2, 1000]",
                "+U[4, 3, 2000]"
            ],
            "at -w {workers}"
        );
    }
}

#[test]
fn an_updating_query_refuses_checkpoints_rather_than_lose_its_state() {
    let dir = std::env::temp_dir().join(format!("tidemill-sql-checkpoints-{}", std::process::id()));
    let input = vec![Action {
        user_id: 1,
        item_id: 2,
        action: "view".into(),
        timestamp: 0,
    }];
    let printed = Collector::new();
    let err = tidemill::run(
        Args::with_workers(1).checkpoints(&dir, std::time::Duration::from_millis(50)),
        stream! {
            let user_actions = from_collection(input).assign_timestamps(|a| a.timestamp, out_of_orderness = 1s);
            sql!("SELECT user_id, COUNT(*) AS n FROM user_actions GROUP BY user_id")
                .map(|c| c.to_string())
                .collect(printed);
        },
    )
    .expect_err("the job must fail")
    .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(err.contains("not checkpointed yet"), "{err}");
}

#[test]
fn select_distinct_inserts_each_distinct_row_once() {
    let input: Vec<Action> = (0..40u64)
        .map(|i| Action {
            user_id: i % 5,
            item_id: i % 2,
            action: if i % 3 == 0 { "buy" } else { "view" }.into(),
            timestamp: i * 100,
        })
        .collect();
    let mut want: Vec<String> = input
        .iter()
        .map(|a| format!("+I[{}, {}]", a.user_id, a.action))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    want.sort();
    for workers in [1, 2] {
        let (printed, data) = (Collector::new(), input.clone());
        tidemill::run(
            Args::with_workers(workers),
            stream! {
                let user_actions = from_collection(data).assign_timestamps(|a| a.timestamp, out_of_orderness = 10s);
                sql!("SELECT DISTINCT user_id, action FROM user_actions")
                    .map(|c| c.to_string())
                    .collect(printed);
            },
        )
        .unwrap();
        let mut printed = printed.take();
        printed.sort();
        assert_eq!(printed, want, "at -w {workers}");
    }
}
