//! http steps (in progress).
