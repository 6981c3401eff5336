use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        from_collection(vec![1u64, 2, 3]).map(|x| x.len()).print();
    };
}
