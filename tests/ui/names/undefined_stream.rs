use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let numbers = from_collection(vec![1u64, 2, 3]);
        numbrs.map(|x| x + 1).print();
    };
}
