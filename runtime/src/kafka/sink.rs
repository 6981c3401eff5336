//! The Kafka sink: `kafka_sink(brokers, topic)`.

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::format::{Encode, Json};
use crate::sinks::exactly_once::{write_transactional, Transactional};
use crate::sinks::{write_with, SinkSpec, Writer, Written};
use crate::time::Time;
use serde::{Deserialize, Serialize};

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
        if crate::checkpoint::worker().is_some() {
            let index = stream.scope().index();
            let epochs = writer.map(|sender| EpochRecords {
                sender,
                worker: index as u64,
                sink: String::new(),
                open: BTreeMap::new(),
                pending: Vec::new(),
                present: HashSet::new(),
            });
            return write_transactional(stream, "kafka_sink", context, epochs);
        }
        write_with(stream, "kafka_sink", context, writer, FLUSH_INTERVAL)
    }
}

/// An updating SQL query's changelog as Flink's upsert-kafka writes it: each `+I`/`+U`
/// row as a record keyed by the query's key columns (a JSON object of them, in the
/// `GROUP BY`'s order), each `-D` as a tombstone of its key (no value), `-U` not at all.
/// The last record of a key is the row's current value; a compacted topic keeps just
/// it. The key comes from the query, so the DSL's `key = ..` is not given.
impl<T, E, K> crate::sql::changelog::ChangelogSink<T> for KafkaSink<T, E, K>
where
    T: Serialize + 'static,
    E: Encode<T>,
{
    fn build_changelog<'scope>(
        &self,
        changes: StreamVec<'scope, Time, crate::sql::changelog::Change<T>>,
        key: &[&str],
        context: &JobContext,
    ) -> Written<'scope> {
        let writer = if key.is_empty() {
            Err(sink_error(
                &self.topic,
                &self.brokers,
                "an updating query's rows need its key",
                &"project every GROUP BY column",
            ))
        } else {
            self.producer().map(|producer| Upserts {
                sender: Sender {
                    producer,
                    encoder: self.encoder.clone(),
                    key: NoKey,
                    topic: self.topic.clone(),
                    brokers: self.brokers.clone(),
                    value: Vec::new(),
                    key_bytes: Vec::new(),
                },
                key: key.iter().map(|k| k.to_string()).collect(),
            })
        };
        write_with(changes, "kafka_sink", context, writer, FLUSH_INTERVAL)
    }
}

/// The upsert-kafka writer of [`ChangelogSink`](crate::sql::changelog::ChangelogSink).
struct Upserts<E> {
    sender: Sender<E, NoKey>,
    /// The key columns.
    key: Vec<String>,
}

impl<E> Upserts<E> {
    /// `{"a":1,"b":"x"}` of the key columns of `row`.
    fn key_of<T: Serialize>(&self, row: &T, out: &mut Vec<u8>) -> Result<()> {
        let value = serde_json::to_value(row)
            .map_err(|e| self.sender.error("cannot encode a row's key", &e))?;
        out.push(b'{');
        for (i, column) in self.key.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let field = value.get(column).ok_or_else(|| {
                self.sender
                    .error("cannot key a row", &format!("it has no column `{column}`"))
            })?;
            serde_json::to_writer(&mut *out, column)
                .and_then(|()| {
                    out.push(b':');
                    serde_json::to_writer(&mut *out, field)
                })
                .map_err(|e| self.sender.error("cannot encode a row's key", &e))?;
        }
        out.push(b'}');
        Ok(())
    }
}

impl<T: Serialize, E: Encode<T>> Writer<crate::sql::changelog::Change<T>> for Upserts<E> {
    fn write(&mut self, batch: &mut Vec<crate::sql::changelog::Change<T>>) -> Result<()> {
        use crate::sql::changelog::RowKind;
        let mut key = Vec::new();
        for change in batch.drain(..) {
            if change.kind == RowKind::UpdateBefore {
                continue;
            }
            key.clear();
            self.key_of(&change.row, &mut key)?;
            if change.kind == RowKind::Delete {
                self.sender.send_value(Some(&key), None, None)?;
                continue;
            }
            let sender = &mut self.sender;
            sender.value.clear();
            if let Err(reason) = sender.encoder.encode(&change.row, &mut sender.value) {
                return Err(sender.error("cannot encode a row", &reason));
            }
            sender.send_value(Some(&key), Some(&sender.value), None)?;
        }
        self.sender.producer.poll(Duration::ZERO);
        self.sender.delivered()
    }

