//! Sweep parsing and planning on arbitrary bytes: `Sweep::parse`, every `[profile.<name>]`
//! and `Plan::new` either succeed or fail with an error that starts with the file's name;
//! a panic, an abort or a hang is a finding.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/plan/tests/support/fuzzing.rs"]
#[allow(dead_code)]
mod fuzzing;

/// A folder holding the `x0.npy` that sweeps may name, made once per fuzzing process.
fn base() -> &'static PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        fuzzing::write_positions(&dir);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // Sweep files are read as UTF-8 (anything else is refused before parsing, with a test of
    // its own); the fuzzer's bytes are taken as text the same way.
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::parse_and_plan(text, base());
    }
});
