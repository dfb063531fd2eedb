//! minibank
