//! The payments routes, one file each.

pub mod create;
pub mod get;
