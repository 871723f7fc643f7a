//! `sphereflow params`: every parameter with its type, default and meaning, as an aligned table
//! or as JSON, and the layout of the state files the tool reads and writes.

use serde_json::json;
use sphereflow_plan::{Kind, ParamSpec, SCHEMA};

/// Arguments of `params`.
#[derive(clap::Args)]
pub struct Args {
    /// Print every parameter as JSON: path, type, allowed values or bounds, default, meaning.
    #[arg(long)]
    json: bool,
}

/// What the footer of the table says about state files (docs/store.md says the same).
pub const STATE_FILES: &str =
    "State files (.npy, float64): `simulate --out`, `stationary --out` and the store's \
final.npy write rows [mass, x_1 .. x_d], masses summing to 1; `stationary --from` and \
init.positions_file read those rows, or n × d unit rows (particles of equal mass).";

/// A parameter's type as the table shows it: `integer`, `float`, `bool`, `file` or the names
/// of an enumeration joined by `|`.
fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Int { .. } => "integer".into(),
        Kind::Float { .. } => "float".into(),
        Kind::Bool => "bool".into(),
        Kind::Enum(names) => names.join("|"),
        Kind::File => "file".into(),
    }
}

/// The table of parameters, each column as wide as its widest cell, then the state files'
/// layout.
pub fn table(specs: &[ParamSpec]) -> String {
    let rows: Vec<[String; 4]> = specs
        .iter()
        .map(|spec| {
            [
                spec.path.to_string(),
                type_name(&spec.kind),
                spec.default.unwrap_or("-").to_string(),
                spec.doc.to_string(),
            ]
        })
        .collect();
    let header = [
        "path".to_string(),
        "type".into(),
        "default".into(),
        "meaning".into(),
    ];
    let widths: Vec<usize> = (0..3)
        .map(|column| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        text += line.trim_end();
        text.push('\n');
    }
    text.push('\n');
    text += STATE_FILES;
    text.push('\n');
    text
}

/// Every parameter as JSON: `{"parameters": [{"path", "type", "values", "min", "max",
/// "min_exclusive", "default", "doc"}, ...], "state_files": ...}`.
pub fn to_json(specs: &[ParamSpec]) -> serde_json::Value {
    let parameters: Vec<_> = specs
        .iter()
        .map(|spec| {
            let mut entry = json!({
                "path": spec.path,
                "default": spec.default,
                "doc": spec.doc,
            });
            let (kind, extra) = match spec.kind {
                Kind::Int { min } => ("integer", json!({ "min": min })),
                Kind::Float {
                    min,
                    exclusive,
                    max,
                } => (
                    "float",
                    json!({ "min": min, "min_exclusive": exclusive, "max": max }),
                ),
                Kind::Bool => ("bool", json!({})),
                Kind::Enum(names) => ("enum", json!({ "values": names })),
                Kind::File => ("file", json!({})),
            };
            entry["type"] = kind.into();
            for (key, value) in extra.as_object().expect("an object") {
                entry[key] = value.clone();
            }
            entry
        })
        .collect();
    json!({ "parameters": parameters, "state_files": STATE_FILES })
}

/// Runs `params`.
pub fn run(args: &Args) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(SCHEMA)).expect("plain JSON")
        );
    } else {
        print!("{}", table(SCHEMA));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column where `needle` starts on each line that has it.
    fn columns(text: &str, needle: &str) -> Vec<usize> {
        text.lines().filter_map(|line| line.find(needle)).collect()
    }

    #[test]
    fn every_column_starts_at_one_place_whatever_the_type() {
        let text = table(SCHEMA);
        let lines: Vec<&str> = text.lines().take(SCHEMA.len() + 1).collect();
        // The default column: where the header's `default` starts, every row's default starts
        // (the cell before it is a type, enumerations included, padded to one width).
        let start = lines[0].find("default").unwrap();
        let meaning = lines[0].find("meaning").unwrap();
        for (line, spec) in lines[1..].iter().zip(SCHEMA) {
            let default = spec.default.unwrap_or("-");
            assert_eq!(
                &line[start..start + default.len()],
                default,
                "{}: {line}",
                spec.path
            );
            assert_eq!(&line[meaning..], spec.doc, "{}", spec.path);
            assert!(line.as_bytes()[start - 1] == b' ', "{line}");
        }
        // An enumeration longer than the other types does not push its row out of line.
        let long = ParamSpec {
            path: "x.y",
            kind: Kind::Enum(&["a_very_long_name", "another_very_long_name"]),
            default: Some("a_very_long_name"),
            doc: "a test",
        };
        let short = ParamSpec {
            path: "x.z",
            kind: Kind::Bool,
            default: Some("true"),
            doc: "the second",
        };
        let text = table(&[long, short]);
        let starts = columns(&text, "a test");
        assert_eq!(columns(&text, "the second"), starts);
        assert_eq!(columns(&text, "meaning"), starts);
    }

    #[test]
    fn the_json_lists_every_parameter_with_type_default_and_doc() {
        let value = to_json(SCHEMA);
        let parameters = value["parameters"].as_array().unwrap();
        assert_eq!(parameters.len(), SCHEMA.len());
        for (entry, spec) in parameters.iter().zip(SCHEMA) {
            assert_eq!(entry["path"], spec.path);
            assert_eq!(entry["doc"], spec.doc);
            assert_eq!(entry["default"].as_str(), spec.default);
            assert!(entry["type"].is_string());
        }
        let activation = parameters
            .iter()
            .find(|p| p["path"] == "perceptron.activation")
            .unwrap();
        assert_eq!(activation["type"], "enum");
        assert!(activation["values"]
            .as_array()
            .unwrap()
            .contains(&json!("relu")));
        assert!(value["state_files"]
            .as_str()
            .unwrap()
            .contains("[mass, x_1"));
    }
}
