use tidemill::prelude::*;

fn main() {
    let v = vec![(1u8, 2u64)];
    let _ = stream! {
        from_collection(v)
            .assign_timestamps(|x| x.1, out_of_orderness = 1s)
            .key_by(0)
            .count_window(100)
            .allowed_lateness(5s)
            .count()
            .print();
    };
}
