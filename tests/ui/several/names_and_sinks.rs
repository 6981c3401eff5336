// Name and sink mistakes are reported together: a misspelt name, a stream defined twice,
// and a stream that reaches no sink.
use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let numbers = from_collection(vec![1u64, 2]);
        let numbers = from_collection(vec![3u64]);
        numbrs.print();
        numbers.map(|x| x + 1);
    };
}
