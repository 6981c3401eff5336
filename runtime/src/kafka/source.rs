//! The Kafka source: `kafka::<T>(brokers, topic)`.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::offsets::{Commit, Offsets, PartitionOffsets};
use crate::dead_letter::{DeadLetter, Position};
use crate::error::{Error, Result};
use crate::format::{Decode, Json};
use crate::sources::{Read, Reader, SourceSpec, Status, TracksCompletion};

/// Where a Kafka source starts reading each partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// The oldest offset still in the partition.
    Earliest,
    /// The end: only records produced after the job starts.
    Latest,
    /// The group's committed offset; the earliest where the group has none.
    Committed,
    /// The first record with a timestamp at or after this many ms since the epoch.
    Timestamp(i64),
}

/// A record of a Kafka topic with its metadata: what `kafka(..).with_metadata()` reads.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaRecord<T> {
    /// The decoded value.
    pub value: T,
    /// The record's key, if it has one.
    pub key: Option<Vec<u8>>,
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Kafka's timestamp of the record (ms since the epoch), if it has one: use it as
    /// event time with `assign_timestamps(|r| r.timestamp.unwrap_or(0) as u64, ..)`.
    pub timestamp: Option<i64>,
}

/// What a Kafka source emits per record: the value, or the whole [`KafkaRecord`].
pub trait Shape<T>: 'static {
    /// The emitted item.
    type Item: 'static;
    /// The item for the record `message` whose value decoded to `value`.
    fn item<M: Message>(value: T, message: &M) -> Self::Item;
}

/// The records' values ([`KafkaSource`]'s default).
pub struct Values;

/// The records with their metadata ([`KafkaSource::with_metadata`]).
pub struct Records;

impl<T: 'static> Shape<T> for Values {
    type Item = T;
    #[inline]
    fn item<M: Message>(value: T, _: &M) -> T {
        value
    }
}

impl<T: 'static> Shape<T> for Records {
    type Item = KafkaRecord<T>;
    #[inline]
    fn item<M: Message>(value: T, message: &M) -> KafkaRecord<T> {
        KafkaRecord {
            value,
            key: message.key().map(<[u8]>::to_vec),
            partition: message.partition(),
            offset: message.offset(),
            timestamp: message.timestamp().to_millis(),
        }
    }
}

#[derive(Clone, Debug)]
struct Settings {
    brokers: String,
    topic: String,
    group_id: Option<String>,
    start: StartFrom,
    until_end: bool,
    timeout: Duration,
    retry_for: Duration,
    properties: Vec<(String, String)>,
}

/// A source of a Kafka topic's records, decoded with `D` (JSON by default).
///
/// - **Partitions**: worker `i` of `n` (over all processes) reads the partitions `p` with
///   `p % n == i`, assigned by the source itself (no consumer-group rebalancing), so each
///   record is read by exactly one worker.
/// - **Start**: [`StartFrom::Earliest`] by default; see [`KafkaSource::start_from`].
/// - **Bounded mode** ([`KafkaSource::until_end`]): each partition is read up to its end
///   offset as it was when the job started, then the source finishes (batch jobs, tests).
/// - **Offsets** are committed to the group ([`KafkaSource::group_id`], default
///   `tidemill`) once every sink has finished the records before them, so a restarted job
///   with [`StartFrom::Committed`] reads again at most what was not yet written: the
///   guarantee is **at-least-once**.
/// - **Bad records** (that `D` cannot decode, or without a value) go to the source's
///   dead letters with their partition and offset.
/// - **Brokers that fail**: the source fails the job with a clear error if the brokers
///   cannot be reached within 10 s at start ([`KafkaSource::timeout`]). Once running, it
///   retries (librdkafka reconnects with backoff) and writes each new connection error to
///   standard error; if no record or end of data is seen for 60 s while errors continue
///   ([`KafkaSource::retry_for`]), the job fails.
pub struct KafkaSource<T, D = Json, S = Values> {
    settings: Arc<Settings>,
    decoder: D,
    _t: PhantomData<fn() -> (T, S)>,
}

