//! Dead letters: input that a source could not turn into a record.
//!
//! A record that fails to decode never fails the job and is never dropped silently. Its
//! source sends it, with the reason and where it was (file and line, or topic, partition
//! and offset), to the source's dead-letter output. A pipeline routes that output with
//! `stream.dead_letters()` (to a file, a topic, `print()`...); where it does not, each
//! dead letter is written to standard error. Either way, the job counts them by source
//! and reports the counts when it ends ([`crate::JobReport::dead_letters`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::time::Time;

/// Where a dead letter was read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Position {
    /// A line of a file (1-based).
    Line(u64),
    /// A Kafka partition and offset.
    Offset {
        /// The partition.
        partition: i32,
        /// The offset within the partition.
        offset: i64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(line) => write!(f, "line {line}"),
            Position::Offset { partition, offset } => {
                write!(f, "partition {partition} offset {offset}")
            }
        }
    }
}

/// Input that could not be decoded: what it was, where, and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The input, e.g. ``file `in.jsonl` `` or ``kafka topic `txns` ``.
    pub source: String,
    /// Where in the input.
    pub position: Position,
    /// Why it did not decode.
    pub reason: String,
    /// The bytes as read.
    pub payload: Vec<u8>,
}

/// How much of a payload the `Display` form shows.
const SHOWN: usize = 200;

impl fmt::Display for DeadLetter {
    /// `source, position: reason: payload` (the payload as lossy UTF-8, cut at 200 bytes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.payload[..self.payload.len().min(SHOWN)];
        let more = if self.payload.len() > SHOWN {
            "..."
        } else {
            ""
        };
        write!(
            f,
            "{}, {}: {}: {}{more}",
            self.source,
            self.position,
            self.reason,
            String::from_utf8_lossy(shown)
        )
    }
}

/// The sink of a dead-letter output that the pipeline does not route: each dead letter
/// goes to standard error (they are counted by the source either way).
pub fn to_stderr(stream: StreamVec<'_, Time, DeadLetter>, _context: &JobContext) {
    stream.sink(Pipeline, "dead letters to stderr", move |(input, _)| {
        input.for_each(|_time, data| {
            for letter in data.drain(..) {
                eprintln!("tidemill: dead letter: {letter}");
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_source_position_reason_and_a_bounded_payload() {
        let letter = DeadLetter {
            source: "kafka topic `txns`".into(),
            position: Position::Offset {
                partition: 2,
                offset: 41,
            },
            reason: "invalid JSON: expected value".into(),
            payload: b"{oops".to_vec(),
        };
        assert_eq!(
            letter.to_string(),
            "kafka topic `txns`, partition 2 offset 41: invalid JSON: expected value: {oops"
        );
        let long = DeadLetter {
            position: Position::Line(3),
            payload: vec![b'x'; 1000],
            ..letter
        };
        let shown = long.to_string();
        assert!(shown.contains(", line 3: "), "{shown}");
        assert!(
            shown.ends_with(&format!("{}...", "x".repeat(SHOWN))),
            "{shown}"
        );
    }
}
