//! Fuzzing the sweep language: arbitrary text and arbitrary mutations of valid sweep files fed
//! to `Sweep::parse` and `Plan::new` (with and without a profile) never panic, and every error
//! starts with the name of the file it is about.

use proptest::prelude::*;
use sphereflow_plan::{Plan, PlanOptions, Sweep};

#[path = "support/fuzzing.rs"]
mod fuzzing;

use fuzzing::{parse_and_plan, write_positions, ORIGIN, SEEDS};

/// One edit of a text: `(kind, position, payload)`.
fn mutate(text: &str, edits: &[(u8, usize, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (kind, position, payload) in edits {
        let at = if chars.is_empty() {
            0
        } else {
            position % (chars.len() + 1)
        };
        match kind % 5 {
            // Insert text.
            0 => {
                chars.splice(at..at, payload.chars());
            }
            // Delete a run of characters.
            1 => {
                let end = (at + payload.len() + 1).min(chars.len());
                chars.drain(at..end);
            }
            // Replace one character.
            2 => {
                if at < chars.len() {
                    chars[at] = payload.chars().next().unwrap_or('"');
                }
            }
            // Duplicate a line.
            3 => {
                let line_start = chars[..at]
                    .iter()
                    .rposition(|c| *c == '\n')
                    .map_or(0, |i| i + 1);
                let line_end = chars[at..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(chars.len(), |i| at + i + 1);
                let line: Vec<char> = chars[line_start..line_end].to_vec();
                chars.splice(line_end..line_end, line);
            }
            // Swap a number-like token for an extreme value.
            _ => {
                let extreme = [
                    "0",
                    "-1",
                    "1e308",
                    "-0.0",
                    "nan",
                    "inf",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "1e-320",
                    "[]",
                    "{}",
                    "\"\"",
                ][payload.len() % 12];
                let end = chars[at..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
                    .map_or(chars.len(), |i| at + i);
                chars.splice(at..end, extreme.chars());
            }
        }
    }
    chars.into_iter().collect()
}

/// Text made of TOML's punctuation, keywords and parameter names, which random strings rarely
/// hit.
fn tomlish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "=",
        ",",
        "\"",
        "'",
        "\n",
        " ",
        ".",
        "#",
        "grid",
        "model",
        "beta",
        "particles",
        "init.seed",
        "model.beta",
        "range",
        "linspace",
        "logspace",
        "geomspace",
        "zip",
        "exclude",
        "include",
        "profile",
        "sweep",
        "name",
        "1",
        "0",
        "-3",
        "2.5",
        "1e400",
        "nan",
        "inf",
        "true",
        "\"paper\"",
        "positions_file",
        "\"x0.npy\"",
        "perceptron",
        "activation",
        "\"none\"",
        "stop",
        "max_steps",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|p| p.concat())
}

#[test]
fn the_seed_files_plan() {
    let base = tempfile::tempdir().unwrap();
    write_positions(base.path());
    for text in SEEDS {
        let sweep = Sweep::parse(text, ORIGIN, base.path(), "fuzzed").unwrap();
        Plan::new(sweep, &PlanOptions::default()).unwrap();
    }
}

#[test]
fn ranges_at_the_ends_of_the_integers_do_not_overflow() {
    let base = tempfile::tempdir().unwrap();
    let seeds = |range: &str| -> Result<Vec<String>, String> {
        let text = format!("[grid]\nmodel.particles = {{ range = {range} }}\n");
        let sweep = Sweep::parse(&text, ORIGIN, base.path(), "r").map_err(|e| e.to_string())?;
        Ok(sweep.axes[0]
            .values
            .iter()
            .map(|v| v[0].value.to_string())
            .collect())
    };
    assert_eq!(seeds("[1, 10, 9223372036854775807]").unwrap(), ["1"]);
    assert_eq!(
        seeds("[9223372036854775807, 1, -9223372036854775808]").unwrap(),
        ["9223372036854775807"]
    );
    assert_eq!(
        seeds("[2, 9223372036854775807, 4611686018427387904]").unwrap(),
        ["2", "4611686018427387906"]
    );
    let error = seeds("[-9223372036854775808, 9223372036854775807]").unwrap_err();
    assert!(error.contains("18446744073709551615 values"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let base = tempfile::tempdir().unwrap();
        parse_and_plan(&text, base.path());
    }

    #[test]
    fn toml_like_text_never_panics(text in tomlish()) {
        let base = tempfile::tempdir().unwrap();
        write_positions(base.path());
        parse_and_plan(&text, base.path());
    }

    #[test]
    fn mutated_sweeps_never_panic(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), "[ -~\n]{0,12}"), 1..6),
    ) {
        let base = tempfile::tempdir().unwrap();
        write_positions(base.path());
        parse_and_plan(&mutate(SEEDS[seed], &edits), base.path());
    }
}
