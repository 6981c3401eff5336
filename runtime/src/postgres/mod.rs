//! The PostgreSQL sink (Flink's JDBC sink): `postgres(url, table)`.
//!
//! ```text
//! #[derive(Serialize, Deserialize)]
//! struct Alert { transaction_id: String, amount: f64, timestamp: u64 }
//!
//! alerts.sink(postgres::<Alert>("postgres://app@db:5432/shop", "alerts"));
//! counts.sink(postgres::<Count>(url, "counts").upsert());   // ON CONFLICT (pk) DO UPDATE
//! ```
//!
//! - **Rows from structs.** A record's fields go to the table's columns of the same name
//!   (serde's names, renames applied). At start-up every worker connects and checks the
//!   record against the table: a field with no column, a NOT NULL column without a
//!   default that the record lacks, a generated column, or an upsert key that no unique
//!   index covers fails the job before any record is read, naming the column. The
//!   record type derives `Deserialize` as well as `Serialize` so that its fields are
//!   known before the first record.
//! - **Values** are written in PostgreSQL's text form, so the column's type parses them:
//!   numbers, strings (dates and times too), booleans, `None` as NULL, a `Vec` into an
//!   array column, and anything else as JSON text (for `json`/`jsonb`).
//! - **Batches.** Each worker buffers rows and writes them with `COPY` in one
//!   transaction when [`PostgresSink::batch_size`] rows are waiting (5000), when the
//!   oldest has waited [`PostgresSink::flush_interval`] (1 s), and when the input ends.
//!   Until its transaction commits, a row's time is held back in the sink's
//!   [`Written`] stream, so a Kafka source commits only offsets
//!   whose rows are in the table.
//! - **Upsert** ([`PostgresSink::upsert`], [`PostgresSink::upsert_on`]): the batch goes to
//!   a temporary table by `COPY`, then `INSERT .. SELECT .. ON CONFLICT (key) DO UPDATE`
//!   sets every other column. Within a batch the last record of a key wins. Records of
//!   one key must reach the sink on one worker, in order (as a keyed aggregation's
//!   results do), for the last one to win across workers too.
//! - **Connection loss.** A batch whose transaction fails because the connection broke
//!   (or the server shut down, or a serialization failure or deadlock) is retried on a
//!   new connection, with backoff from 100 ms to 5 s, for up to
//!   [`PostgresSink::retry_for`] (60 s), each failure reported on standard error; then
//!   the job fails. Upserts are idempotent, so a retried batch is never written twice.
//!   An insert-mode batch whose commit was sent just as the connection broke may be
//!   written twice (at-least-once); use upsert for exactly one row per key.
//! - **Bad rows.** A row the database rejects (a value that does not parse as its
//!   column's type, a violated constraint) fails the job with the database's message,
//!   the column and the record's text: it is never dropped silently.

/// The `postgres` client crate this connector is built on, for connections of your own.
pub use postgres as client;

mod changes;
mod rows;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};
use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::dataflow::StreamVec;

use self::rows::{struct_fields, RowEncoder};
use self::table::{describe, ident, plan, Mode};
use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::sinks::exactly_once::{write_transactional, Transactional};
use crate::sinks::{write_with, SinkSpec, Writer, Written};
use crate::time::Time;

/// A sink writing records of type `T` as rows of a PostgreSQL table.
pub struct PostgresSink<T> {
    url: String,
    table: String,
    mode: Mode,
    batch_size: usize,
    flush_interval: Duration,
    retry_for: Duration,
    timeout: Duration,
    _t: PhantomData<fn(T)>,
}

/// Inserts the records into `table` of the database at `url`
/// (`postgres://user[:password]@host[:port]/database[?application_name=..]`, or
/// `host=.. user=.. dbname=..`).
pub fn postgres<T: Serialize + DeserializeOwned>(url: &str, table: &str) -> PostgresSink<T> {
    PostgresSink {
        url: url.to_string(),
        table: table.to_string(),
        mode: Mode::Insert,
        batch_size: 5000,
        flush_interval: Duration::from_secs(1),
        retry_for: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
        _t: PhantomData,
    }
}

impl<T> PostgresSink<T> {
    /// Upserts on the table's primary key: a record whose key is in the table replaces
    /// the row's other columns (`ON CONFLICT (key) DO UPDATE`).
    pub fn upsert(mut self) -> Self {
        self.mode = Mode::UpsertOnPrimaryKey;
        self
    }

