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
pub fn parse(line: &str) -> Result<Transaction, String> {
    serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))
}

/// The bundled sample: `examples/data/transactions.jsonl`.
pub fn sample() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/transactions.jsonl")
}
