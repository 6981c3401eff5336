//! SQL in pipelines, `sql!("..")` over the pipeline's streams, checked against a
//! reference model of Flink's semantics written here by hand (three-valued logic, NULL
//! propagation, integer arithmetic, LIKE, CASE), on random records with nullable
//! fields, out of order in event time, at 1, 2 and 4 workers.

use proptest::prelude::*;
use tidemill::prelude::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    a: i32,
    b: Option<i64>,
    x: f64,
    name: String,
    tag: Option<String>,
    ts: u64,
}

fn record() -> impl Strategy<Value = Record> {
    (
        -20i32..20,
        prop::option::of(-10i64..10),
        (-400i32..400).prop_map(|x| f64::from(x) / 4.0),
        "[abé]{0,4}",
        prop::option::of(prop::sample::select(vec!["x", "y", "z"])),
        0u64..1000,
    )
        .prop_map(|(a, b, x, name, tag, ts)| Record {
            id: 0,
            a,
            b,
            x,
            name,
            tag: tag.map(str::to_string),
            ts,
        })
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec(record(), 0..200).prop_map(|mut v| {
        for (i, r) in v.iter_mut().enumerate() {
            r.id = i as u64;
        }
        v
    })
}

// The model's three-valued logic, on `Option<bool>` (None is NULL).
fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}
fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}
fn not(a: Option<bool>) -> Option<bool> {
    a.map(|a| !a)
}
fn cmp<T: PartialOrd>(a: Option<T>, b: Option<T>, f: fn(&T, &T) -> bool) -> Option<bool> {
    Some(f(&a?, &b?))
}

type Q1 = (u64, i32, f64);
type Q2 = (u64, i64, String, i32);
type Q3 = (u64, String, Option<String>);
type Q5 = (u64, f64, String, String, Option<i64>);

/// What each query yields, by id.
#[derive(Debug, PartialEq)]
struct Results {
    q1: Vec<Q1>,
    q2: Vec<Q2>,
    q3: Vec<Q3>,
    q4: Vec<u64>,
    q5: Vec<Q5>,
}

fn by_id<T: Clone>(mut v: Vec<T>, id: fn(&T) -> u64) -> Vec<T> {
    v.sort_by_key(id);
    v
}

fn model(input: &[Record]) -> Results {
    let q1 = input
        .iter()
        .filter(|r| r.a > 10 && r.x <= 50.5)
        .map(|r| (r.id, r.a + 1, r.x * 2.0))
        .collect();
    let q2 = input
        .iter()
        .filter(|r| or(Some(r.b.is_none()), r.b.map(|b| b % 3 == 0)) == Some(true))
        .map(|r| {
            (
                r.id,
                r.b.unwrap_or(-1),
                r.name.to_uppercase(),
                r.name.chars().count() as i32,
            )
        })
        .collect();
    let q3 = input
        .iter()
        .filter(|r| {
            let in_list = r.tag.as_ref().map(|t| t == "x" || t == "y");
            or(Some(r.name.starts_with('a')), in_list) == Some(true)
        })
        .map(|r| {
            let sign = if r.a < 0 {
                "neg"
            } else if r.a == 0 {
                "zero"
            } else {
                "pos"
            };
            (r.id, sign.to_string(), r.tag.clone())
        })
        .collect();
    let q4 = input
        .iter()
        .filter(|r| {
            let between = Some((-5..=5).contains(&r.a));
            and(not(cmp(r.b, Some(5), |b, c| b > c)), between) == Some(true)
        })
        .map(|r| r.id)
        .collect();
    let q5 = input
        .iter()
        .map(|r| {
            let mid: String = r.name.chars().skip(1).take(2).collect();
            let positive = r.b.filter(|b| *b > 0);
            (
                r.id,
                f64::from(r.a) / 2.0,
                mid,
                format!("{}!", r.name),
                positive,
            )
        })
        .collect();
    Results { q1, q2, q3, q4, q5 }
}

