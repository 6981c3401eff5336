use tidemill::prelude::*;

fn main() {
    let a = vec![(1u64, 10u64)];
    let b = vec![(1u64, 12u64)];
    let _ = stream! {
        let right = from_collection(b).assign_timestamps(|r| r.1);
        from_collection(a)
            .assign_timestamps(|l| l.1)
            .key_by(|l| l.0)
            .interval_join(right.key_by(|r| r.0))
            .between(0s, 5s)
            .process(|l, r, ctx, out| {
                ctx.register_event_time_timer(ctx.timestamp() + 1000);
                out.push(l.0 + r.1);
            })
            .print();
    };
}