    fn flush(&mut self) -> Result<()> {
        self.sender.wait()
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

impl<E, K> Sender<E, K> {
    /// Sends one record, waiting while librdkafka's queue is full.
    fn send(&self, key: Option<&[u8]>, value: &[u8], headers: Option<OwnedHeaders>) -> Result<()> {
        self.send_value(key, Some(value), headers)
    }

    /// Sends one record, or with no value a tombstone (upsert-kafka's delete of `key`).
    fn send_value(
        &self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> Result<()> {
        let mut headers = headers;
        loop {
            let mut message = BaseRecord::<[u8], [u8]>::to(&self.topic);
            if let Some(value) = value {
                message = message.payload(value);
            }
            if let Some(key) = key {
                message = message.key(key);
            }
            if let Some(h) = headers.take() {
                message = message.headers(h);
            }
            match self.producer.send(message) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The local queue is full: serve delivery reports, then retry.
                    headers = back.headers;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(self.error("cannot send a record", &e)),
            }
        }
    }

    /// Waits until every record sent is acknowledged, or fails with the first that was
    /// not delivered.
    fn wait(&self) -> Result<()> {
        // librdkafka fails a record after `delivery.timeout.ms`, so a slow broker makes
        // this wait, not fail.
        loop {
            match self.producer.flush(FLUSH_STEP) {
                Ok(()) => return self.delivered(),
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => self.delivered()?,
                Err(e) => return Err(self.error("cannot flush", &e)),
            }
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
            let key = keyed.then_some(&self.key_bytes[..]);
            self.send(key, &self.value, None)?;
        }
        self.producer.poll(Duration::ZERO);
        self.delivered()
    }

    fn flush(&mut self) -> Result<()> {
        self.wait()
    }
}

/// A record encoded for the topic: its key (if keyed) and value.
#[derive(Serialize, Deserialize)]
struct Encoded {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

/// An epoch prepared and not yet sent: where its records can be looked for (each
/// partition's end when it was prepared: they were sent after) and the records.
#[derive(Serialize, Deserialize)]
struct PendingEpoch {
    epoch: u64,
    from: Vec<(i32, i64)>,
    records: Vec<Encoded>,
}

/// The headers that name a record in an exactly-once sink: the sink (the topic and the
/// sink operator), the worker, the epoch and the record's place in it.
const HEADERS: [&str; 4] = [
    "tidemill.sink",
    "tidemill.worker",
    "tidemill.epoch",
    "tidemill.seq",
];

/// With checkpoints, a worker keeps each epoch's records (in the checkpoint, once
/// prepared) and sends them when the checkpoint covering the epoch completes, each
/// stamped with [`HEADERS`]. The local broker has no transactions, so a sink restored
/// to a checkpoint whose epochs it may have been sending when it stopped first reads
/// what its partitions received since those epochs were prepared, and skips the records
/// already there: every record reaches the topic once, and only once its checkpoint is
/// complete.
struct EpochRecords<E, K> {
    sender: Sender<E, K>,
    worker: u64,
    sink: String,
    open: BTreeMap<u64, Vec<Encoded>>,
    pending: Vec<PendingEpoch>,
    /// `(epoch, seq)` of this worker's records found in the topic on recovery.
    present: HashSet<(u64, u64)>,
}

/// How long a call to the broker for metadata or offsets may take.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

impl<E, K> EpochRecords<E, K> {
    /// Each partition of the topic with its end offset now (the broker's high
    /// watermark; one that lags only makes recovery read more).
    fn ends(&self) -> Result<Vec<(i32, i64)>> {
        let client = self.sender.producer.client();
        let topic = &self.sender.topic;
        let metadata = client
            .fetch_metadata(Some(topic), BROKER_TIMEOUT)
            .map_err(|e| self.sender.error("cannot read the topic's partitions", &e))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        partitions
            .into_iter()
            .map(|p| {
                let (_, high) = client
                    .fetch_watermarks(topic, p, BROKER_TIMEOUT)
                    .map_err(|e| self.sender.error("cannot read a partition's end", &e))?;
                Ok((p, high))
            })
            .collect()
    }

    /// The `(epoch, seq)` of this worker's records in the topic at or after `from`.
    fn read_present(&self, from: &BTreeMap<i32, i64>) -> Result<HashSet<(u64, u64)>> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::message::{Headers, Message};
        let mut present = HashSet::new();
        if from.is_empty() {
            return Ok(present);
        }
        let error = |what: &str, e: &dyn std::fmt::Display| self.sender.error(what, e);
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.sender.brokers)
            .set("group.id", format!("tidemill-recovery-{}", self.sink))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .map_err(|e| error("cannot create a consumer to recover", &e))?;
        let mut list = rdkafka::TopicPartitionList::new();
        for (&p, &offset) in from {
            list.add_partition_offset(&self.sender.topic, p, rdkafka::Offset::Offset(offset))
                .map_err(|e| error("cannot recover", &e))?;
        }
        consumer
            .assign(&list)
            .map_err(|e| error("cannot read the topic to recover", &e))?;
        let (sink, worker) = (self.sink.as_bytes(), self.worker.to_string());
        let mut open: HashSet<i32> = from.keys().copied().collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !open.is_empty() {
            if std::time::Instant::now() > deadline {
                return Err(error(
                    "cannot recover",
                    &"the topic's tail did not arrive within 2 minutes",
                ));
            }
            let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let message = match message {
                Ok(m) => m,
                Err(KafkaError::PartitionEOF(p)) => {
                    open.remove(&p);
                    continue;
                }
                Err(e) => return Err(error("cannot read the topic to recover", &e)),
            };
            let Some(headers) = message.headers() else {
                continue;
            };
            let mut found: [Option<&[u8]>; 4] = [None; 4];
            for header in headers.iter() {
                if let Some(i) = HEADERS.iter().position(|h| *h == header.key) {
                    found[i] = header.value;
                }
            }
            let number = |v: Option<&[u8]>| std::str::from_utf8(v?).ok()?.parse::<u64>().ok();
            if found[0] == Some(sink) && found[1] == Some(worker.as_bytes()) {
                if let (Some(epoch), Some(seq)) = (number(found[2]), number(found[3])) {
                    present.insert((epoch, seq));
                }
            }
        }
        Ok(present)
    }
}

impl<T, E: Encode<T>, K: KeyOf<T>> Transactional<T> for EpochRecords<E, K> {
    fn write(&mut self, epoch: u64, batch: &mut Vec<T>) -> Result<()> {
        let records = self.open.entry(epoch).or_default();
        let sender = &mut self.sender;
        for record in batch.drain(..) {
            let mut value = Vec::new();
            if let Err(reason) = sender.encoder.encode(&record, &mut value) {
                return Err(sender.error("cannot encode a record", &reason));
            }
            sender.key_bytes.clear();
            let key = sender
                .key
                .key(&record, &mut sender.key_bytes)
                .then(|| sender.key_bytes.clone());
            records.push(Encoded { key, value });
        }
        Ok(())
    }

