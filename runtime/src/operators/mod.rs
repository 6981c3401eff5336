//! Operators the generated code calls: fused stateless chains, union, keyed state.

pub mod fused;
pub mod keyed;
mod union;

pub use keyed::KeyedStream;
pub use union::union;
