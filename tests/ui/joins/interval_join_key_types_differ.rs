use tidemill::prelude::*;

fn main() {
    let orders = vec![(1u64, 10u64)];
    let users = vec![("ann".to_string(), 5u64)];
    let _ = stream! {
        let b = from_collection(users).assign_timestamps(|u| u.1);
        from_collection(orders)
            .assign_timestamps(|o| o.1)
            .key_by(|o| o.0)
            .interval_join(b.key_by(|u| u.0.clone()))
            .between(-5s, 10s)
            .process(|o, u, _ctx, out| out.push(format!("{} {}", o.0, u.0)))
            .print();
    };
}
