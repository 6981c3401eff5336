use tidemill::prelude::*;

fn main() {
    let v = vec![1u64, 2, 3];
    let _ = stream! { from_collection(v).key_by(|x| *x).window(tumbling(10s)).count().print(); };
}