    /// Upserts on these columns, which a unique index of the table must cover exactly.
    pub fn upsert_on(mut self, key: &[&str]) -> Self {
        self.mode = Mode::UpsertOn(key.iter().map(|k| k.to_string()).collect());
        self
    }

    /// Writes once this many rows wait (5000).
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// Writes once the oldest waiting row has waited this long (1 s).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How long a batch is retried over lost connections before the job fails (60 s).
    pub fn retry_for(mut self, time: Duration) -> Self {
        self.retry_for = time;
        self
    }

    /// How long connecting may take (10 s). A server that cannot be reached at
    /// start-up fails the job after it.
    pub fn timeout(mut self, time: Duration) -> Self {
        self.timeout = time;
        self
    }
}

impl<T: Serialize + DeserializeOwned + 'static> SinkSpec<T> for PostgresSink<T> {
    fn build<'scope>(
        &self,
        stream: StreamVec<'scope, Time, T>,
        context: &JobContext,
    ) -> Written<'scope> {
        let writer = RowWriter::open(self);
        if crate::checkpoint::worker().is_some() {
            let index = stream.scope().index();
            let rows = writer.map(|writer| EpochRows {
                writer,
                worker: index as i32,
                sink: String::new(),
                open: BTreeMap::new(),
                pending: Vec::new(),
            });
            return write_transactional(stream, "postgres", context, rows);
        }
        write_with(stream, "postgres", context, writer, self.flush_interval)
    }
}

/// One worker's connection and batch.
struct RowWriter {
    conn: Connection,
    encoder: RowEncoder,
    /// The statements of one batch: the COPY, then (upsert) the merge into the table.
    copy: String,
    merge: Option<String>,
    batch: Batch,
    /// The key of the row being added (upsert).
    key: Vec<u8>,
    batch_size: usize,
    /// The table's name, its written columns (quoted, listed) and the upsert key's
    /// columns: what the changelog writer's statements name.
    table: String,
    list: String,
    key_columns: Vec<String>,
}

/// Rows waiting to be written: COPY lines, where each starts, and which are superseded
/// by a later row of the same key (upsert).
#[derive(Default)]
struct Batch {
    lines: Vec<u8>,
    starts: Vec<usize>,
    live: Vec<bool>,
    keys: HashMap<Vec<u8>, usize>,
}

impl Batch {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn row(&self, i: usize) -> &[u8] {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.lines.len());
        &self.lines[self.starts[i]..end]
    }

    /// The rows to write: all of them, or (upsert) the last of each key.
    fn written(&self, upsert: bool) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len())
            .filter(move |&i| !upsert || self.live[i])
            .map(|i| self.row(i))
    }

    fn clear(&mut self) {
        self.lines.clear();
        self.starts.clear();
        self.live.clear();
        self.keys.clear();
    }
}