fn run_queries(input: &[Record], workers: u64) -> Results {
    let (q1, q2, q3, q4, q5) = (
        Collector::new(),
        Collector::new(),
        Collector::new(),
        Collector::new(),
        Collector::new(),
    );
    let data = input.to_vec();
    tidemill::run(
        Args::with_workers(workers),
        stream! {
            let t = from_collection(data).assign_timestamps(|r| r.ts, out_of_orderness = 1s);
            sql!("SELECT id, a + 1 AS a1, x * 2 AS x2 FROM t WHERE a > 10 AND x <= 50.5")
                .map(|r| (r.id, r.a1, r.x2))
                .collect(q1);
            sql!("SELECT id, COALESCE(b, -1) AS b, UPPER(name) AS up, CHAR_LENGTH(name) AS len
                  FROM t WHERE b IS NULL OR b % 3 = 0")
                .map(|r| (r.id, r.b, r.up, r.len))
                .collect(q2);
            sql!("SELECT id, CASE WHEN a < 0 THEN 'neg' WHEN a = 0 THEN 'zero' ELSE 'pos' END AS sign, tag
                  FROM t WHERE name LIKE 'a%' OR tag IN ('x', 'y')")
                .map(|r| (r.id, r.sign, r.tag))
                .collect(q3);
            sql!("SELECT * FROM t AS r WHERE NOT (r.b > 5) AND r.a BETWEEN -5 AND 5")
                .map(|r| r.id)
                .collect(q4);
            sql!("SELECT id, CAST(a AS DOUBLE) / 2 AS half, SUBSTRING(name FROM 2 FOR 2) AS mid,
                         name || '!' AS bang, CASE WHEN b > 0 THEN b END AS pos_b
                  FROM t")
                .map(|r| (r.id, r.half, r.mid, r.bang, r.pos_b))
                .collect(q5);
        },
    )
    .unwrap();
    Results {
        q1: by_id(q1.take(), |r| r.0),
        q2: by_id(q2.take(), |r| r.0),
        q3: by_id(q3.take(), |r| r.0),
        q4: by_id(q4.take(), |r| *r),
        q5: by_id(q5.take(), |r| r.0),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn queries_match_the_model(input in records()) {
        let want = model(&input);
        for workers in [1, 2, 4] {
            prop_assert_eq!(&run_queries(&input, workers), &want, "at -w {}", workers);
        }
    }
}

#[test]
fn the_seeds_fraud_query_prints_flink_rows() {
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Transaction {
        transaction_id: u64,
        amount: f64,
        timestamp: u64,
    }
    let data = vec![
        Transaction {
            transaction_id: 1,
            amount: 1500.0,
            timestamp: 1_000,
        },
        Transaction {
            transaction_id: 2,
            amount: 999.99,
            timestamp: 2_000,
        },
        Transaction {
            transaction_id: 3,
            amount: 1000.01,
            timestamp: 3_000,
        },
    ];
    let rows = Collector::new();
    tidemill::run(
        Args::with_workers(2),
        stream! {
            let transactions = from_collection(data);
            sql!("SELECT transaction_id, amount, timestamp FROM transactions WHERE amount > 1000")
                .map(|row| row.to_string())
                .collect(rows);
        },
    )
    .unwrap();
    let mut rows = rows.take();
    rows.sort();
    assert_eq!(rows, ["+I[1, 1500.0, 1000]", "+I[3, 1000.01, 3000]"]);
}

#[test]
fn results_go_into_a_named_struct() {
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Alert {
        id: u64,
        doubled: f64,
        label: String,
    }
    let data = vec![(1u64, 2.5f64), (2, 0.5)];
    let alerts = Collector::new();
    tidemill::run(
        Args::with_workers(1),
        stream! {
            let pairs = from_collection(data.into_iter().map(|(id, v)| Record {
                id, a: 0, b: None, x: v, name: String::new(), tag: None, ts: 0,
            }).collect::<Vec<_>>());
            sql!("SELECT id, x * 2 AS doubled, 'big' AS label FROM pairs WHERE x > 1", row = Alert)
                .collect(alerts);
        },
    )
    .unwrap();
    assert_eq!(
        alerts.take(),
        [Alert {
            id: 1,
            doubled: 5.0,
            label: "big".into()
        }]
    );
}

#[test]
fn time_functions_read_event_time_columns_in_utc() {
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Event {
        id: u64,
        ts: u64,
        at: Option<i64>,
    }
    // The expected values are Python's `datetime` in UTC for the same instants.
    let data = vec![
        Event {
            id: 1,
            ts: 1_546_273_758_491,
            at: Some(1_700_000_000_000),
        },
        Event {
            id: 2,
            ts: 0,
            at: None,
        },
    ];
    let rows = Collector::new();
    tidemill::run(
        Args::with_workers(2),
        stream! {
            let events = from_collection(data);
            sql!("SELECT id, EXTRACT(YEAR FROM ts) AS y, EXTRACT(WEEK FROM ts) AS w, EXTRACT(DOW FROM ts) AS dow,
                         EXTRACT(HOUR FROM at) AS h, DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS') AS stamp,
                         DATE_FORMAT(at, 'yyyy-MM-dd HH:mm') AS later
                  FROM events")
                .map(|r| r.to_string())
                .collect(rows);
        },
    )
    .unwrap();
    let mut rows = rows.take();
    rows.sort();
    assert_eq!(
        rows,
        [
            "+I[1, 2018, 1, 2, 22, 2018-12-31 16:29:18.491, 2023-11-14 22:13]",
            "+I[2, 1970, 1, 5, null, 1970-01-01 00:00:00.000, null]",
        ]
    );
}
