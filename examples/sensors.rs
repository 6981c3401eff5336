//! Sensor readings in event time: sliding averages, sessions of activity, late data.
//!
//! ```text
//! cargo run --release --example sensors -- [-w N]
//! ```
//! Three sensors report every 500 ms for a minute of event time, up to 2 s out of order;
//! sensor `c` goes quiet twice, and a few readings arrive about 30 s late. The job prints
//! - `avg`: each sensor's mean temperature over sliding 10 s windows every 5 s; readings
//!   up to 5 s behind the watermark still update their windows (`allowed_lateness`);
//! - `late`: the readings that came later than that, routed with `.late()`;
//! - `session`: each sensor's bursts of activity (readings at most 3 s apart).
//!
//! The sessions' own late readings are not routed: the job counts them and reports the
//! count on standard error when it ends.

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Windows over generated sensor readings"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    /// Event time, ms.
    ts: u64,
    celsius: f64,
}

/// A minute of readings in arrival order, the same on every run.
fn readings() -> Vec<Reading> {
    let mut seed: u64 = 42;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let mut out = Vec::new();
    for step in 0..120u64 {
        let now = step * 500;
        for (i, sensor) in ["a", "b", "c"].iter().enumerate() {
            // Sensor c is quiet from 20 s to 30 s and from 42 s to 50 s.
            if *sensor == "c"
                && ((20_000..30_000).contains(&now) || (42_000..50_000).contains(&now))
            {
                continue;
            }
            let jitter = next() % 2_000; // within the declared out-of-orderness
            let late = if next() % 97 == 0 { 30_000 } else { 0 };
            out.push(Reading {
                sensor: sensor.to_string(),
                ts: now.saturating_sub(jitter + late),
                celsius: 20.0 + i as f64 + (next() % 100) as f64 / 20.0,
            });
        }
    }
    out
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    let data = readings();
    tidemill::run(
        cli.tidemill,
        stream! {
            let readings = from_collection(data)
                .assign_timestamps(|r| r.ts, out_of_orderness = 2s);
            let averages = readings
                .key_by(|r| r.sensor.clone())
                .window(sliding(10s, 5s))
                .allowed_lateness(5s)
                .avg(|r| r.celsius);
            averages
                .map(|w| format!("avg {} [{}, {}) {:.2}", w.key, w.start, w.end, w.value))
                .print();
            averages
                .late()
                .map(|r| format!("late {} at {} ms: {:.2}", r.sensor, r.ts, r.celsius))
                .print();
            readings
                .key_by(|r| r.sensor.clone())
                .window(session(3s))
                .count()
                .map(|w| format!("session {} [{}, {}) {} readings", w.key, w.start, w.end, w.value))
                .print();
        },
    )?;
    Ok(())
}
