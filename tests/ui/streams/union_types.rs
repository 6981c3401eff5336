use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let numbers = from_collection(vec![1u64, 2, 3]);
        let words = from_collection(vec!["one".to_string()]);
        numbers.union(words).print();
    };
}
