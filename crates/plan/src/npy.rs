//! Input files: `.npy` arrays (initial positions, perceptron weights, states to certify) and
//! the content hash of any file input.
//!
//! Every layout the `.npy` format allows is either read correctly or refused by name: C and
//! Fortran order, either byte order, floats of 4 and 8 bytes and integers of 1 to 8 bytes are
//! read (integers only where they are exact as f64); half and quadruple floats, complex,
//! booleans, strings, dates, raw bytes and structured records are refused, as are arrays
//! that are not 2-d. Sizes are checked before anything is allocated: an input must be a
//! regular file (not a folder, a device such as `/dev/zero`, or a pipe), its header of bounded
//! size and nesting, its shape at most [`MAX_INPUT_VALUES`] values, and its data as long as
//! the shape says, from the file's metadata.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Most values an input array may hold: the solver's limit on a state's coordinates.
pub const MAX_INPUT_VALUES: u64 = sphereflow_solver::params::MAX_COORDINATES as u64;

/// Largest header read (numpy itself refuses headers over 10 000 bytes unless told otherwise).
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Deepest nesting of brackets in a header (numpy's own headers nest two deep).
const MAX_HEADER_NESTING: usize = 16;

/// Largest integer every smaller one of which an f64 holds exactly (2^53).
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Opens an input file after checking, from its metadata, that it is a regular file; returns
/// it with its length in bytes.
///
/// # Errors
/// A message (without the path) saying why: missing, unreadable, a folder, a device or pipe.
pub fn open_input(path: &Path) -> Result<(File, u64), String> {
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if metadata.is_dir() {
        return Err("is a folder, not a file".into());
    }
    if !metadata.is_file() {
        return Err("is not a regular file (a device, a pipe or a socket)".into());
    }
    let file = File::open(path).map_err(|e| e.to_string())?;
    Ok((file, metadata.len()))
}

/// The blake3 hash (hex) of an input file's bytes, read in a stream: the content that enters
/// a task's identity.
///
/// # Errors
/// As [`open_input`], and read errors.
pub fn hash_file(path: &Path) -> Result<String, String> {
    let (file, _) = open_input(path)?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(BufReader::new(file))
        .map_err(|e| e.to_string())?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// How a dtype's values become f64, or why they do not.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Element {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

/// The element kind of a dtype, or a message naming it.
fn element(dtype: &npyz::DType) -> Result<Element, String> {
    use npyz::TypeChar;
    let plain = match dtype {
        npyz::DType::Plain(plain) => plain,
        other => {
            return Err(format!(
                "a structured array (dtype {}): expected plain numbers (float64)",
                other.descr()
            ))
        }
    };
    let size = plain.size_field();
    let refuse = |what: &str| {
        Err(format!(
            "dtype {plain} ({what}) is not read: save the array as float64 (or float32)"
        ))
    };
    match (plain.type_char(), size) {
        (TypeChar::Float, 4) => Ok(Element::F32),
        (TypeChar::Float, 8) => Ok(Element::F64),
        (TypeChar::Float, 2) => refuse("half-precision floats"),
        (TypeChar::Float, _) => refuse("extended-precision floats"),
        (TypeChar::Int, 1) => Ok(Element::I8),
        (TypeChar::Int, 2) => Ok(Element::I16),
        (TypeChar::Int, 4) => Ok(Element::I32),
        (TypeChar::Int, 8) => Ok(Element::I64),
        (TypeChar::Uint, 1) => Ok(Element::U8),
        (TypeChar::Uint, 2) => Ok(Element::U16),
        (TypeChar::Uint, 4) => Ok(Element::U32),
        (TypeChar::Uint, 8) => Ok(Element::U64),
        (TypeChar::Int | TypeChar::Uint, _) => refuse("integers of an unusual size"),
        (TypeChar::Complex, _) => refuse("complex numbers"),
        (TypeChar::Bool, _) => refuse("booleans"),
        (TypeChar::TimeDelta | TypeChar::DateTime, _) => refuse("dates or durations"),
        (TypeChar::ByteStr | TypeChar::UnicodeStr, _) => refuse("text"),
        _ => refuse("raw bytes"),
    }
}

/// The deepest nesting of brackets in a header's text.
fn nesting(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for byte in text {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Every `shape` of a header's text, each as its dimensions (numpy writes
/// `'shape': (3, 2), `); an error for a shape that is not a tuple of non-negative integers.
fn shapes(text: &str) -> Result<Vec<Vec<u64>>, String> {
    let mut found = Vec::new();
    for quote in ["'shape'", "\"shape\""] {
        for (at, _) in text.match_indices(quote) {
            let rest = text[at + quote.len()..].trim_start();
            let Some(rest) = rest.strip_prefix(':') else {
                continue;
            };
            let rest = rest.trim_start();
            let close = match rest.chars().next() {
                Some('(') => ')',
                Some('[') => ']',
                _ => return Err("the header's shape is not a tuple".into()),
            };
            let Some(end) = rest.find(close) else {
                return Err("the header's shape is not closed".into());
            };
            let mut dims = Vec::new();
            for part in rest[1..end].split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let digits = part.strip_suffix('L').unwrap_or(part);
                let dim = digits
                    .parse::<u64>()
                    .ok()
                    .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()));
                match dim {
                    Some(dim) => dims.push(dim),
                    None => {
                        return Err(format!(
                            "the header's shape has {part:?}, not a non-negative integer"
                        ))
                    }
                }
            }
            found.push(dims);
        }
    }
    Ok(found)
}

/// The layout of an array as a reader says it: `[3, 2] of <f8`.
fn layout(shape: &[u64], dtype: &npyz::DType) -> String {
    format!("{shape:?} of {}", dtype_name(dtype))
}

/// A dtype as numpy writes it, without quotes: `<f8`.
fn dtype_name(dtype: &npyz::DType) -> String {
    match dtype {
        npyz::DType::Plain(plain) => plain.to_string(),
        other => other.descr(),
    }
}

/// Reads a 2-d `.npy` array as `(rows, columns, values)`, the values row after row whatever
/// the file's order (C or Fortran) and byte order; floats of 4 or 8 bytes and integers exact
/// as f64 are read, anything else is refused by name.
///
/// # Errors
/// A message that names the file: not a regular file, not `.npy`, a header too large or
/// malformed, not 2-d, empty, more than [`MAX_INPUT_VALUES`] values, a dtype that is not read,
/// an integer not exact as f64, or data shorter than its shape.
pub fn read_npy(path: &Path) -> Result<(usize, usize, Vec<f64>), String> {
    let fail = |reason: String| format!("{}: {reason}", path.display());
    let (mut file, length) = open_input(path).map_err(fail)?;
    // Magic, version, header length: 10 bytes (version 1) or 12 (versions 2 and 3).
    let mut prefix = vec![0u8; 10];
    let not_npy = || fail("not an .npy file (it does not start with \\x93NUMPY)".into());
    file.read_exact(&mut prefix).map_err(|_| not_npy())?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Err(not_npy());
    }
    let header_length = match prefix[6] {
        1 => u64::from(u16::from_le_bytes([prefix[8], prefix[9]])),
        2 | 3 => {
            let mut rest = [0u8; 2];
            file.read_exact(&mut rest).map_err(|_| not_npy())?;
            prefix.extend_from_slice(&rest);
            u64::from(u32::from_le_bytes([prefix[8], prefix[9], rest[0], rest[1]]))
        }
        major => {
            return Err(fail(format!(
                ".npy format version {major}.{} is not read (versions 1 to 3 are)",
                prefix[7]
            )))
        }
    };
    if header_length > MAX_HEADER_BYTES {
        return Err(fail(format!(
            "the header claims {header_length} bytes, more than {MAX_HEADER_BYTES}"
        )));
    }
    let data_start = prefix.len() as u64 + header_length;
    if data_start > length {
        return Err(fail(format!(
            "the header claims {header_length} bytes, but the file has {length} in all"
        )));
    }
    let mut header = vec![0u8; header_length as usize];
    file.read_exact(&mut header)
        .map_err(|e| fail(format!("reading the header: {e}")))?;
    if nesting(&header) > MAX_HEADER_NESTING {
        return Err(fail(format!(
            "the header nests brackets more than {MAX_HEADER_NESTING} deep"
        )));
    }
    let text =
        std::str::from_utf8(&header).map_err(|_| fail("the header is not text (UTF-8)".into()))?;
    // The reader below multiplies the dimensions unchecked: check them first.
    let declared = shapes(text).map_err(fail)?;
    if declared.is_empty() {
        return Err(fail("the header gives no shape".into()));
    }
    for shape in &declared {
        let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        if count.is_none_or(|n| n > MAX_INPUT_VALUES) {
            return Err(fail(format!(
                "shape {shape:?} has more than {MAX_INPUT_VALUES} values"
            )));
        }
    }
    let whole: Vec<u8> = prefix.iter().chain(&header).copied().collect();
    let parsed = npyz::NpyHeader::from_reader(&whole[..])
        .map_err(|e| fail(format!("not an .npy file: {e}")))?;
    let shape = parsed.shape().to_vec();
    let dtype = parsed.dtype();
    let kind = element(&dtype).map_err(fail)?;
    let (rows, cols) = match shape.as_slice() {
        [rows, cols] => (*rows, *cols),
        [] => {
            return Err(fail(format!(
                "a 0-d array (one {} value): expected a 2-d array of rows",
                dtype_name(&dtype)
            )))
        }
        [n] => {
            return Err(fail(format!(
                "a 1-d array of {n} values: expected a 2-d array of rows (reshape it to \
                 (rows, columns))"
            )))
        }
        _ => {
            return Err(fail(format!(
                "a {}-d array ({}): expected a 2-d array of rows",
                shape.len(),
                layout(&shape, &dtype)
            )))
        }
    };
    if rows == 0 || cols == 0 {
        return Err(fail(format!(
            "the array is empty ({})",
            layout(&shape, &dtype)
        )));
    }
    let count = rows * cols;
    let item_size = match &dtype {
        npyz::DType::Plain(plain) => plain.size_field(),
        _ => unreachable!("only plain dtypes are read"),
    };
    let needed = count * item_size;
    let available = length - data_start;
    if available < needed {
        return Err(fail(format!(
            "{} needs {needed} bytes of data, but the file holds {available}",
            layout(&shape, &dtype)
        )));
    }
    if available > needed {
        // Data past the shape: the header does not describe the file (a truncated or edited
        // header, or two arrays in one file), so no reading of it can be trusted.
        return Err(fail(format!(
            "{} needs {needed} bytes of data, but the file holds {available}: more than its \
             header says",
            layout(&shape, &dtype)
        )));
    }
    let order = parsed.order();
    let npy = npyz::NpyFile::with_header(parsed, BufReader::new(file.take(needed)));
    let read_error = |e: std::io::Error| fail(format!("reading the data: {e}"));
    let values: Vec<f64> = match kind {
        Element::F64 => npy.into_vec::<f64>().map_err(read_error)?,
        Element::F32 => convert(npy.into_vec::<f32>().map_err(read_error)?, f64::from),
        Element::I8 => convert(npy.into_vec::<i8>().map_err(read_error)?, f64::from),
        Element::I16 => convert(npy.into_vec::<i16>().map_err(read_error)?, f64::from),
        Element::I32 => convert(npy.into_vec::<i32>().map_err(read_error)?, f64::from),
        Element::U8 => convert(npy.into_vec::<u8>().map_err(read_error)?, f64::from),
        Element::U16 => convert(npy.into_vec::<u16>().map_err(read_error)?, f64::from),
        Element::U32 => convert(npy.into_vec::<u32>().map_err(read_error)?, f64::from),
        Element::I64 => {
            exact(npy.into_vec::<i64>().map_err(read_error)?, |v| v as f64).map_err(fail)?
        }
        Element::U64 => {
            exact(npy.into_vec::<u64>().map_err(read_error)?, |v| v as f64).map_err(fail)?
        }
    };
    if values.len() as u64 != count {
        return Err(fail(format!(
            "{} values for shape [{rows}, {cols}]",
            values.len()
        )));
    }
    let (rows, cols) = (rows as usize, cols as usize);
    let values = if order == npyz::Order::Fortran {
        // Column after column on disk: transpose into rows.
        let mut by_row = vec![0.0; values.len()];
        for (index, value) in values.into_iter().enumerate() {
            let (col, row) = (index / rows, index % rows);
            by_row[row * cols + col] = value;
        }
        by_row
    } else {
        values
    };
    Ok((rows, cols, values))
}

