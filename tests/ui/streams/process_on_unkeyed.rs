use tidemill::prelude::*;

struct Pass;

impl KeyedProcessFunction<u8, u8> for Pass {
    type Out = u8;
    fn process_element(&mut self, r: u8, _ctx: &mut Context<'_, u8>, out: &mut Vec<u8>) {
        out.push(r);
    }
}

fn main() {
    let v = vec![1u8, 2];
    let _ = stream! { from_collection(v).process(Pass).print(); };
}
