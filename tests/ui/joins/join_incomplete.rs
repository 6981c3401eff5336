use tidemill::prelude::*;

fn main() {
    let a = vec![(1u64, 10u64)];
    let b = vec![(1u64, 12u64)];
    let _ = stream! {
        let right = from_collection(b).assign_timestamps(|r| r.1);
        from_collection(a)
            .assign_timestamps(|l| l.1)
            .join(right)
            .on(|l| l.0, |r| r.0)
            .print();
    };
}
