//! Nexmark queries in SQL, after the Flink SQL of the nexmark/nexmark repository
//! (`dateTime` is the model's `date_time`): what `--query q1-sql` runs, beside the DSL
//! versions in the parent module, with the same event time (each bid's `date_time`, a
//! watermark 4 s behind) and the same rows.

use tidemill::nexmark::Text;
use tidemill::prelude::*;
use tidemill::{JobReport, Result};

use super::{Events, Q1};

/// A q0 row: the bid's columns that the Nexmark query selects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Q0 {
    pub auction: u64,
    pub bidder: u64,
    pub price: u64,
    pub date_time: u64,
    pub extra: Text,
}

/// q0, pass-through: `SELECT auction, bidder, price, dateTime, extra FROM bid`.
pub fn q0(args: Args, events: impl Events, out: &Collector<Q0>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            let bid = from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s);
            sql!("SELECT auction, bidder, price, date_time, extra FROM bid", row = Q0)
                .collect(out);
        },
    )
}

/// q1, currency conversion: `SELECT auction, bidder, 0.908 * price AS price, dateTime,
/// extra FROM bid`.
pub fn q1(args: Args, events: impl Events, out: &Collector<Q1>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            let bid = from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s);
            sql!("SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid", row = Q1)
                .collect(out);
        },
    )
}

/// A q2 row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Q2 {
    pub auction: u64,
    pub price: u64,
}

/// q2, selection: `SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0`.
pub fn q2(args: Args, events: impl Events, out: &Collector<Q2>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            let bid = from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s);
            sql!("SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0", row = Q2)
                .collect(out);
        },
    )
}
