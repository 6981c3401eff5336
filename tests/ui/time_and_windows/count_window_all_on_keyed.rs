use tidemill::prelude::*;

fn main() {
    let v = vec![(1u8, 2u64)];
    let _ = stream! { from_collection(v).key_by(0).count_window_all(10).count().print(); };
}
