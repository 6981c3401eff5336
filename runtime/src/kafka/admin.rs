//! Topic administration for tests, examples and set-up scripts: create and delete
//! topics through librdkafka's admin API, and producer settings for the local test
//! broker.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::error::{Error, Result};

/// Runs `future` to completion on this thread (the admin client's own thread completes it).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn admin(brokers: &str) -> Result<AdminClient<DefaultClientContext>> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| {
            Error::Connector(format!(
                "kafka at `{brokers}`: cannot create an admin client: {e}"
            ))
        })
}

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

/// Creates `topic` with `partitions` partitions (replication 1) at `brokers`; a topic that
/// exists already is left as it is. Returns once the broker's metadata shows every
/// partition with a leader (within 10 s), so that the first records produced find it.
pub fn create_topic(brokers: &str, topic: &str, partitions: i32) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Connector(format!(
            "kafka at `{brokers}`: cannot create topic `{topic}`: {e}"
        ))
    };
    let client = admin(brokers)?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = block_on(client.create_topics([&new], &options())).map_err(|e| fail(&e))?;
    // A topic that exists may have another number of partitions.
    let mut wanted = partitions.max(1) as usize;
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => wanted = 1,
            Err((_, code)) => return Err(fail(&code)),
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metadata = client
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        let ready = metadata.topics().iter().any(|t| {
            t.error().is_none()
                && t.partitions().len() >= wanted
                && t.partitions().iter().all(|p| p.leader() >= 0)
        });
        if ready {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(fail(&"its partitions have no leader after 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deletes `topic` at `brokers`; a topic that does not exist is no error.
pub fn delete_topic(brokers: &str, topic: &str) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Connector(format!(
            "kafka at `{brokers}`: cannot delete topic `{topic}`: {e}"
        ))
    };
    let client = admin(brokers)?;
    let results = block_on(client.delete_topics(&[topic], &options())).map_err(|e| fail(&e))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((_, code)) => return Err(fail(&code)),
        }
    }
    Ok(())
}

/// The local broker of `scripts/kafka.sh` (tansu, in-memory) advances a partition's end
/// offset once per produced batch, not per record, so a bounded read (`until_end`) would
/// stop short of records sent in multi-record batches: send one record per batch. It
/// then takes a few thousand records per second, so a large input waits in the
/// producer's queue for longer than the default 30 s delivery timeout: allow 10 minutes.
/// A real Kafka broker needs none of this.
///
/// The producer stays idempotent. tansu's idempotent produce can lose an acknowledged
/// record (it stores the sequence number before the record: a produce failing in
/// between is retried and answered `DuplicateSequenceNumber`, which counts as
/// delivered; nisshi-io/nisshi#742), rarely: CI lost one record of a few thousand a
/// few times. Its non-idempotent path lost records far more often here (2 of 14 runs
/// of `tests/kafka.rs`), so idempotence is kept.
pub fn one_per_batch<T, E, K>(
    sink: crate::kafka::KafkaSink<T, E, K>,
) -> crate::kafka::KafkaSink<T, E, K> {
    sink.properties(ONE_PER_BATCH)
}

/// The properties of [`one_per_batch`], for `kafka_sink(.., properties = ONE_PER_BATCH)`.
pub const ONE_PER_BATCH: [(&str, &str); 3] = [
    ("batch.num.messages", "1"),
    ("linger.ms", "0"),
    ("delivery.timeout.ms", "600000"),
];
