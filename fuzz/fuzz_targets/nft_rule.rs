//! One nf_tables rule dump datagram, decoded and printed: errors, never
//! panics. Input: `[family][datagram]` (`common::nft_rule`).

#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::nft_rule(data);
});
