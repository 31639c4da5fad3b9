//! One legacy table blob with its hooks, indexed, decoded and printed:
//! errors, never panics. Input: `[family][table][hooks][blob]`
//! (`common::legacy_blob`).

#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = common::legacy_blob(data);
});
