//! Shared by the recommendation examples: the user action, its generator, and their
//! `--setup` (the topic, the table, the actions).
#![allow(
    dead_code,
    reason = "not every example that declares `common` uses actions"
)]

use tidemill::prelude::*;

/// A user action as the topic carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Action {
    pub user_id: u64,
    pub item_id: u64,
    pub action: String,
    /// Event time, ms since the Unix epoch.
    pub timestamp: u64,
}

/// The `i`-th generated action (deterministic: a hash of `i`), 10 ms after the one
/// before: 1000 users, 200 items, popular ones more often.
pub fn action(i: u64) -> Action {
    let h = tidemill::hash::route_hash(&i);
    let kinds = ["view", "click", "cart", "buy"];
    Action {
        user_id: h % 1000,
        // Squared: low item ids are popular.
        item_id: ((h >> 20) % 200).pow(2) / 200,
        action: kinds[(h >> 40) as usize % 4].to_string(),
        timestamp: 1_700_000_000_000 + i * 10,
    }
}

/// The topic (4 partitions), the table of counts keyed by `(user_id, item_id)`, and `n`
/// actions produced to the topic.
#[cfg(all(feature = "kafka", feature = "postgres"))]
pub fn setup(
    brokers: &str,
    topic: &str,
    postgres: &str,
    table: &str,
    n: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    use tidemill::kafka::admin::{create_topic, one_per_batch};
    create_topic(brokers, topic, 4)?;
    let mut db =
        tidemill::postgres::client::Client::connect(postgres, tidemill::postgres::client::NoTls)?;
    db.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (user_id bigint, item_id bigint, \
         count bigint NOT NULL, PRIMARY KEY (user_id, item_id))"
    ))?;
    let actions: Vec<Action> = (0..n).map(action).collect();
    let (brokers, topic) = (brokers.to_string(), topic.to_string());
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_collection(actions)
                .sink(one_per_batch(kafka_sink(&brokers, &topic).key(|a: &Action| a.user_id)));
        },
    )?;
    eprintln!("produced {n} actions to {topic}");
    Ok(())
}
