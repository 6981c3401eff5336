use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        from_collection(vec![1u64]).print().map(|x| x + 1).print();
    };
}
