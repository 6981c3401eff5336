use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        from_collection(vec![1u64, 2, 3]).kafka_sink("127.0.0.1:9092", "out", Json, partition = |r| *r);
    };
}
