//! Packing and codec figures: build and encode the UPDATEs for 10,000 host routes, decode them.

fn main() {}
