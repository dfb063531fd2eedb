//! access steps (in progress).
