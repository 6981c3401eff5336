//! The Kafka sink: `kafka_sink(brokers, topic)`.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::format::{Encode, Json};
use crate::sinks::{write_with, SinkSpec, Writer, Written};
use crate::time::Time;

/// A sink writing records to a Kafka topic, encoded with `E` (JSON by default), keyed by
/// `K` (no key by default: librdkafka spreads the records over the partitions).
///
/// - The producer is idempotent with `acks=all`: a retried send is never written twice,
///   and a record counts as delivered only once all in-sync replicas have it.
/// - A record that cannot be delivered (after librdkafka's retries, within
///   `delivery.timeout.ms`, 30 s here) fails the job with the broker's reason; records
///   are never dropped silently.
/// - The sink waits for the broker's acknowledgements within a second of sending, and
///   before the job ends; until then it holds the records' times back in its
///   [`Written`] stream, so a Kafka source commits only offsets whose results the broker
///   has.
pub struct KafkaSink<T, E = Json, K = NoKey> {
    brokers: String,
    topic: String,
    encoder: E,
    key: K,
    properties: Vec<(String, String)>,
    _t: PhantomData<fn(T)>,
}

/// The DSL's `.kafka_sink(brokers, topic, format, key = |r| ..)`: `spec` keyed by `key`,
/// whose argument is typed by the records of `stream`, so the closure needs no type.
#[doc(hidden)]
pub fn keyed_like<T, E: Clone, K, F, V>(
    _stream: &StreamVec<'_, Time, T>,
    spec: &KafkaSink<T, E, K>,
    key: F,
) -> KafkaSink<T, E, KeyFn<F>>
where
    F: Fn(&T) -> V + Clone + 'static,
    V: std::fmt::Display,
{
    spec.keyed(KeyFn(key))
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
        E: Clone,
    {
        self.keyed(KeyFn(key))
    }

    /// This sink's settings with `key`.
    fn keyed<K2>(&self, key: K2) -> KafkaSink<T, E, K2>
    where
        E: Clone,
    {
        KafkaSink {
            brokers: self.brokers.clone(),
            topic: self.topic.clone(),
            encoder: self.encoder.clone(),
            key,
            properties: self.properties.clone(),
            _t: PhantomData,
        }
    }

    /// Any librdkafka producer property, e.g. `property("linger.ms", "20")`.
    pub fn property(mut self, key: &str, value: &str) -> Self {
        self.properties.push((key.to_string(), value.to_string()));
        self
    }

    /// Several producer properties: `properties([("linger.ms", "20"), ("acks", "all")])`.
    pub fn properties<P, V>(mut self, properties: impl IntoIterator<Item = (P, V)>) -> Self
    where
        P: AsRef<str>,
        V: AsRef<str>,
    {
        for (key, value) in properties {
            self = self.property(key.as_ref(), value.as_ref());
        }
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

/// How long one wait for acknowledgements lasts before the sink looks for failures.
const FLUSH_STEP: Duration = Duration::from_secs(1);

/// How long a sent record may wait before the sink waits for its acknowledgement (and a
/// delivery failure is noticed): a source that commits what it read waits for that.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

impl<T: 'static, E: Encode<T>, K: KeyOf<T>> SinkSpec<T> for KafkaSink<T, E, K> {
    fn build<'scope>(
        &self,
        stream: StreamVec<'scope, Time, T>,
        context: &JobContext,
    ) -> Written<'scope> {
        let writer = self.producer().map(|producer| Sender {
            producer,
            encoder: self.encoder.clone(),
            key: self.key.clone(),
            topic: self.topic.clone(),
            brokers: self.brokers.clone(),
            value: Vec::new(),
            key_bytes: Vec::new(),
        });
        write_with(stream, "kafka_sink", context, writer, FLUSH_INTERVAL)
    }
}

/// One worker's producer.
struct Sender<E, K> {
    producer: BaseProducer<Deliveries>,
    encoder: E,
    key: K,
    topic: String,
    brokers: String,
    value: Vec<u8>,
    key_bytes: Vec<u8>,
}

impl<E, K> Sender<E, K> {
    fn error(&self, what: &str, e: &dyn std::fmt::Display) -> Error {
        sink_error(&self.topic, &self.brokers, what, e)
    }

    /// The first delivery failure reported so far, as the job's error.
    fn delivered(&self) -> Result<()> {
        let failure = self.producer.context().failure.lock();
        match failure.unwrap_or_else(|e| e.into_inner()).take() {
            Some(reason) => Err(self.error("a record was not delivered", &reason)),
            None => Ok(()),
        }
    }
}

impl<T, E: Encode<T>, K: KeyOf<T>> Writer<T> for Sender<E, K> {
    fn write(&mut self, batch: &mut Vec<T>) -> Result<()> {
        for record in batch.drain(..) {
            self.value.clear();
            self.key_bytes.clear();
            if let Err(reason) = self.encoder.encode(&record, &mut self.value) {
                return Err(self.error("cannot encode a record", &reason));
            }
            let keyed = self.key.key(&record, &mut self.key_bytes);
            loop {
                let mut message = BaseRecord::to(&self.topic).payload(&self.value[..]);
                if keyed {
                    message = message.key(&self.key_bytes[..]);
                }
                match self.producer.send(message) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        // The local queue is full: serve delivery reports, then retry.
                        self.producer.poll(Duration::from_millis(10));
                    }
                    Err((e, _)) => return Err(self.error("cannot send a record", &e)),
                }
            }
        }
        self.producer.poll(Duration::ZERO);
        self.delivered()
    }

    fn flush(&mut self) -> Result<()> {
        // Until every record is acknowledged or has failed: librdkafka fails a record
        // after `delivery.timeout.ms`, so a slow broker makes this wait, not fail.
        loop {
            match self.producer.flush(FLUSH_STEP) {
                Ok(()) => return self.delivered(),
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => self.delivered()?,
                Err(e) => return Err(self.error("cannot flush", &e)),
            }
        }
    }
}
