//! Kafka through librdkafka (`rdkafka`): a partitioned, optionally bounded source with
//! committed offsets ([`kafka`]) and an idempotent sink ([`kafka_sink`]). Timestamps
//! assigned on the source are watermarked per partition (the source's watermark is the
//! least over its partitions; see [`crate::time::BoundedOutOfOrderness`]).
//!
//! ```text
//! let txns = from_source(kafka::<Txn>("localhost:9092", "txns").group_id("fraud"));
//! txns.filter(|t| t.amount > 1000.0)
//!     .sink(kafka_sink("localhost:9092", "alerts").key(|t: &Txn| t.transaction_id));
//! ```

/// The rdkafka crate this connector is built on, for Kafka clients of your own (admin,
/// producers and consumers in tests and tools).
pub use rdkafka;

pub mod admin;
mod offsets;
mod sink;
mod source;

pub use sink::{kafka_sink, keyed_like, KafkaSink, KeyFn, KeyOf, NoKey};
pub use source::{kafka, KafkaReader, KafkaRecord, KafkaSource, Records, Shape, StartFrom, Values};