/// A source of the JSON records of `topic` at `brokers` (`host:port[,host:port...]`).
pub fn kafka<T>(brokers: &str, topic: &str) -> KafkaSource<T, Json, Values>
where
    Json: Decode<T>,
{
    KafkaSource {
        settings: Arc::new(Settings {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            group_id: None,
            start: StartFrom::Earliest,
            until_end: false,
            timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(60),
            properties: Vec::new(),
        }),
        decoder: Json,
        _t: PhantomData,
    }
}

impl<T, D, S> KafkaSource<T, D, S> {
    fn with(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        f(Arc::make_mut(&mut self.settings));
        self
    }

    /// Decodes values with `decoder`: [`crate::format::Csv`], [`crate::format::Text`],
    /// [`crate::format::Bytes`], or [`crate::format::decode_with`] for your own.
    pub fn format<D2: Decode<T>>(self, decoder: D2) -> KafkaSource<T, D2, S> {
        KafkaSource {
            settings: self.settings,
            decoder,
            _t: PhantomData,
        }
    }

    /// Emits [`KafkaRecord`]s (value, key, partition, offset, Kafka timestamp).
    pub fn with_metadata(self) -> KafkaSource<T, D, Records> {
        KafkaSource {
            settings: self.settings,
            decoder: self.decoder,
            _t: PhantomData,
        }
    }

    /// The consumer group whose offsets are committed (and read by
    /// [`StartFrom::Committed`]); `tidemill` by default.
    pub fn group_id(self, group: &str) -> Self {
        self.with(|s| s.group_id = Some(group.to_string()))
    }

    /// Where each partition starts.
    pub fn start_from(self, start: StartFrom) -> Self {
        self.with(|s| s.start = start)
    }

    /// Bounded mode: read up to the end offsets current at start, then finish.
    pub fn until_end(self) -> Self {
        self.with(|s| s.until_end = true)
    }

    /// How long to wait for the brokers at start (10 s by default).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|s| s.timeout = timeout)
    }

    /// How long the running source retries brokers that keep failing before it fails the
    /// job (60 s by default).
    pub fn retry_for(self, retry_for: Duration) -> Self {
        self.with(|s| s.retry_for = retry_for)
    }

    /// Any librdkafka consumer property, e.g. `property("fetch.min.bytes", "1024")`.
    pub fn property(self, key: &str, value: &str) -> Self {
        self.with(|s| s.properties.push((key.to_string(), value.to_string())))
    }
}

/// The state of one assigned partition.
struct PartitionState {
    id: i32,
    /// Bounded mode: the offset to stop before.
    end: Option<i64>,
    /// The next offset to read (what a commit records).
    next: i64,
    done: bool,
}

/// One worker's reader of a [`KafkaSource`].
pub struct KafkaReader<T, D, S> {
    consumer: BaseConsumer,
    settings: Arc<Settings>,
    /// ``kafka topic `name` ``, as dead letters name it.
    name: String,
    decoder: D,
    partitions: Vec<PartitionState>,
    index_of: HashMap<i32, usize>,
    open: usize,
    dead: Vec<DeadLetter>,
    /// What has been read, what the sinks have finished, and what was committed.
    offsets: Offsets,
    /// Since when the brokers have been failing without a record in between.
    failing_since: Option<Instant>,
    /// Per-partition watermarks: whether the partitions were announced, the partition
    /// told last, and the partitions that ended since the last report.
    announced: bool,
    current: Option<i32>,
    ended: Vec<i32>,
    _t: PhantomData<fn() -> (T, S)>,
}

/// Marks a partition's end offset in a checkpointed position.
const END_MARK: u32 = 1 << 31;

fn kafka_error(settings: &Settings, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Connector(format!(
        "kafka topic `{}` at `{}`: {what}: {e}",
        settings.topic, settings.brokers
    ))
}

