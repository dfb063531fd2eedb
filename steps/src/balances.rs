//! balances steps (in progress).
