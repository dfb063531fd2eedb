//! harness core
