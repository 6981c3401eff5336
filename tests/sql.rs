//! SQL in pipelines: `sql!("..")` over the pipeline's streams.

use tidemill::prelude::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    account_id: u64,
    amount: f64,
    timestamp: u64,
    note: Option<String>,
}

#[test]
fn smoke() {
    let data = vec![
        Transaction {
            transaction_id: 1,
            account_id: 7,
            amount: 1500.0,
            timestamp: 10,
            note: None,
        },
        Transaction {
            transaction_id: 2,
            account_id: 7,
            amount: 5.0,
            timestamp: 11,
            note: Some("x".into()),
        },
    ];
    let rows = Collector::new();
    let all = Collector::new();
    tidemill::run(
        Args::with_workers(2),
        stream! {
            let transactions = from_collection(data);
            let large = sql!("SELECT transaction_id, amount, timestamp, UPPER(COALESCE(note, 'none')) AS n, amount * 2 AS twice, CASE WHEN amount > 100 THEN 'big' ELSE 'small' END AS size FROM transactions WHERE amount > 1000");
            large.map(|r| r.to_string()).collect(rows);
            sql!("SELECT * FROM transactions WHERE note IS NOT NULL AND note LIKE 'x%'").collect(all);
        },
    )
    .unwrap();
    let rows = rows.take();
    assert_eq!(rows, ["+I[1, 1500.0, 10, NONE, 3000.0, big]"]);
    assert_eq!(all.take().len(), 1);
}
