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
    sink.property("batch.num.messages", "1")
        .property("linger.ms", "0")
        .property("delivery.timeout.ms", "600000")
}