fn convert<T: Copy>(values: Vec<T>, to_f64: impl Fn(T) -> f64) -> Vec<f64> {
    values.into_iter().map(to_f64).collect()
}

/// 64-bit integers as f64, refusing one beyond 2^53 (where f64 no longer holds every integer).
fn exact<T: Copy + std::fmt::Display>(
    values: Vec<T>,
    to_f64: impl Fn(T) -> f64,
) -> Result<Vec<f64>, String> {
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let x = to_f64(value);
            if x.abs() > EXACT_INTEGER {
                Err(format!(
                    "value {index} ({value}) is an integer beyond 2^53, not exact as a float64"
                ))
            } else {
                Ok(x)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `.npy` file's bytes: version 1, the given header dict, then `data`.
    pub(crate) fn npy_file(dict: &str, data: &[u8]) -> Vec<u8> {
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

    fn read(bytes: &[u8]) -> Result<(usize, usize, Vec<f64>), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        std::fs::write(&path, bytes).unwrap();
        read_npy(&path).map_err(|e| e.replace(&path.display().to_string(), "a.npy"))
    }

    fn dict(descr: &str, fortran: bool, shape: &str) -> String {
        let order = if fortran { "True" } else { "False" };
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}")
    }

    /// The matrix [[1, 2, 3], [4, 5, 6]] in every order, byte order and readable dtype.
    #[test]
    fn every_readable_layout_gives_the_same_rows() {
        let expected = (2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let c_order = [1u8, 2, 3, 4, 5, 6];
        let f_order = [1u8, 4, 2, 5, 3, 6];
        for fortran in [false, true] {
            let order = if fortran { f_order } else { c_order };
            let cases: Vec<(String, Vec<u8>)> = vec![
                (
                    "<f8".into(),
                    order
                        .iter()
                        .flat_map(|&v| f64::from(v).to_le_bytes())
                        .collect(),
                ),
                (
                    ">f8".into(),
                    order
                        .iter()
                        .flat_map(|&v| f64::from(v).to_be_bytes())
                        .collect(),
                ),
                (
                    "<f4".into(),
                    order
                        .iter()
                        .flat_map(|&v| f32::from(v).to_le_bytes())
                        .collect(),
                ),
                (
                    ">f4".into(),
                    order
                        .iter()
                        .flat_map(|&v| f32::from(v).to_be_bytes())
                        .collect(),
                ),
                (
                    "<i8".into(),
                    order
                        .iter()
                        .flat_map(|&v| i64::from(v).to_le_bytes())
                        .collect(),
                ),
                (
                    ">i4".into(),
                    order
                        .iter()
                        .flat_map(|&v| i32::from(v).to_be_bytes())
                        .collect(),
                ),
                (
                    "<i2".into(),
                    order
                        .iter()
                        .flat_map(|&v| i16::from(v).to_le_bytes())
                        .collect(),
                ),
                ("|i1".into(), order.to_vec()),
                ("|u1".into(), order.to_vec()),
                (
                    "<u8".into(),
                    order
                        .iter()
                        .flat_map(|&v| u64::from(v).to_le_bytes())
                        .collect(),
                ),
            ];
            for (descr, data) in cases {
                let bytes = npy_file(&dict(&descr, fortran, "(2, 3)"), &data);
                assert_eq!(
                    read(&bytes),
                    Ok(expected.clone()),
                    "{descr} fortran={fortran}"
                );
            }
        }
    }

    #[test]
    fn layouts_that_are_not_read_are_refused_by_name() {
        let eight = [0u8; 64];
        for (descr, shape, expected) in [
            (
                "<f2",
                "(2, 2)",
                "dtype <f2 (half-precision floats) is not read",
            ),
            ("<f16", "(2, 2)", "extended-precision floats"),
            ("<c16", "(2, 2)", "dtype <c16 (complex numbers) is not read"),
            ("|b1", "(2, 2)", "dtype |b1 (booleans) is not read"),
            ("<U2", "(2, 2)", "(text) is not read"),
            ("<M8[s]", "(2, 2)", "(dates or durations) is not read"),
            ("|V8", "(2, 2)", "(raw bytes) is not read"),
            ("<f8", "()", "a 0-d array (one <f8 value)"),
            ("<f8", "(4,)", "a 1-d array of 4 values"),
            ("<f8", "(2, 1, 2)", "a 3-d array ([2, 1, 2] of <f8)"),
            ("<f8", "(0, 2)", "the array is empty"),
            (
                "<f8",
                "(3, 3)",
                "[3, 3] of <f8 needs 72 bytes of data, but the file holds 64",
            ),
            (
                "<f8",
                "(2, 2)",
                "[2, 2] of <f8 needs 32 bytes of data, but the file holds 64: more than its header",
            ),
            (
                "<f8",
                "(4294967296, 4294967296)",
                "has more than 1000000000 values",
            ),
        ] {
            let error = read(&npy_file(&dict(descr, false, shape), &eight)).unwrap_err();
            assert!(error.starts_with("a.npy: "), "{error}");
            assert!(error.contains(expected), "{descr} {shape}: {error}");
        }
        let record = "{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': False, \
                      'shape': (2,), }";
        let error = read(&npy_file(record, &eight)).unwrap_err();
        assert!(error.contains("a structured array"), "{error}");
        let big = npy_file(&dict("<i8", false, "(1, 1)"), &(1i64 << 60).to_le_bytes());
        assert!(read(&big).unwrap_err().contains("beyond 2^53"));
    }

    #[test]
    fn malformed_files_are_refused_before_any_allocation() {
        assert!(read(b"not numpy").unwrap_err().contains("not an .npy file"));
        let mut huge_header = b"\x93NUMPY\x02\x00".to_vec();
        huge_header.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&huge_header)
            .unwrap_err()
            .contains("more than 1048576"));
        let mut short = b"\x93NUMPY\x01\x00".to_vec();
        short.extend_from_slice(&1000u16.to_le_bytes());
        assert!(read(&short).unwrap_err().contains("the file has 10 in all"));
        let deep = format!("{}{}", "(".repeat(5000), ")".repeat(5000));
        assert!(read(&npy_file(&deep, &[])).unwrap_err().contains("nests"));
        let negative = npy_file(&dict("<f8", false, "(-1, 2)"), &[0; 16]);
        assert!(read(&negative)
            .unwrap_err()
            .contains("not a non-negative integer"));
        let dir = tempfile::tempdir().unwrap();
        let error = read_npy(dir.path()).unwrap_err();
        assert!(error.ends_with("is a folder, not a file"), "{error}");
        let error = read_npy(Path::new("/dev/zero")).unwrap_err();
        assert!(error.contains("not a regular file"), "{error}");
        assert!(hash_file(Path::new("/dev/zero")).is_err());
    }
}