impl RowWriter {
    fn open<T: DeserializeOwned>(spec: &PostgresSink<T>) -> Result<Self> {
        let mut config: Config = spec
            .url
            .parse()
            .map_err(|e| Error::Config(format!("postgres sink: bad connection string: {e}")))?;
        config.connect_timeout(spec.timeout);
        if config.get_application_name().is_none() {
            config.application_name("tidemill");
        }
        let server = describe_server(&config);
        let at = format!("{} at {server}", spec.table);
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            Error::Connector(format!("postgres sink to {at}: {what}: {e}"))
        };
        let fields = struct_fields::<T>().ok_or_else(|| {
            fail(
                "the record type cannot be written",
                &"it must be a struct with named fields (derive Serialize and Deserialize)",
            )
        })?;
        // A server that cannot be reached fails the job at once; a connection lost while
        // starting is made again.
        let client = config
            .connect(NoTls)
            .map_err(|e| fail("cannot connect", &e))?;
        let mut conn = Connection {
            config,
            client: Some(client),
            prepare: None,
            at: at.clone(),
            retry_for: spec.retry_for,
        };
        let table = conn
            .run("reading the table's columns", |client| {
                Ok(describe(client, &spec.table)?)
            })
            .map_err(|e| match e.db().map(|db| db.code()) {
                Some(&SqlState::UNDEFINED_TABLE) => fail("no such table", &spec.table),
                _ => fail("cannot read the table's columns", &e),
            })?;
        let (columns, key) =
            plan(&table, fields, &spec.mode).map_err(|e| fail("the record does not fit", &e))?;
        let list = columns
            .iter()
            .map(|(name, _)| ident(name))
            .collect::<Vec<_>>()
            .join(", ");
        let (copy, merge) = if spec.mode == Mode::Insert {
            (format!("COPY {} ({list}) FROM STDIN", table.name), None)
        } else {
            let keys: Vec<String> = key.iter().map(|&k| ident(&columns[k].0)).collect();
            let updates: Vec<String> = (0..columns.len())
                .filter(|i| !key.contains(i))
                .map(|i| format!("{0} = EXCLUDED.{0}", ident(&columns[i].0)))
                .collect();
            let action = if updates.is_empty() {
                "NOTHING".to_string()
            } else {
                format!("UPDATE SET {}", updates.join(", "))
            };
            let merge = format!(
                "INSERT INTO {} ({list}) SELECT {list} FROM {STAGE} ON CONFLICT ({}) DO {action}",
                table.name,
                keys.join(", ")
            );
            // Each session's own staging table (IF NOT EXISTS: made once per session).
            let prepare = format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ON COMMIT DELETE ROWS AS \
                 SELECT {list} FROM {} WITH NO DATA",
                table.name
            );
            conn.prepare = Some(prepare.clone());
            conn.run("preparing the upsert", |client| {
                Ok(client.batch_execute(&prepare)?)
            })
            .map_err(|e| fail("cannot prepare the upsert", &e))?;
            (format!("COPY {STAGE} ({list}) FROM STDIN"), Some(merge))
        };
        conn.at = format!("{} at {server}", table.name);
        let key_columns = key.iter().map(|&k| columns[k].0.clone()).collect();
        Ok(RowWriter {
            conn,
            encoder: RowEncoder::new(columns, key),
            copy,
            merge,
            batch: Batch::default(),
            key: Vec::new(),
            batch_size: spec.batch_size,
            table: table.name.clone(),
            list,
            key_columns,
        })
    }

    fn error(&self, what: &str, e: &dyn std::fmt::Display) -> Error {
        Error::Connector(format!("postgres sink to {}: {what}: {e}", self.conn.at))
    }

    /// Why a database error is the job's end: its message, detail and place, and the
    /// row COPY was at.
    fn rejected(&self, e: &Failure) -> Error {
        let Some(db) = e.db() else {
            return self.error("cannot write", e);
        };
        let mut text = db.message().to_string();
        if let Some(detail) = db.detail() {
            text += &format!(" ({detail})");
        }
        if let Some(place) = db.where_() {
            text += &format!(", at {place}");
            let row = place
                .split("line ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<usize>().ok()?.checked_sub(1))
                .and_then(|n| self.batch.written(self.merge.is_some()).nth(n));
            if let Some(row) = row {
                let row = String::from_utf8_lossy(row);
                text += &format!(
                    "; the row: {}",
                    row.trim_end().chars().take(200).collect::<String>()
                );
            }
        }
        self.error("the database rejected a batch", &text)
    }
}

/// Writes `batch` in one transaction: COPY into the table, or (upsert) into the staging
/// table and then `merge` into the table.
fn write_batch(
    client: &mut Client,
    copy: &str,
    merge: Option<&str>,
    batch: &Batch,
) -> std::result::Result<(), Failure> {
    use std::io::Write;
    let mut transaction = client.transaction()?;
    let mut writer = transaction.copy_in(copy)?;
    for row in batch.written(merge.is_some()) {
        writer.write_all(row)?;
    }
    writer.finish()?;
    if let Some(merge) = merge {
        transaction.execute(merge, &[])?;
    }
    Ok(transaction.commit()?)
}

/// A worker's session with the server, made again when lost.
struct Connection {
    config: Config,
    client: Option<Client>,
    /// Run first on each new session (upsert: the staging table).
    prepare: Option<String>,
    /// For messages: `table at host:port/database`, without user or password.
    at: String,
    retry_for: Duration,
}

impl Connection {
    /// Runs `work` on the session. When it fails in a way a new session may mend
    /// ([`retryable`]), it runs again on a new one, with backoff from 100 ms to 5 s, each
    /// failure reported on standard error, for up to `retry_for`.
    fn run<R>(
        &mut self,
        what: &str,
        mut work: impl FnMut(&mut Client) -> std::result::Result<R, Failure>,
    ) -> std::result::Result<R, Failure> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = self.session().and_then(&mut work);
            match attempt {
                Ok(result) => return Ok(result),
                Err(e) if retryable(&e) && started.elapsed() < self.retry_for => {
                    eprintln!(
                        "tidemill: postgres sink to {}: {what} failed ({e}); retrying on a new \
                         connection in {backoff:?}",
                        self.at
                    );
                    self.client = None;
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    if retryable(&e) {
                        self.client = None;
                    }
                    return Err(e);
                }
            }
        }
    }

    fn session(&mut self) -> std::result::Result<&mut Client, Failure> {
        if self.client.is_none() {
            let mut client = self.config.connect(NoTls)?;
            if let Some(prepare) = &self.prepare {
                client.batch_execute(prepare)?;
            }
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }
}

