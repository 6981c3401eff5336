use tidemill::prelude::*;

fn main() {
    let v = vec![1u64, 2, 3];
    let _ = stream! { from_collection(v).assign_timestamps(|x| *x, out_of_orderness = 4).key_by(|x| *x).window(tumbling(10s)).count().print(); };
}