impl<T: 'static, D: Decode<T>, S: Shape<T>> SourceSpec for KafkaSource<T, D, S> {
    type Reader = KafkaReader<T, D, S>;

    fn open(&self, index: usize, peers: usize) -> Result<Self::Reader> {
        let s = &*self.settings;
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &s.brokers)
            .set("group.id", s.group_id.as_deref().unwrap_or("tidemill"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "socket.timeout.ms",
                s.timeout.as_millis().max(10).to_string(),
            );
        for (key, value) in &s.properties {
            config.set(key, value);
        }
        let consumer: BaseConsumer = config
            .create()
            .map_err(|e| kafka_error(s, "cannot create a consumer", e))?;
        let metadata = consumer
            .fetch_metadata(Some(&s.topic), s.timeout)
            .map_err(|e| kafka_error(s, "cannot reach the brokers", e))?;
        let topic = metadata
            .topics()
            .iter()
            .find(|t| t.name() == s.topic)
            .ok_or_else(|| kafka_error(s, "no such topic", "not in the brokers' metadata"))?;
        if let Some(e) = topic.error() {
            return Err(kafka_error(
                s,
                "cannot read the topic",
                RDKafkaErrorCode::from(e),
            ));
        }
        let mut ids: Vec<i32> = topic.partitions().iter().map(|p| p.id()).collect();
        if ids.is_empty() {
            return Err(kafka_error(
                s,
                "cannot read the topic",
                "it has no partitions",
            ));
        }
        ids.sort_unstable();
        let mine: Vec<i32> = ids
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % peers == index)
            .map(|(_, id)| id)
            .collect();
        let starts = start_offsets(&consumer, s, &mine)?;
        let mut partitions = Vec::with_capacity(mine.len());
        let mut assignment = TopicPartitionList::new();
        for (&id, &start) in mine.iter().zip(&starts) {
            let end = if s.until_end {
                let (_, high) = consumer
                    .fetch_watermarks(&s.topic, id, s.timeout)
                    .map_err(|e| kafka_error(s, "cannot read the end offsets", e))?;
                Some(high)
            } else {
                None
            };
            let done = end.is_some_and(|end| start >= end);
            if !done {
                assignment
                    .add_partition_offset(&s.topic, id, Offset::Offset(start))
                    .map_err(|e| kafka_error(s, "cannot assign partitions", e))?;
            }
            partitions.push(PartitionState {
                id,
                end,
                next: start,
                done,
            });
        }
        consumer
            .assign(&assignment)
            .map_err(|e| kafka_error(s, "cannot assign partitions", e))?;
        let index_of = partitions
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        let open = partitions.iter().filter(|p| !p.done).count();
        Ok(KafkaReader {
            consumer,
            settings: Arc::clone(&self.settings),
            name: format!("kafka topic `{}`", s.topic),
            decoder: self.decoder.clone(),
            partitions,
            index_of,
            open,
            dead: Vec::new(),
            offsets: Offsets::new(Instant::now()),
            failing_since: None,
            announced: false,
            current: None,
            ended: Vec::new(),
            _t: PhantomData,
        })
    }

    fn bounded(&self) -> bool {
        self.settings.until_end
    }

    /// Partitions are named by number: a restore at another number of workers assigns
    /// them afresh (`p % peers == index`), each from its checkpointed offset.
    fn global_splits(&self) -> bool {
        true
    }
}

/// The offset each partition in `ids` starts at.
fn start_offsets(consumer: &BaseConsumer, s: &Settings, ids: &[i32]) -> Result<Vec<i64>> {
    let low_high = |id: i32| {
        consumer
            .fetch_watermarks(&s.topic, id, s.timeout)
            .map_err(|e| kafka_error(s, "cannot read the partitions' offsets", e))
    };
    let resolve = |list: TopicPartitionList| -> Result<Vec<i64>> {
        ids.iter()
            .map(|&id| {
                let (low, high) = low_high(id)?;
                Ok(
                    match list.find_partition(&s.topic, id).map(|e| e.offset()) {
                        Some(Offset::Offset(o)) => o.clamp(low, high),
                        Some(Offset::End) => high,
                        _ => low,
                    },
                )
            })
            .collect()
    };
    match s.start {
        StartFrom::Earliest => ids.iter().map(|&id| Ok(low_high(id)?.0)).collect(),
        StartFrom::Latest => ids.iter().map(|&id| Ok(low_high(id)?.1)).collect(),
        StartFrom::Committed => {
            let mut list = TopicPartitionList::new();
            for &id in ids {
                list.add_partition(&s.topic, id);
            }
            let committed = consumer
                .committed_offsets(list, s.timeout)
                .map_err(|e| kafka_error(s, "cannot read the committed offsets", e))?;
            resolve(committed)
        }
        StartFrom::Timestamp(ms) => {
            let mut list = TopicPartitionList::new();
            for &id in ids {
                list.add_partition_offset(&s.topic, id, Offset::Offset(ms))
                    .map_err(|e| kafka_error(s, "cannot look up offsets by time", e))?;
            }
            let found = consumer
                .offsets_for_times(list, s.timeout)
                .map_err(|e| kafka_error(s, "cannot look up offsets by time", e))?;
            resolve(found)
        }
    }
}

