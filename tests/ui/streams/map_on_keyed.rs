use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        from_collection(vec![(1u64, 2u64)]).key_by(0).map(|p| p.1).print();
    };
}
