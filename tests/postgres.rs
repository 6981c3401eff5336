//! The PostgreSQL sink against a real server (`scripts/postgres.sh` starts a private
//! cluster): inserts and upserts at several worker counts, connections killed mid-run,
//! and start-up checks of the record against the table. Without a server these tests
//! fail with what to run.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use tidemill::postgres::client::{Client, NoTls};
use tidemill::prelude::*;

const WORKERS: [u64; 3] = [1, 2, 4];

fn client(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// A fresh table `prefix_<unique>` made by `columns`; returns its name.
fn table(url: &str, prefix: &str, columns: &str) -> String {
    let name = common::unique(prefix).replace('-', "_");
    client(url)
        .batch_execute(&format!("CREATE TABLE {name} ({columns})"))
        .unwrap();
    name
}

#[derive(Clone, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
struct Alert {
    transaction_id: i64,
    amount: f64,
    note: Option<String>,
}

#[test]
fn insert_mode_writes_every_record_once() {
    let url = common::postgres_url();
    let txns: Vec<(i64, f64)> = (0..3000).map(|i| (i, (i * 7919 % 1500) as f64)).collect();
    let mut expected: Vec<Alert> = txns
        .iter()
        .filter(|(_, amount)| *amount > 1000.0)
        .map(|&(id, amount)| Alert {
            transaction_id: id,
            amount,
            note: (id % 3 == 0).then(|| format!("tab\tand \\ \"quote\" {id}\n")),
        })
        .collect();
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    for w in WORKERS {
        // No key: a record written twice would show as two rows.
        let name = table(
            &url,
            "alerts",
            "transaction_id bigint NOT NULL, amount double precision, note text, \
             seen timestamptz NOT NULL DEFAULT now()",
        );
        let (input, sink_url, target) = (txns.clone(), url.clone(), name.clone());
        let report = tidemill::run(
            Args::with_workers(w),
            stream! {
                from_collection(input)
                    .filter(|(_, amount)| *amount > 1000.0)
                    .map(|(id, amount)| Alert {
                        transaction_id: id,
                        amount,
                        note: (id % 3 == 0).then(|| format!("tab\tand \\ \"quote\" {id}\n")),
                    })
                    .sink(postgres::<Alert>(&sink_url, &target).batch_size(100));
            },
        );
        report.unwrap_or_else(|e| panic!("at -w {w}: {e}"));
        let mut rows: Vec<Alert> = client(&url)
            .query(
                &format!("SELECT transaction_id, amount, note FROM {name}"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| Alert {
                transaction_id: r.get(0),
                amount: r.get(1),
                note: r.get(2),
            })
            .collect();
        rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(rows.len(), expected.len(), "row count at -w {w}");
        assert_eq!(rows, expected, "rows at -w {w}");
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct PairCount {
    user_id: i64,
    item_id: i64,
    count: i64,
}

/// User actions `(user, item)`: 4000 of them over about 250 pairs.
fn actions() -> Vec<(i64, i64)> {
    (0..4000i64).map(|i| (i * 7 % 23, i * 13 % 11)).collect()
}

fn final_counts(actions: &[(i64, i64)]) -> BTreeMap<(i64, i64), i64> {
    let mut counts = BTreeMap::new();
    for pair in actions {
        *counts.entry(*pair).or_insert(0) += 1;
    }
    counts
}

fn counts_in(url: &str, name: &str) -> BTreeMap<(i64, i64), i64> {
    let rows = client(url)
        .query(&format!("SELECT user_id, item_id, count FROM {name}"), &[])
        .unwrap();
    let mut counts = BTreeMap::new();
    for r in rows {
        let previous = counts.insert((r.get(0), r.get(1)), r.get(2));
        assert!(previous.is_none(), "a key written twice in {name}");
    }
    counts
}

const COUNTS: &str = "user_id bigint, item_id bigint, count bigint NOT NULL, \
                      PRIMARY KEY (user_id, item_id)";

#[test]
fn upsert_mode_keeps_the_last_count_per_key() {
    let url = common::postgres_url();
    let expected = final_counts(&actions());
    for w in WORKERS {
        let name = table(&url, "counts", COUNTS);
        let (input, sink_url, target) = (actions(), url.clone(), name.clone());
        // Streaming: every action updates its pair's row, so most rows are written many
        // times, within a batch and across batches.
        tidemill::run(
            Args::with_workers(w).execution_mode(ExecutionMode::Streaming),
            stream! {
                from_collection(input)
                    .key_by(|pair| *pair)
                    .count()
                    .map(|((user_id, item_id), count)| PairCount { user_id, item_id, count: count as i64 })
                    .sink(postgres::<PairCount>(&sink_url, &target).upsert().batch_size(50));
            },
        )
        .unwrap_or_else(|e| panic!("at -w {w}: {e}"));
        assert_eq!(counts_in(&url, &name), expected, "at -w {w}");
    }
}

#[test]
fn upsert_mode_survives_killed_connections() {
    let url = common::postgres_url();
    let expected = final_counts(&actions());
    let name = table(&url, "counts_killed", COUNTS);
    // The sink's connections carry this name, for the pipeline itself to kill them.
    let app: &'static str = common::unique("tidemill-kill").leak();
    let sink_url = format!("{url}?application_name={app}");
    // Copied into every worker's closure (the pipeline is built once per worker).
    let killed: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    let killer_url: &'static str = url.clone().leak();
    let (input, target, kills) = (actions(), name.clone(), killed);
    tidemill::run(
        Args::with_workers(2)
            .execution_mode(ExecutionMode::Streaming)
            .source_batch(100),
        stream! {
            from_collection(input)
                .inspect(move |pair| {
                    // The pair (0, 0), every 253rd action, ends the sinks' sessions.
                    if *pair == (0, 0) {
                        let n: i64 = client(killer_url)
                            .query_one(
                                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) \
                                 FROM pg_stat_activity WHERE application_name = $1) t",
                                &[&app.to_string()],
                            )
                            .unwrap()
                            .get(0);
                        kills.fetch_add(n as u64, Ordering::Relaxed);
                    }
                })
                .key_by(|pair| *pair)
                .count()
                .map(|((user_id, item_id), count)| PairCount { user_id, item_id, count: count as i64 })
                .sink(postgres::<PairCount>(&sink_url, &target).upsert().batch_size(20));
        },
    )
    .unwrap();
    assert!(
        killed.load(Ordering::Relaxed) > 0,
        "no sink connection was killed: the test did not test reconnection"
    );
    assert_eq!(counts_in(&url, &name), expected);
}

/// `actions()` with event times 3 ms apart, for an updating SQL query.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Action {
    user_id: i64,
    item_id: i64,
    ts: u64,
}

fn timed_actions() -> Vec<Action> {
    actions()
        .into_iter()
        .zip(0u64..)
        .map(|((user_id, item_id), i)| Action {
            user_id,
            item_id,
            ts: i * 3,
        })
        .collect()
}

#[test]
fn an_updating_query_upserts_and_deletes_on_its_key() {
    let url = common::postgres_url();
    // 4000 actions over 253 pairs: 15 or 16 each. A pair's row appears at its second
    // action, is updated up to 15, and is deleted at its 16th (`HAVING` turns false).
    let mut expected = final_counts(&actions());
    expected.retain(|_, n| (2..16).contains(n));
    assert!(!expected.is_empty() && expected.len() < 253);
    for w in WORKERS {
        let name = table(&url, "sql_counts", COUNTS);
        let (input, sink_url, target) = (timed_actions(), url.clone(), name.clone());
        tidemill::run(
            Args::with_workers(w),
            stream! {
                let user_actions = from_collection(input).assign_timestamps(|a| a.ts, out_of_orderness = 20s);
                sql!("SELECT user_id, item_id, COUNT(*) AS count FROM user_actions
                      GROUP BY user_id, item_id HAVING COUNT(*) > 1 AND COUNT(*) < 16", row = PairCount)
                    .sink(postgres::<PairCount>(&sink_url, &target).upsert().batch_size(50));
            },
        )
        .unwrap_or_else(|e| panic!("at -w {w}: {e}"));
        assert_eq!(counts_in(&url, &name), expected, "at -w {w}");
    }
}

#[test]
fn an_updating_query_needs_the_tables_key_to_be_its_own() {
    let url = common::postgres_url();
    let name = table(
        &url,
        "sql_counts_by_user",
        "user_id bigint PRIMARY KEY, item_id bigint, count bigint NOT NULL",
    );
    let (input, sink_url, target) = (timed_actions(), url.clone(), name.clone());
    let err = tidemill::run(
        Args::with_workers(2),
        stream! {
            let user_actions = from_collection(input).assign_timestamps(|a| a.ts, out_of_orderness = 20s);
            sql!("SELECT user_id, item_id, COUNT(*) AS count FROM user_actions GROUP BY user_id, item_id", row = PairCount)
                .sink(postgres::<PairCount>(&sink_url, &target).upsert());
        },
    )
    .expect_err("the job must fail")
    .to_string();
    assert!(
        err.contains("upsert key, its GROUP BY columns, is (user_id, item_id)")
            && err.contains("the table's upsert key is (user_id)"),
        "{err}"
    );
    assert!(counts_in(&url, &name).is_empty(), "nothing written");
}

#[test]
fn a_record_that_does_not_fit_the_table_fails_at_start_naming_the_column() {
    let url = common::postgres_url();
    let run = |table: &str| {
        let (sink_url, target) = (url.clone(), table.to_string());
        let input: Vec<i64> = vec![1, 2, 3];
        tidemill::run(
            Args::with_workers(2),
            stream! {
                from_collection(input)
                    .map(|id| Alert { transaction_id: id, amount: 1.0, note: None })
                    .sink(postgres::<Alert>(&sink_url, &target));
            },
        )
        .expect_err("the job must fail")
        .to_string()
    };
    let no_amount = table(&url, "alerts_no_amount", "transaction_id bigint, note text");
    let err = run(&no_amount);
    assert!(err.contains("field `amount` has no column"), "{err}");
    let extra = table(
        &url,
        "alerts_extra",
        "transaction_id bigint, amount float8, note text, region text NOT NULL",
    );
    let err = run(&extra);
    assert!(
        err.contains("column `region`") && err.contains("NOT NULL"),
        "{err}"
    );
    let err = run("no_such_table_here");
    assert!(err.contains("no such table"), "{err}");
    for t in [no_amount, extra] {
        let rows: i64 = client(&url)
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(rows, 0, "nothing written to {t}");
    }
}

#[test]
fn a_rejected_row_fails_the_job_with_the_database_reason() {
    let url = common::postgres_url();
    let name = table(
        &url,
        "alerts_checked",
        "transaction_id bigint, amount float8 CHECK (amount < 100), note text",
    );
    let (sink_url, target) = (url.clone(), name.clone());
    let input: Vec<i64> = (0..10).collect();
    let err = tidemill::run(
        Args::with_workers(1),
        stream! {
            from_collection(input)
                .map(|id| Alert { transaction_id: id, amount: id as f64 * 20.0, note: None })
                .sink(postgres::<Alert>(&sink_url, &target));
        },
    )
    .expect_err("a row breaks the CHECK constraint")
    .to_string();
    assert!(
        err.contains("rejected") && err.contains("check constraint"),
        "{err}"
    );
}

#[test]
fn an_unreachable_server_fails_the_job_at_start() {
    // A port with nothing listening: the connection is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://tidemill@127.0.0.1:{port}/postgres");
    let input: Vec<i64> = vec![1];
    let err = tidemill::run(
        Args::with_workers(1),
        stream! {
            from_collection(input)
                .map(|id| Alert { transaction_id: id, amount: 1.0, note: None })
                .sink(postgres::<Alert>(&url, "alerts"));
        },
    )
    .expect_err("no server")
    .to_string();
    assert!(
        err.contains("cannot connect") && err.contains(&port.to_string()),
        "{err}"
    );
}