impl<T: 'static, D: Decode<T>, S: Shape<T>> KafkaReader<T, D, S> {
    fn finish_partition(&mut self, i: usize) {
        let p = &mut self.partitions[i];
        if p.done {
            return;
        }
        p.done = true;
        self.open -= 1;
        self.ended.push(p.id);
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.settings.topic, p.id);
        // Stop fetching past the end; a failure only costs prefetched records we skip.
        let _ = self.consumer.pause(&list);
    }

    /// Tells the stamper which partitions ended since the last report.
    fn report_ended(&mut self, out: &mut dyn FnMut(Read<S::Item>)) {
        for id in self.ended.drain(..) {
            out(Read::SplitDone(id as u32));
            if self.current == Some(id) {
                self.current = None;
            }
        }
    }

    /// Counts a broker error: the job fails once they have lasted `retry_for` without a
    /// record in between. Errors that retrying cannot mend fail it at once.
    fn on_error(&mut self, e: KafkaError) -> Result<()> {
        let code = e.rdkafka_error_code();
        let fatal = matches!(
            code,
            Some(
                RDKafkaErrorCode::UnknownTopicOrPartition
                    | RDKafkaErrorCode::UnknownTopic
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::Fatal
            )
        );
        if fatal {
            return Err(kafka_error(&self.settings, "cannot read", e));
        }
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= self.settings.retry_for {
            return Err(kafka_error(
                &self.settings,
                &format!(
                    "the brokers kept failing for {} s",
                    self.settings.retry_for.as_secs()
                ),
                e,
            ));
        }
        eprintln!(
            "tidemill: kafka topic `{}`: {e}; retrying",
            self.settings.topic
        );
        Ok(())
    }

    /// Commits `offsets` to the group, unless they were committed last.
    fn commit(&mut self, offsets: PartitionOffsets, mode: Commit) {
        let Some(offsets) = self.offsets.wanted(offsets) else {
            return;
        };
        let mut list = TopicPartitionList::new();
        for &(id, next) in &offsets {
            let _ = list.add_partition_offset(&self.settings.topic, id, Offset::Offset(next));
        }
        let mode = match mode {
            Commit::Async => CommitMode::Async,
            Commit::Sync => CommitMode::Sync,
        };
        let ok = self.consumer.commit(&list, mode).is_ok();
        self.offsets.committed(offsets, ok, Instant::now());
    }
}

