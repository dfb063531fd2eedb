//! traces steps (in progress).
