use tidemill::prelude::*;

fn main() {
    let v = vec![1u64, 2, 3];
    let _ = stream! { from_collection(v).with_processing_time().key_by(|x| *x).window(tumbling(1s)).allowed_lateness(5s).count().print(); };
}
