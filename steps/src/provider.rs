//! provider steps (in progress).