impl<T: 'static, D: Decode<T>, S: Shape<T>> Reader for KafkaReader<T, D, S> {
    type Item = S::Item;

    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(S::Item)) -> Result<Status> {
        self.read_splits(budget, &mut |read| {
            if let Read::Record(item) = read {
                out(item);
            }
        })
    }

    fn has_splits(&self) -> bool {
        true
    }

    /// Each partition is a split with its own watermark.
    fn read_splits(&mut self, budget: usize, out: &mut dyn FnMut(Read<S::Item>)) -> Result<Status> {
        if !self.announced {
            self.announced = true;
            for p in &self.partitions {
                out(Read::Split(p.id as u32));
                if p.done {
                    // Bounded and already at its end: it never holds the watermark.
                    out(Read::SplitDone(p.id as u32));
                }
            }
        }
        for _ in 0..budget {
            if !self.ended.is_empty() {
                self.report_ended(out);
            }
            if self.open == 0 && self.settings.until_end {
                return Ok(Status::Done);
            }
            let message = match self.consumer.poll(Duration::ZERO) {
                None => return Ok(Status::Idle),
                Some(Err(e)) => {
                    self.on_error(e)?;
                    return Ok(Status::Idle);
                }
                Some(Ok(m)) => m,
            };
            self.failing_since = None;
            let (partition, offset) = (message.partition(), message.offset());
            let Some(&i) = self.index_of.get(&partition) else {
                continue;
            };
            let p = &mut self.partitions[i];
            if p.done || p.end.is_some_and(|end| offset >= end) {
                self.finish_partition(i);
                continue;
            }
            p.next = offset + 1;
            let at_end = p.end.is_some_and(|end| offset + 1 >= end);
            if self.current != Some(partition) {
                self.current = Some(partition);
                out(Read::Split(partition as u32));
            }
            let payload = message.payload();
            let decoded = match payload {
                Some(bytes) => self.decoder.decode(bytes),
                None => Err("the record has no value".to_string()),
            };
            match decoded {
                Ok(value) => out(Read::Record(S::item(value, &message))),
                Err(reason) => self.dead.push(DeadLetter {
                    source: self.name.clone(),
                    position: Position::Offset { partition, offset },
                    reason,
                    payload: payload.map(<[u8]>::to_vec).unwrap_or_default(),
                }),
            }
            if at_end {
                self.finish_partition(i);
            }
        }
        self.report_ended(out);
        Ok(Status::More)
    }

    fn take_dead_letters(&mut self, out: &mut Vec<DeadLetter>) {
        out.append(&mut self.dead);
    }

    /// Each partition's next offset, and in bounded mode its end offset (marked with the
    /// high bit of the split), so that a restored bounded job stops where this one would.
    fn position(&self) -> Option<Vec<(u32, u64)>> {
        let mut position = Vec::with_capacity(self.partitions.len() * 2);
        for p in &self.partitions {
            position.push((p.id as u32, p.next as u64));
            if let Some(end) = p.end {
                position.push((p.id as u32 | END_MARK, end as u64));
            }
        }
        Some(position)
    }

    fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
        let find = |id: u32| {
            position
                .iter()
                .find(|(s, _)| *s == id)
                .map(|(_, o)| *o as i64)
        };
        let mut assignment = TopicPartitionList::new();
        for p in &mut self.partitions {
            if let Some(next) = find(p.id as u32) {
                p.next = next;
            }
            if p.end.is_some() {
                p.end = find(p.id as u32 | END_MARK).or(p.end);
            }
            p.done = p.end.is_some_and(|end| p.next >= end);
            if !p.done {
                assignment
                    .add_partition_offset(&self.settings.topic, p.id, Offset::Offset(p.next))
                    .map_err(|e| kafka_error(&self.settings, "cannot assign partitions", e))?;
            }
        }
        self.open = self.partitions.iter().filter(|p| !p.done).count();
        self.consumer
            .assign(&assignment)
            .map_err(|e| kafka_error(&self.settings, "cannot assign partitions", e))
    }

    fn checkpoint_complete(&mut self, position: &[(u32, u64)], last: bool) {
        let offsets = position
            .iter()
            .filter(|(split, _)| split & END_MARK == 0)
            .map(|&(split, next)| (split as i32, next as i64))
            .collect();
        let mode = if last { Commit::Sync } else { Commit::Async };
        self.commit(offsets, mode);
    }

    fn completion(&mut self) -> Option<&mut dyn TracksCompletion> {
        Some(self)
    }
}

/// Without checkpoints, offsets are committed once the sinks have finished the records
/// before them (the bookkeeping is `kafka/offsets.rs`).
impl<T: 'static, D: Decode<T>, S: Shape<T>> TracksCompletion for KafkaReader<T, D, S> {
    fn emitted(&mut self, up_to: u64) {
        let read = self.partitions.iter().map(|p| (p.id, p.next)).collect();
        self.offsets.emitted(up_to, read);
    }

    fn completed(&mut self, frontier: Option<u64>) {
        if let Some((offsets, mode)) = self.offsets.completed(frontier, Instant::now()) {
            self.commit(offsets, mode);
        }
    }
}
