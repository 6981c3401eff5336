// Three independent mistakes in one pipeline: each gets its own message at its own span,
// and none of them adds errors of rustc's (the macro expands to a well-typed placeholder).
use tidemill::prelude::*;

fn main() {
    let _ = stream! {
        let words = from_collection(vec!["a b".to_string()]);
        words.mapp(|w| w).print();
        words.key_by(|w| w.clone()).window(tumbling(0s)).count().print();
        from_collection(vec![1u64]).filter(42).print();
    };
}
