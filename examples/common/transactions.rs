//! Shared by the transaction examples: the record and its JSON-lines parser.

use tidemill::prelude::*;

/// A card transaction, as in Flink's fraud detection walkthrough.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    pub transaction_id: u64,
    pub account_id: u64,
    pub amount: f64,
    /// Event time, ms since the Unix epoch.
    pub timestamp: u64,
}

/// A line of the input: the transaction, or why it is not one (with the line itself).
#[allow(
    dead_code,
    reason = "the examples that read through a JSON source do not parse lines"
)]
pub fn parse(line: &str) -> Result<Transaction, String> {
    serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))
}

/// The bundled sample: `examples/data/transactions.jsonl`.
pub fn sample() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/transactions.jsonl")
}

/// Produces the bundled sample to the Kafka topic `topic`, with one malformed record in
/// the middle (for the dead letters), and returns how many records it produced: the
/// `--setup` of the Kafka transaction examples.
#[cfg(feature = "kafka")]
#[allow(dead_code, reason = "only the Kafka examples produce the sample")]
pub fn produce_sample(brokers: &str, topic: &str) -> Result<usize, Box<dyn std::error::Error>> {
    use tidemill::kafka::admin::one_per_batch;
    let mut lines: Vec<String> = std::fs::read_to_string(sample())?
        .lines()
        .map(str::to_string)
        .collect();
    lines.insert(
        lines.len() / 2,
        "{\"transaction_id\": 99, \"amount\": oops}".to_string(),
    );
    let count = lines.len();
    let (brokers, topic) = (brokers.to_string(), topic.to_string());
    tidemill::run(
        Args::with_workers(1),
        stream! {
            from_collection(lines)
                .sink(one_per_batch(kafka_sink(&brokers, &topic).format(Text).key(|l: &String| l.len())));
        },
    )?;
    Ok(count)
}
