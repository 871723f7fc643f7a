//! Fuzzing the `.npy` reader: valid files of every layout, mutated byte by byte, truncated or
//! extended, are read whole or refused with the file's name, never with a panic.

use proptest::prelude::*;

#[path = "support/npy_fuzzing.rs"]
mod npy_fuzzing;

use npy_fuzzing::{check_npy, scratch_path, seeds};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_npy_files_never_panic(
        seed in 0usize..9,
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..8),
        cut in any::<Option<usize>>(),
    ) {
        let mut bytes = seeds()[seed].clone();
        for (kind, position, byte) in edits {
            let at = position % (bytes.len() + 1);
            match kind % 3 {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        check_npy(&bytes, &scratch_path());
    }

    #[test]
    fn arbitrary_headers_never_panic(header in "\\PC{0,200}", data in prop::collection::vec(any::<u8>(), 0..64)) {
        let bytes = npy_fuzzing::npy_file(&header, &data);
        check_npy(&bytes, &scratch_path());
    }
}

#[test]
fn every_seed_is_checked() {
    let path = scratch_path();
    for seed in seeds() {
        check_npy(&seed, &path);
    }
}
