use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let big = from_source(json_lines::<u64>("in.jsonl")).filter(|x| *x > 10);
        big.dead_letters().print();
        big.print();
    };
}