/// The temporary table an upsert batch is copied into.
const STAGE: &str = "tidemill_stage";
/// Why a batch failed: the client's error, or a broken connection while copying.
#[derive(Debug)]
enum Failure {
    Client(postgres::Error),
    Copy(std::io::Error),
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Self {
        Failure::Client(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Copy(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Client(e) => match e.as_db_error() {
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => e.fmt(f),
            },
            Failure::Copy(e) => e.fmt(f),
        }
    }
}

impl Failure {
    fn db(&self) -> Option<&postgres::error::DbError> {
        match self {
            Failure::Client(e) => e.as_db_error(),
            Failure::Copy(_) => None,
        }
    }
}

/// Whether a failure may be mended by a new session: the connection broke, the server is
/// shutting down or not yet up, or the transaction lost a serialization conflict or a
/// deadlock.
fn retryable(e: &Failure) -> bool {
    let Some(code) = e.db().map(|db| db.code()) else {
        return true; // I/O, a closed connection, a timeout: no answer from the server
    };
    code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
}

impl RowWriter {
    /// Encodes `records` into `batch` (by default the writer's own), the last row of a
    /// key superseding earlier ones (upsert).
    fn add<T: Serialize>(&mut self, batch: Option<&mut Batch>, records: &mut Vec<T>) -> Result<()> {
        let upsert = self.merge.is_some();
        let batch = match batch {
            Some(batch) => batch,
            None => &mut self.batch,
        };
        for record in records.drain(..) {
            let start = batch.lines.len();
            self.key.clear();
            if let Err(reason) = self
                .encoder
                .encode(&record, &mut batch.lines, &mut self.key)
            {
                batch.lines.truncate(start);
                return Err(Error::Connector(format!(
                    "postgres sink to {}: cannot write a record: {reason}",
                    self.conn.at
                )));
            }
            let row = batch.starts.len();
            batch.starts.push(start);
            batch.live.push(true);
            if upsert {
                if let Some(earlier) = batch.keys.insert(self.key.clone(), row) {
                    batch.live[earlier] = false;
                }
            }
        }
        Ok(())
    }
}

impl<T: Serialize> Writer<T> for RowWriter {
    fn write(&mut self, records: &mut Vec<T>) -> Result<()> {
        self.add(None, records)?;
        if self.batch.len() >= self.batch_size {
            Writer::<T>::flush(self)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.len() == 0 {
            return Ok(());
        }
        let what = format!("a batch of {} rows", self.batch.len());
        let (copy, merge, batch) = (&self.copy, self.merge.as_deref(), &self.batch);
        let written = self
            .conn
            .run(&what, |client| write_batch(client, copy, merge, batch));
        match written {
            Ok(()) => {
                self.batch.clear();
                Ok(())
            }
            Err(e) if retryable(&e) => Err(self.error(
                &format!("gave up after {:?} of failures", self.conn.retry_for),
                &e,
            )),
            Err(e) => Err(self.rejected(&e)),
        }
    }

    fn wants_flush(&self) -> bool {
        self.batch.len() >= self.batch_size
    }
}

/// The table where exactly-once sinks record the epochs they have written: a replayed
/// epoch found there is not written again.
const PROGRESS: &str = "tidemill_progress";
/// The advisory lock taken while the progress table is created ("tidemill").
const PROGRESS_LOCK: i64 = 0x7469_6465_6d69_6c6c;

/// With checkpoints, a worker keeps each epoch's rows and writes them when the
/// checkpoint covering the epoch completes, in one transaction with the epoch's row in
/// [`PROGRESS`]: an epoch replayed after a restore (its rows are in the checkpoint) and
/// already there is skipped, so insert mode is exactly-once too.
struct EpochRows {
    writer: RowWriter,
    worker: i32,
    /// The sink's name in the progress table: the table and the sink's operator.
    sink: String,
    open: BTreeMap<u64, Batch>,
    /// Epochs prepared, with their COPY lines (only the last row of a key for upserts).
    pending: Vec<(u64, Vec<u8>)>,
}

/// An epoch in the progress table (`bigint`).
fn epoch_value(epoch: u64) -> i64 {
    i64::try_from(epoch).unwrap_or(i64::MAX)
}

impl EpochRows {
    /// Writes one epoch's `lines` and its progress row in one transaction, unless the
    /// progress row is there already.
    fn write_epoch(&mut self, epoch: u64, lines: &[u8]) -> Result<()> {
        use std::io::Write;
        let (copy, merge) = (&self.writer.copy, self.writer.merge.as_deref());
        let (sink, worker, epoch_v) = (&self.sink, self.worker, epoch_value(epoch));
        let what = format!("epoch {epoch}'s rows");
        let written = self.writer.conn.run(&what, |client| {
            let mut transaction = client.transaction()?;
            let done = transaction.query_opt(
                &format!("SELECT 1 FROM {PROGRESS} WHERE sink = $1 AND worker = $2 AND epoch = $3"),
                &[sink, &worker, &epoch_v],
            )?;
            if done.is_some() {
                return Ok(());
            }
            if !lines.is_empty() {
                let mut writer = transaction.copy_in(copy)?;
                writer.write_all(lines)?;
                writer.finish()?;
                if let Some(merge) = merge {
                    transaction.execute(merge, &[])?;
                }
            }
            transaction.execute(
                &format!("INSERT INTO {PROGRESS} (sink, worker, epoch) VALUES ($1, $2, $3)"),
                &[sink, &worker, &epoch_v],
            )?;
            Ok(transaction.commit()?)
        });
        written.map_err(|e| self.writer.error(&format!("cannot write {what}"), &e))
    }
}

impl<T: Serialize> Transactional<T> for EpochRows {
    fn write(&mut self, epoch: u64, batch: &mut Vec<T>) -> Result<()> {
        let rows = self.open.entry(epoch).or_default();
        self.writer.add(Some(rows), batch)
    }

