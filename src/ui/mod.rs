//! The browser app (wasm only).

pub fn start() {}
