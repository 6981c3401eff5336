use tidemill::prelude::*;

fn main() {
    let v = vec![1u64, 2, 3];
    let _ = stream! { let s = from_collection(v).map(|x| x + 1); s.late().print(); s.print(); };
}
