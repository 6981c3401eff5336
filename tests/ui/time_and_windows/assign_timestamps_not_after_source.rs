use tidemill::prelude::*;

fn main() {
    let v = vec![1u64, 2, 3];
    let _ = stream! { from_collection(v).map(|x| (x, 1u64)).key_by(0).sum(1).assign_timestamps(|x| x.1).print(); };
}
