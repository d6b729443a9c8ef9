//! Baseline relay (placeholder, replaced below).
fn main() {}
