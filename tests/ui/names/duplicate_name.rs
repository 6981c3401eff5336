use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let numbers = from_collection(vec![1u64, 2, 3]);
        let numbers = from_collection(vec![4u64, 5]);
        numbers.print();
    };
}
