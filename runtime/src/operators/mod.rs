//! Operators the generated code calls: fused stateless chains, union, keyed aggregations,
//! process functions.

pub mod fused;
pub mod keyed;
pub mod process;
mod union;

pub use keyed::KeyedStream;
pub use union::union;
