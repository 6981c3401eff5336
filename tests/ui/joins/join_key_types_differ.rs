use tidemill::prelude::*;

fn main() {
    let orders = vec![(1u64, 10u64)];
    let users = vec![("ann".to_string(), 5u64)];
    let _ = stream! {
        let a = from_collection(orders).assign_timestamps(|o| o.1);
        let b = from_collection(users).assign_timestamps(|u| u.1);
        a.join(b)
            .on(|o| o.0, |u| u.0.clone())
            .window(tumbling(10s))
            .apply(|o, u| format!("{} {}", o.0, u.0))
            .print();
    };
}
