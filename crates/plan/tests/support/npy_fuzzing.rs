//! What the proptest fuzzing of the `.npy` reader (`tests/fuzz_npy.rs`) and the `cargo fuzz`
//! target (`fuzz/fuzz_targets/npy_read.rs`) share: valid files to mutate and the check that
//! reading any bytes either gives a whole 2-d array or an error naming the file, without a
//! panic and without allocating more than the file holds.

use std::path::{Path, PathBuf};

/// An `.npy` file's bytes: version 1, the header dict padded as numpy pads it, then `data`.
pub fn npy_file(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Valid files of several layouts (orders, byte orders, dtypes, dimensions) to mutate.
pub fn seeds() -> Vec<Vec<u8>> {
    let values: Vec<u8> = (0..6u8).flat_map(|v| f64::from(v).to_le_bytes()).collect();
    let big: Vec<u8> = (0..6u8).flat_map(|v| f64::from(v).to_be_bytes()).collect();
    let floats: Vec<u8> = (0..6u8).flat_map(|v| f32::from(v).to_le_bytes()).collect();
    let ints: Vec<u8> = (0..6i64).flat_map(|v| v.to_le_bytes()).collect();
    let dict = |descr: &str, fortran: &str, shape: &str| {
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
    };
    vec![
        npy_file(&dict("<f8", "False", "(3, 2)"), &values),
        npy_file(&dict("<f8", "True", "(2, 3)"), &values),
        npy_file(&dict(">f8", "False", "(6, 1)"), &big),
        npy_file(&dict("<f4", "False", "(2, 3)"), &floats),
        npy_file(&dict("<i8", "True", "(3, 2)"), &ints),
        npy_file(&dict("<f8", "False", "(6,)"), &values),
        npy_file(&dict("<f8", "False", "(1, 2, 3)"), &values),
        npy_file(&dict("<f8", "False", "()"), &values[..8]),
        npy_file(
            "{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            &values,
        ),
    ]
}

/// Reads `bytes` as an `.npy` file written at `path`; panics on a read whose values do not
/// fill its shape, or an error that does not start with the file's path.
pub fn check_npy(bytes: &[u8], path: &Path) {
    std::fs::write(path, bytes).expect("a temporary file");
    match sphereflow_plan::read_npy(path) {
        Ok((rows, cols, values)) => {
            assert!(rows > 0 && cols > 0, "an empty array read: {rows} × {cols}");
            assert_eq!(
                rows * cols,
                values.len(),
                "values that do not fill the shape"
            );
            assert!(
                values.len() * 8 <= bytes.len() * 8,
                "more values than the file has bytes"
            );
        }
        Err(error) => {
            let name = path.display().to_string();
            assert!(error.starts_with(&name), "error without the file: {error}");
        }
    }
}

/// This thread's path for fuzzed files, in a temporary folder made once per process.
pub fn scratch_path() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder").keep());
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    dir.join(format!("fuzzed-{thread}.npy"))
}
