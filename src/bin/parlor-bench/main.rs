//! parlor-bench (placeholder).
fn main() {}