    fn prepare(&mut self, before: u64) -> Result<Vec<u8>> {
        let later = match before {
            u64::MAX => BTreeMap::new(),
            _ => self.open.split_off(&before),
        };
        let prepared = std::mem::replace(&mut self.open, later);
        if !prepared.is_empty() {
            let from = self.ends()?;
            for (epoch, records) in prepared {
                let from = from.clone();
                self.pending.push(PendingEpoch {
                    epoch,
                    from,
                    records,
                });
            }
        }
        Ok(crate::checkpoint::encode(&self.pending))
    }

    fn commit(&mut self, checkpoint: u64) -> Result<()> {
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.epoch <= checkpoint);
        self.pending = kept;
        if due.is_empty() {
            return Ok(());
        }
        let worker = self.worker.to_string();
        for epoch in &due {
            let epoch_text = epoch.epoch.to_string();
            for (seq, record) in epoch.records.iter().enumerate() {
                if self.present.contains(&(epoch.epoch, seq as u64)) {
                    continue;
                }
                let seq = seq.to_string();
                let values = [self.sink.as_str(), &worker, &epoch_text, &seq];
                let mut headers = OwnedHeaders::new_with_capacity(4);
                for (key, value) in HEADERS.iter().zip(values) {
                    headers = headers.insert(Header {
                        key,
                        value: Some(value.as_bytes()),
                    });
                }
                self.sender
                    .send(record.key.as_deref(), &record.value, Some(headers))?;
            }
        }
        // Sent is not enough: a later checkpoint no longer holds these epochs.
        self.sender.wait()
    }

    fn act_as(&mut self, worker: usize) {
        self.worker = worker as u64;
    }

    fn recover(
        &mut self,
        sink: &str,
        pending: Option<&[u8]>,
        checkpoint: Option<u64>,
    ) -> Result<()> {
        self.sink = format!("{}:{sink}", self.sender.topic);
        let pending: Vec<PendingEpoch> = match pending {
            Some(bytes) => crate::checkpoint::decode_state(&self.sink, bytes)?,
            None => Vec::new(),
        };
        let Some(c) = checkpoint else { return Ok(()) };
        // Epochs after the checkpoint are written anew by this run; those up to it may
        // have been sent, wholly or in part, before the job stopped.
        self.pending = pending.into_iter().filter(|p| p.epoch <= c).collect();
        let mut from: BTreeMap<i32, i64> = BTreeMap::new();
        for (p, offset) in self.pending.iter().flat_map(|p| &p.from) {
            let at = from.entry(*p).or_insert(*offset);
            *at = (*at).min(*offset);
        }
        self.present = self.read_present(&from)?;
        let committed = Transactional::<T>::commit(self, c);
        self.present = HashSet::new();
        committed
    }
}
