//! Shared by the examples and tests that produce to the local test broker.

/// The local broker of `scripts/kafka.sh` (tansu, in-memory) advances a partition's end
/// offset once per produced batch, not per record, so a bounded read (`until_end`) would
/// stop short of records sent in multi-record batches: send one record per batch. It
/// then takes a few thousand records per second, so a large input waits in the
/// producer's queue for longer than the default 30 s delivery timeout: allow 10 minutes.
/// A real Kafka broker needs none of this.
pub fn one_per_batch<T, E, K>(
    sink: tidemill::kafka::KafkaSink<T, E, K>,
) -> tidemill::kafka::KafkaSink<T, E, K> {
    sink.properties(ONE_PER_BATCH)
}

/// The properties of [`one_per_batch`], for `kafka_sink(.., properties = ONE_PER_BATCH)`.
#[allow(dead_code, reason = "not every user of this file names them")]
pub const ONE_PER_BATCH: [(&str, &str); 3] = [
    ("batch.num.messages", "1"),
    ("linger.ms", "0"),
    ("delivery.timeout.ms", "600000"),
];
