//! actors steps (in progress).
