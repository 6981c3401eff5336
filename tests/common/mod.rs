//! Helpers shared by the tests that run example binaries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The example binary `name`, built once per test run: a filtered run such as
/// `cargo test --test wordcount` does not build examples by itself.
#[allow(dead_code, reason = "not every test binary runs examples")]
pub fn example_binary(name: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_cargo_at_a_time = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    // With the features this test was built with, so the library is not built again.
    let features: Vec<&str> = [
        ("kafka", cfg!(feature = "kafka")),
        ("postgres", cfg!(feature = "postgres")),
        ("nexmark", cfg!(feature = "nexmark")),
        ("s3", cfg!(feature = "s3")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--example",
            name,
            "--features",
            &features.join(","),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.file_name().is_some_and(|p| p == "release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("cargo runs");
    assert!(
        status.success() && bin.exists(),
        "cannot build {}",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A hostfile of two free localhost ports, for a job of two processes.
#[allow(dead_code, reason = "not every test binary runs clusters")]
pub fn hostfile() -> PathBuf {
    let hostfile = std::env::temp_dir().join(format!(
        "tidemill-hosts-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    hostfile
}

/// Runs `binary` as two processes of two workers on localhost (`-w 2 -n 2`, a hostfile
/// of free ports), each with `args` after the cluster flags; returns both outputs.
#[allow(dead_code, reason = "not every test binary runs clusters")]
pub fn two_processes(binary: &Path, args: &[&str]) -> [Output; 2] {
    let hostfile = hostfile();
    let hosts = hostfile.to_str().unwrap();
    let spawn = |index: &str| {
        Command::new(binary)
            .args(["-w", "2", "-n", "2", "-p", index, "-h", hosts])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (p0, p1) = (spawn("0"), spawn("1"));
    let outputs = [
        p0.wait_with_output().unwrap(),
        p1.wait_with_output().unwrap(),
    ];
    std::fs::remove_file(&hostfile).unwrap();
    outputs
}

/// Whether something accepts connections at `host:port`, within 2 s.
#[allow(dead_code, reason = "only the connector tests use it")]
fn listening(address: &str) -> bool {
    std::net::ToSocketAddrs::to_socket_addrs(address)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
        })
}

/// The bootstrap address of the test broker that `scripts/kafka.sh` starts
/// (`TIDEMILL_KAFKA_BROKERS`, else `127.0.0.1:19092`); panics with what to run when no
/// broker listens there, so such tests fail rather than pass without one.
#[allow(dead_code, reason = "only the Kafka tests use it")]
pub fn kafka_brokers() -> String {
    let brokers =
        std::env::var("TIDEMILL_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let first = brokers.split(',').next().unwrap_or_default();
    assert!(
        listening(first),
        "server not available: no Kafka broker at {brokers}; run scripts/kafka.sh (or set TIDEMILL_KAFKA_BROKERS)"
    );
    brokers
}

/// The last lines of the log of the broker `scripts/kafka.sh` started (its warnings and
/// errors), for a failing test's message.
#[allow(dead_code, reason = "only the Kafka tests use it")]
pub fn broker_log() -> String {
    let tools = std::env::var("TIDEMILL_TOOLS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/tidemill",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let port = std::env::var("TIDEMILL_KAFKA_PORT").unwrap_or_else(|_| "19092".into());
    let path = format!("{tools}/run/tansu-{port}.log");
    match std::fs::read_to_string(&path) {
        Ok(log) => {
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            format!("the broker's log ({path}), its end:\n{tail}")
        }
        Err(e) => format!("no broker log at {path}: {e}"),
    }
}

/// The environment a job needs to keep checkpoints in the local S3-compatible store that
/// `scripts/s3.sh` starts (`TIDEMILL_S3_PORT`, else 19900; bucket `tidemill`); panics
/// with what to run when nothing listens there, so such tests fail rather than pass.
#[allow(dead_code, reason = "only the object-store tests use it")]
pub fn s3_env() -> Vec<(&'static str, String)> {
    let port = std::env::var("TIDEMILL_S3_PORT").unwrap_or_else(|_| "19900".into());
    let at = format!("127.0.0.1:{port}");
    assert!(
        listening(&at),
        "server not available: no object store at {at}; run scripts/s3.sh (or set TIDEMILL_S3_PORT)"
    );
    vec![
        ("AWS_ENDPOINT", format!("http://{at}")),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]
}

/// A name no earlier run used: `prefix-<pid>-<nanos>`.
#[allow(dead_code, reason = "not every test binary uses it")]
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The connection URL of the test database that `scripts/postgres.sh` starts
/// (`TIDEMILL_PG_URL`, else `postgres://tidemill@127.0.0.1:15432/postgres`); panics with
/// what to run when no server listens there, so such tests fail rather than pass.
#[allow(dead_code, reason = "only the PostgreSQL tests use it")]
pub fn postgres_url() -> String {
    let url = std::env::var("TIDEMILL_PG_URL")
        .unwrap_or_else(|_| "postgres://tidemill@127.0.0.1:15432/postgres".into());
    let host = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:15432");
    assert!(
        listening(host),
        "server not available: no PostgreSQL at {host}; run scripts/postgres.sh (or set TIDEMILL_PG_URL)"
    );
    url
}

/// Every record of `topic` (all partitions, up to their current ends), read by a plain
/// rdkafka consumer.
#[cfg(feature = "kafka")]
#[allow(dead_code, reason = "only the Kafka tests use it")]
pub fn consume_all(brokers: &str, topic: &str) -> Vec<String> {
    consume_keyed(brokers, topic)
        .into_iter()
        .map(|(_, payload)| payload)
        .collect()
}

/// Every record of `topic` as `(key, payload)`, read to the partitions' current ends.
#[cfg(feature = "kafka")]
#[allow(dead_code, reason = "not every test binary reads keys")]
pub fn consume_keyed(brokers: &str, topic: &str) -> Vec<(Option<String>, String)> {
    consume_records(brokers, topic)
        .into_iter()
        .map(|(key, payload)| (key, payload.expect("a record with a value")))
        .collect()
}

/// Every record of `topic` as `(key, payload)`, tombstones (no payload) too, in each
/// partition's order.
#[cfg(feature = "kafka")]
#[allow(dead_code, reason = "not every test binary reads tombstones")]
pub fn consume_records(brokers: &str, topic: &str) -> Vec<(Option<String>, Option<String>)> {
    read_topic(brokers, topic)
        .into_iter()
        .map(|r| (r.key, r.payload))
        .collect()
}

/// One record of a topic, where it is and what it carries.
#[cfg(feature = "kafka")]
#[derive(Debug)]
#[allow(dead_code, reason = "the place and headers are read when a test fails")]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// Every record of `topic`, up to each partition's end offset when called, in each
/// partition's order.
#[cfg(feature = "kafka")]
#[allow(dead_code, reason = "not every test binary reads topics")]
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Record> {
    use rdkafka::consumer::Consumer;
    use rdkafka::message::{Headers, Message};
    use tidemill::kafka::rdkafka;
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("check"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let timeout = std::time::Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(topic), timeout).unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut ends = std::collections::BTreeMap::new();
    let mut list = rdkafka::TopicPartitionList::new();
    for &p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, timeout).unwrap();
        if high > low {
            ends.insert(p, high);
            list.add_partition_offset(topic, p, rdkafka::Offset::Offset(low))
                .unwrap();
        }
    }
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    while !ends.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "reading {topic} timed out"
        );
        let Some(message) = consumer.poll(std::time::Duration::from_millis(100)) else {
            continue;
        };
        let m = message.unwrap();
        let headers = m.headers().map_or_else(Vec::new, |h| {
            h.iter()
                .map(|h| (h.key.to_string(), text(h.value.unwrap_or_default())))
                .collect()
        });
        out.push(Record {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(|k| String::from_utf8(k.to_vec()).unwrap()),
            payload: m.payload().map(|p| String::from_utf8(p.to_vec()).unwrap()),
            headers,
        });
        if ends
            .get(&m.partition())
            .is_some_and(|&end| m.offset() + 1 >= end)
        {
            ends.remove(&m.partition());
        }
    }
    out
}

/// The reference model of a `from_collection` source's watermark, which the window and
/// join reference tests share: worker `i` of `workers` reads the elements `i, i + n, ...`
/// of the input, and its watermark trails the largest timestamp it has read by `bound`
/// (`assign_timestamps(.., out_of_orderness = bound)`), updated after every record. A
/// record whose timestamp is behind its source's watermark travels at the watermark
/// (timely time never goes back). Returns, for each record (by its event time `ts`), the
/// timely time it travels at: that time rounded down to the pipeline's `tick`.
#[allow(dead_code, reason = "only the reference-model tests use it")]
pub fn travel_times(
    ts: impl IntoIterator<Item = u64>,
    workers: usize,
    bound: u64,
    tick: u64,
) -> Vec<u64> {
    let mut max_seen: Vec<Option<u64>> = vec![None; workers];
    ts.into_iter()
        .enumerate()
        .map(|(i, ts)| {
            let seen = &mut max_seen[i % workers];
            let not_late_from = seen.map_or(0, |m| m.saturating_sub(bound));
            *seen = Some(seen.map_or(ts, |m| m.max(ts)));
            let t = ts.max(not_late_from);
            t - t % tick
        })
        .collect()
}