    fn prepare(&mut self, before: u64) -> Result<Vec<u8>> {
        let later = match before {
            u64::MAX => BTreeMap::new(),
            _ => self.open.split_off(&before),
        };
        let upsert = self.writer.merge.is_some();
        for (epoch, batch) in std::mem::replace(&mut self.open, later) {
            let lines: Vec<u8> = batch.written(upsert).flatten().copied().collect();
            self.pending.push((epoch, lines));
        }
        Ok(crate::checkpoint::encode(&self.pending))
    }

    fn commit(&mut self, checkpoint: u64) -> Result<()> {
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(epoch, _)| *epoch <= checkpoint);
        self.pending = kept;
        for (epoch, lines) in due {
            self.write_epoch(epoch, &lines)?;
        }
        Ok(())
    }

    fn act_as(&mut self, worker: usize) {
        self.worker = worker as i32;
    }

    fn recover(
        &mut self,
        sink: &str,
        pending: Option<&[u8]>,
        checkpoint: Option<u64>,
    ) -> Result<()> {
        self.sink = format!("{}:{sink}", self.writer.conn.at);
        let (sink, worker) = (&self.sink, self.worker);
        let after = epoch_value(checkpoint.map_or(0, |c| c.saturating_add(1)));
        // Epochs after the restored checkpoint are written anew by this run.
        self.writer
            .conn
            .run("recording progress", |client| {
                // One statement batch is one transaction: the lock keeps workers that
                // start together from racing to create the table.
                client.batch_execute(&format!(
                    "SELECT pg_advisory_xact_lock({PROGRESS_LOCK}); \
                     CREATE TABLE IF NOT EXISTS {PROGRESS} (sink text NOT NULL, worker integer NOT NULL, \
                     epoch bigint NOT NULL, PRIMARY KEY (sink, worker, epoch))"
                ))?;
                client.execute(
                    &format!("DELETE FROM {PROGRESS} WHERE sink = $1 AND worker = $2 AND epoch >= $3"),
                    &[sink, &worker, &after],
                )?;
                Ok(())
            })
            .map_err(|e| self.writer.error("cannot prepare the progress table", &e))?;
        self.pending = match pending {
            Some(bytes) => crate::checkpoint::decode_state(sink, bytes)?,
            None => Vec::new(),
        };
        match checkpoint {
            Some(c) => Transactional::<T>::commit(self, c),
            None => Ok(()),
        }
    }
}

/// `host:port/database` of a connection string, without user or password.
fn describe_server(config: &Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("{host}:{port}/{db}")
}
