use tidemill::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Bid {
    auction: u64,
    price: i64,
    ts: u64,
}

fn main() {
    let data: Vec<Bid> = Vec::new();
    let _ = stream! {
        let bids = from_collection(data).assign_timestamps(|b| b.ts, out_of_orderness = 1s);
        sql!("SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end").print();
    };
}
