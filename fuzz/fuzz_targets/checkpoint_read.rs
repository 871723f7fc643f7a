//! The checkpoint reader on arbitrary bytes: a task's checkpoint file holding them is refused
//! (unreadable, another task's, not a run of this task) or resumed and run to its end; a panic,
//! an abort or a hang is a finding.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/exec/tests/support/checkpoint_fuzzing.rs"]
#[allow(dead_code)]
mod checkpoint_fuzzing;

use checkpoint_fuzzing::{bench, check_checkpoint, Bench};

fn shared() -> &'static Bench {
    static BENCH: OnceLock<Bench> = OnceLock::new();
    BENCH.get_or_init(bench)
}

fuzz_target!(|data: &[u8]| {
    check_checkpoint(shared(), data);
});
