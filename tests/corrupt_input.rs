//! Corrupt input: the fuzz targets' bodies (`fuzz/fuzz_targets/common.rs`)
//! over the captured seeds in `fuzz/seeds` (real dumps of the Docker
//! fixtures and the extension corpus, both back ends, IPv4 and IPv6), then
//! over their truncations and deterministic mutations. Decoders must
//! answer with errors, never panic; truncated legacy blobs must be
//! rejected. This runs on stable; `cargo +nightly fuzz run ...` explores
//! further from the same seeds.

#![allow(clippy::unwrap_used)]

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;

use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "too few seeds in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// xorshift64*: deterministic mutations, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break length and offset fields.
const EDGES: [u16; 8] = [0, 1, 3, 4, 8, 32, 0x7fff, 0xffff];

/// `count` mutants of `seed`, none touching the first `keep` bytes: bit
/// flips, random bytes, 16-bit edge values (lengths, offsets), cut-outs
/// and duplicated stretches.
fn mutants(seed: &[u8], keep: usize, count: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(count);
    if seed.len() <= keep + 2 {
        return out;
    }
    for _ in 0..count {
        let mut m = seed.to_vec();
        for _ in 0..1 + rng.below(3) {
            // At least two bytes from `at` to the end.
            let at = keep + rng.below(m.len() - keep - 1);
            match rng.below(5) {
                0 => m[at] ^= 1 << rng.below(8),
                1 => m[at] = rng.next() as u8,
                2 => {
                    let v = EDGES[rng.below(EDGES.len())].to_ne_bytes();
                    m[at..at + 2].copy_from_slice(&v);
                }
                3 => {
                    let len = 1 + rng.below(64).min(m.len() - at - 1);
                    m.drain(at..at + len);
                }
                _ => {
                    let len = 1 + rng.below(64).min(m.len() - at - 1);
                    let copy = m[at..at + len].to_vec();
                    m.splice(at..at, copy);
                }
            }
            if m.len() <= keep + 2 {
                break;
            }
        }
        out.push(m);
    }
    out
}

/// Where to cut `len` bytes: everything near both ends, and evenly
/// spaced points in between.
fn cuts(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len.min(300)).collect();
    v.extend(len.saturating_sub(300)..len);
    v.extend((0..512).map(|i| i * len / 512));
    v.sort_unstable();
    v.dedup();
    v
}

/// Inputs the fuzzers once crashed on (`fuzz/regressions/TARGET`).
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn former_fuzz_crashes_are_handled() {
    for (_, input) in regressions("nft_rule") {
        common::nft_rule(&input);
    }
    for (_, input) in regressions("legacy_blob") {
        let _ = common::legacy_blob(&input);
    }
}

#[test]
fn nft_seeds_decode_without_errors() {
    for (name, seed) in seeds("nft_rule") {
        let (ok, failed) = common::nft_rule(&seed);
        assert!(ok > 0, "{name}: no rule decoded");
        assert_eq!(failed, 0, "{name}: a captured rule does not decode");
    }
}

/// Where the messages of a `[family][datagram]` seed start (and its end).
fn message_starts(seed: &[u8]) -> Vec<usize> {
    let mut at = 1;
    let mut starts = vec![at];
    while at + 4 <= seed.len() {
        let len = u32::from_ne_bytes(seed[at..at + 4].try_into().unwrap()) as usize;
        at += (len + 3) & !3;
        starts.push(at.min(seed.len()));
    }
    starts
}

#[test]
fn truncated_nft_datagrams_are_errors_not_panics() {
    for (name, seed) in seeds("nft_rule") {
        let (whole, _) = common::nft_rule(&seed);
        let boundaries = message_starts(&seed);
        for cut in cuts(seed.len()) {
            let (ok, failed) = common::nft_rule(&seed[..cut]);
            assert!(ok <= whole, "{name} cut at {cut}: more rules than whole");
            // A cut inside a message leaves a broken frame: an error.
            if cut > 1 && !boundaries.contains(&cut) {
                assert!(failed > 0, "{name}: cut at {cut} went unnoticed");
            }
        }
    }
}

#[test]
fn mutated_nft_datagrams_are_errors_not_panics() {
    let mut rng = Rng(0x6e66_7464_6f63_746f);
    let mut failures = 0;
    for (_, seed) in seeds("nft_rule") {
        // Big datagrams get fewer mutants: they cost more each.
        let count = if seed.len() > 4096 { 100 } else { 400 };
        for m in mutants(&seed, 1, count, &mut rng) {
            failures += common::nft_rule(&m).1;
        }
    }
    assert!(
        failures > 0,
        "mutations never produced an error: not mutating?"
    );
}

#[test]
fn legacy_seeds_decode() {
    for (name, seed) in seeds("legacy_blob") {
        let rules = common::legacy_blob(&seed).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            rules > 0 || name.contains("raw") || name.contains("mangle"),
            "{name}: no rules"
        );
    }
}

#[test]
fn truncated_legacy_blobs_are_errors_not_panics() {
    for (name, seed) in seeds("legacy_blob") {
        let blob_len = seed.len() - common::LEGACY_HEADER;
        for cut in cuts(blob_len) {
            let short = &seed[..common::LEGACY_HEADER + cut];
            assert!(
                common::legacy_blob(short).is_err(),
                "{name}: blob cut to {cut} of {blob_len} bytes was accepted"
            );
        }
        // A header cut short is no input at all.
        for cut in 0..common::LEGACY_HEADER {
            assert_eq!(common::legacy_blob(&seed[..cut]).ok(), Some(0));
        }
    }
}

#[test]
fn mutated_legacy_blobs_are_errors_not_panics() {
    let mut rng = Rng(0x6c65_6761_6379_2121);
    let mut errors = 0;
    let mut total = 0;
    for (_, seed) in seeds("legacy_blob") {
        // Mutate the hooks as well as the blob (but not family and table).
        for m in mutants(&seed, 2, 300, &mut rng) {
            total += 1;
            if common::legacy_blob(&m).is_err() {
                errors += 1;
            }
        }
    }
    assert!(
        errors > total / 4,
        "only {errors} of {total} mutants were errors"
    );
}
