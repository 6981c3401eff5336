// A statement with a mistake is left out of the pipeline, and so is every use of its
// stream: one message for the mistake, not one per use. The other statements are still
// checked.
use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let keyed = from_collection(vec![1u64, 2]).key_by(|x| *x).nope();
        keyed.count().print();
        keyed.reduce(|a, b| a + b).print();
        from_collection(vec![3u64]).key_by(|x| *x).map(|x| x).print();
    };
}
