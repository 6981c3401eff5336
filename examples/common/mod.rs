//! Code shared by the examples, as a module each example declares (`mod common;`).

pub mod actions;
pub mod transactions;
