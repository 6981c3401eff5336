use tidemill::prelude::*;

const ODD: OutputTag<u8> = OutputTag::new("odd");

fn main() {
    let v = vec![1u8, 2];
    let _ = stream! { from_collection(v).map(|x| x + 1).side_output(ODD).print(); };
}
