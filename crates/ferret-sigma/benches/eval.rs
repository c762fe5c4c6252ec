//! Micro-benchmarks for the Sigma matcher (filled in below).
fn main() {}
