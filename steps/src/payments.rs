//! payments steps (in progress).
