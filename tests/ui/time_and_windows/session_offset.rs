use tidemill::prelude::*;

fn main() {
    let v = vec![1u64, 2, 3];
    let _ = stream! { from_collection(v).assign_timestamps(|x| *x).key_by(|x| *x).window(session(30s, offset = 5s)).count().print(); };
}
