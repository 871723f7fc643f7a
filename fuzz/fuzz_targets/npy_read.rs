//! The `.npy` reader on arbitrary bytes: `read_npy` either reads a whole 2-d array or fails
//! with an error that starts with the file's path; a panic, an abort, a hang or an allocation
//! beyond the file's size (libFuzzer's `-rss_limit_mb`) is a finding.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/plan/tests/support/npy_fuzzing.rs"]
#[allow(dead_code)]
mod npy_fuzzing;

/// The file the fuzzed bytes are written to, in a folder made once per fuzzing process.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(npy_fuzzing::scratch_path)
}

fuzz_target!(|data: &[u8]| {
    npy_fuzzing::check_npy(data, path());
});
