use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let doubled = from_collection(vec![1u64, 2, 3]).map(|x| x * 2);
        from_collection(vec![4u64]).print();
    };
}
