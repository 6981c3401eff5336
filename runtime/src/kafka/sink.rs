//! The Kafka sink: `kafka_sink(brokers, topic)`.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::format::{Encode, Json};
use crate::sinks::SinkSpec;

/// A sink writing records to a Kafka topic, encoded with `E` (JSON by default), keyed by
/// `K` (no key by default: librdkafka spreads the records over the partitions).
///
/// - The producer is idempotent with `acks=all`: a retried send is never written twice,
///   and a record counts as delivered only once all in-sync replicas have it.
/// - A record that cannot be delivered (after librdkafka's retries, within
///   `delivery.timeout.ms`, 30 s here) fails the job with the broker's reason; records
///   are never dropped silently.
/// - Everything is flushed before the job ends: the sink holds the job open until the
///   broker has acknowledged every record.
pub struct KafkaSink<T, E = Json, K = NoKey> {
    brokers: String,
    topic: String,
    encoder: E,
    key: K,
    properties: Vec<(String, String)>,
    _t: PhantomData<fn(T)>,
}

/// No key.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoKey;

/// How a [`KafkaSink`] keys its records.
pub trait KeyOf<T>: Clone + 'static {
    /// Appends the key of `record` to `out`; `false` for no key.
    fn key(&self, record: &T, out: &mut Vec<u8>) -> bool;
}

impl<T> KeyOf<T> for NoKey {
    fn key(&self, _: &T, _: &mut Vec<u8>) -> bool {
        false
    }
}

/// A key function: its result's `to_string()` is the key (UTF-8).
#[derive(Clone)]
pub struct KeyFn<F>(F);

impl<T, F, V> KeyOf<T> for KeyFn<F>
where
    F: Fn(&T) -> V + Clone + 'static,
    V: std::fmt::Display,
{
    fn key(&self, record: &T, out: &mut Vec<u8>) -> bool {
        use std::io::Write;
        let _ = write!(out, "{}", (self.0)(record));
        true
    }
}

/// A sink of JSON records to `topic` at `brokers` (`host:port[,host:port...]`).
pub fn kafka_sink<T>(brokers: &str, topic: &str) -> KafkaSink<T, Json, NoKey>
where
    Json: Encode<T>,
{
    KafkaSink {
        brokers: brokers.to_string(),
        topic: topic.to_string(),
        encoder: Json,
        key: NoKey,
        properties: Vec::new(),
        _t: PhantomData,
    }
}

impl<T, E, K> KafkaSink<T, E, K> {
    /// Encodes records with `encoder` ([`crate::format::Csv`], [`crate::format::Text`],
    /// [`crate::format::Bytes`]...).
    pub fn format<E2: Encode<T>>(self, encoder: E2) -> KafkaSink<T, E2, K> {
        KafkaSink {
            brokers: self.brokers,
            topic: self.topic,
            encoder,
            key: self.key,
            properties: self.properties,
            _t: PhantomData,
        }
    }

    /// Keys each record by `key(&record).to_string()`: records of one key go to one
    /// partition, in order. Name the type: `.key(|t: &Alert| t.account)`.
    pub fn key<F, V>(self, key: F) -> KafkaSink<T, E, KeyFn<F>>
    where
        F: Fn(&T) -> V + Clone + 'static,
        V: std::fmt::Display,
    {
        KafkaSink {
            brokers: self.brokers,
            topic: self.topic,
            encoder: self.encoder,
            key: KeyFn(key),
            properties: self.properties,
            _t: PhantomData,
        }
    }

    /// Any librdkafka producer property, e.g. `property("linger.ms", "20")`.
    pub fn property(mut self, key: &str, value: &str) -> Self {
        self.properties.push((key.to_string(), value.to_string()));
        self
    }
}

/// Delivery reports: the first failure, kept for the sink to fail the job with.
#[derive(Clone, Default)]
struct Deliveries {
    failure: Arc<Mutex<Option<String>>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
            failure.get_or_insert_with(|| e.to_string());
        }
    }
}

/// A sink error naming the topic and brokers.
fn sink_error(topic: &str, brokers: &str, what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Connector(format!(
        "kafka sink to topic `{topic}` at `{brokers}`: {what}: {e}"
    ))
}

impl<T, E, K> KafkaSink<T, E, K> {
    fn producer(&self) -> Result<BaseProducer<Deliveries>> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("delivery.timeout.ms", "30000")
            .set("linger.ms", "5");
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
            .create_with_context(Deliveries::default())
            .map_err(|e| sink_error(&self.topic, &self.brokers, "cannot create a producer", &e))
    }
}

/// How long the sink waits for the last acknowledgements before it fails the job.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

impl<T: 'static, E: Encode<T>, K: KeyOf<T>> SinkSpec<T> for KafkaSink<T, E, K> {
    fn build(&self, stream: StreamVec<'_, u64, T>, context: &JobContext) {
        let context = context.clone();
        let mut producer = match self.producer() {
            Ok(p) => Some(p),
            Err(e) => {
                context.fail(e);
                None
            }
        };
        let (mut encoder, key) = (self.encoder.clone(), self.key.clone());
        let topic = self.topic.clone();
        let (mut value, mut key_bytes) = (Vec::new(), Vec::new());
        let fail = {
            let (topic, brokers) = (self.topic.clone(), self.brokers.clone());
            move |what: &str, e: &dyn std::fmt::Display| sink_error(&topic, &brokers, what, e)
        };
        stream.sink(Pipeline, "kafka_sink", move |(input, frontier)| {
            let Some(p) = producer.as_ref() else {
                input.for_each(|_, data| data.clear());
                return;
            };
            let mut failed = None;
            input.for_each(|_time, data| {
                if failed.is_some() {
                    data.clear();
                    return;
                }
                for record in data.drain(..) {
                    value.clear();
                    key_bytes.clear();
                    if let Err(reason) = encoder.encode(&record, &mut value) {
                        failed = Some(fail("cannot encode a record", &reason));
                        return;
                    }
                    let keyed = key.key(&record, &mut key_bytes);
                    loop {
                        let mut message = BaseRecord::to(&topic).payload(&value[..]);
                        if keyed {
                            message = message.key(&key_bytes[..]);
                        }
                        match p.send(message) {
                            Ok(()) => break,
                            Err((
                                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                                _,
                            )) => {
                                // The local queue is full: serve delivery reports, then retry.
                                p.poll(Duration::from_millis(10));
                            }
                            Err((e, _)) => {
                                failed = Some(fail("cannot send a record", &e));
                                return;
                            }
                        }
                    }
                }
            });
            p.poll(Duration::ZERO);
            let delivery_failure = p
                .context()
                .failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(reason) = delivery_failure {
                failed = Some(fail("a record was not delivered", &reason));
            }
            if failed.is_none() && frontier.is_empty() {
                // The input is complete: wait until the broker has every record.
                if let Err(e) = p.flush(FLUSH_TIMEOUT) {
                    failed = Some(fail("cannot flush", &e));
                } else if let Some(reason) = p
                    .context()
                    .failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                {
                    failed = Some(fail("a record was not delivered", &reason));
                }
                producer = None;
            }
            if let Some(e) = failed {
                context.fail(e);
                producer = None;
            }
        });
    }
}
