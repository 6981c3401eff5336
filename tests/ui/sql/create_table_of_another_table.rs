use tidemill::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Bid {
    auction: u64,
    ts: u64,
}

fn main() {
    let data: Vec<Bid> = Vec::new();
    let _ = stream! {
        let bids = from_collection(data);
        sql!("CREATE TABLE bidz (WATERMARK FOR ts AS ts); SELECT auction FROM bids").print();
    };
}
