//! platform steps (in progress).
