//! `sphereflow show`: one task of a store, found by a unique prefix of its id: its state, its
//! parameters, its summary and the paths of its files.

use std::path::PathBuf;

use anyhow::anyhow;
use serde_json::json;
use sphereflow_exec::state::ids_with_prefix;
use sphereflow_exec::store::{StoredSummary, OBJECT_FILES};
use sphereflow_exec::{task_state, Store, TaskState};
use sphereflow_plan::TaskId;

use crate::args::DEFAULT_STORE;
use crate::failure::Failure;
use crate::output::plural;

/// Most matching ids an ambiguous prefix lists.
const LISTED_MATCHES: usize = 8;

/// Arguments of `show`.
#[derive(clap::Args)]
pub struct Args {
    /// The task's id, or a prefix of it that only one task of the store starts with.
    task_id: String,
    /// The store.
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Print the task as JSON.
    #[arg(long)]
    json: bool,
}

/// The one task of the store whose id starts with `prefix`; an input error naming the prefix
/// when it is not hex, matches none or matches several.
fn resolve_id(store: &Store, prefix: &str) -> Result<TaskId, Failure> {
    let fail = |reason: String| Failure::Input(anyhow!("TASK_ID {prefix}: {reason}"));
    let lower = prefix.to_ascii_lowercase();
    if lower.is_empty() || lower.len() > 64 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(
            "not a task id: expected 1 to 64 hex digits (as `plan` and `status` print them)".into(),
        ));
    }
    let ids = ids_with_prefix(store, &lower);
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(fail(format!(
            "no task of the store {} has an id starting so (no result, failure record, \
             checkpoint or lease)",
            store.root().display()
        ))),
        many => {
            let listed: Vec<String> = many
                .iter()
                .take(LISTED_MATCHES)
                .map(|id| id.to_hex()[..16].to_string())
                .collect();
            let more = if many.len() > LISTED_MATCHES {
                format!(", and {} more", many.len() - LISTED_MATCHES)
            } else {
                String::new()
            };
            Err(fail(format!(
                "{} tasks start so ({}{more}); give more digits",
                many.len(),
                listed.join(", ")
            )))
        }
    }
}

/// Reads a committed object's `summary.json` (its checksums were verified by `task_state`).
fn stored_summary(store: &Store, id: &TaskId) -> Result<StoredSummary, Failure> {
    let path = store.object_dir(id).join("summary.json");
    let bytes = std::fs::read(&path)
        .map_err(|e| Failure::Run(anyhow::Error::new(e).context(path.display().to_string())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure::Run(anyhow::Error::new(e).context(path.display().to_string())))
}

/// The task's files in the store, by name: its object's files, failure record, checkpoint and
/// lease, those that exist.
fn files(store: &Store, id: &TaskId) -> Vec<(String, PathBuf)> {
    let hex = id.to_hex();
    let object = store.object_dir(id);
    let mut files: Vec<(String, PathBuf)> = OBJECT_FILES
        .iter()
        .chain(&["checksums.json"])
        .map(|name| (name.to_string(), object.join(name)))
        .collect();
    let root = store.root();
    files.push((
        "failure".into(),
        root.join("failed").join(format!("{hex}.json")),
    ));
    files.push((
        "checkpoint".into(),
        root.join("checkpoints").join(format!("{hex}.json")),
    ));
    files.push((
        "lease".into(),
        root.join("leases").join(format!("{hex}.lease")),
    ));
    files.retain(|(_, path)| path.exists());
    files
}

/// `12.3`, or exponent form for the very large and very small.
fn number(value: f64) -> String {
    if value == 0.0 || (1e-3..1e6).contains(&value.abs()) {
        format!("{value:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{value:.3e}")
    }
}

/// The human description of a task.
fn describe(
    id: &TaskId,
    state: &TaskState,
    stored: Option<&StoredSummary>,
    files: &[(String, PathBuf)],
) -> String {
    let mut text = format!("task {} ({})\n", id.to_hex(), state.name());
    if let Some(detail) = state.detail() {
        text += &format!("  {detail}\n");
    }
    match stored {
        Some(stored) => {
            text += "parameters:\n";
            let width = stored.spec.parameters.keys().map(String::len).max();
            for (path, value) in &stored.spec.parameters {
                let shown = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "-".into(),
                    other => other.to_string(),
                };
                text += &format!("  {path:<width$}  {shown}\n", width = width.unwrap_or(0));
            }
            let s = &stored.summary;
            text += "summary:\n";
            text += &format!(
                "  {} after {} steps (t = {}), {} s on {} (solver revision {})\n",
                s.stop_reason.as_str(),
                s.steps,
                number(s.t_final),
                number(stored.runtime_s),
                stored.provenance.host,
                stored.solver_rev
            );
            text += &format!(
                "  {}, {} heavy, {} atoms; largest cluster mass {}, largest window mass {}\n",
                plural(s.n_clusters, "cluster"),
                s.n_heavy,
                s.n_atoms,
                number(s.max_cluster_mass),
                number(s.max_window_mass)
            );
            text += &format!(
                "  energy {} -> {}, max drift {}\n",
                number(s.energy_initial),
                number(s.energy_final),
                number(s.max_drift)
            );
            if let Some(certificate) = &stored.certificate {
                text += &format!(
                    "  certificate: {}, {} atoms, residual {}\n",
                    certificate.classification.as_str(),
                    certificate.atoms.len(),
                    number(certificate.residual)
                );
            }
            text += &format!(
                "  started {}, finished {}\n",
                stored.provenance.started, stored.provenance.finished
            );
        }
        None => {
            text += "parameters: not in the store (it holds a task's parameters with its \
                         result; `sphereflow plan SWEEP --json` lists a sweep's tasks)\n"
        }
    }
    text += "files:\n";
    for (name, path) in files {
        text += &format!("  {name:<15} {}\n", path.display());
    }
    text
}

/// Runs `show`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let store = crate::args::existing_store(&args.store)?;
    let id = resolve_id(&store, &args.task_id)?;
    let state = task_state(&store, &id);
    let stored = match state {
        TaskState::Cached | TaskState::Stale { .. } => Some(stored_summary(&store, &id)?),
        _ => None,
    };
    let files = files(&store, &id);
    if args.json {
        let out = json!({
            "id": id.to_hex(),
            "state": state.name(),
            "detail": state.detail(),
            "store": store.root().display().to_string(),
            "parameters": stored.as_ref().map(|s| &s.spec.parameters),
            "summary": stored.as_ref().map(|s| &s.summary),
            "runtime_s": stored.as_ref().map(|s| s.runtime_s),
            "solver_rev": stored.as_ref().map(|s| s.solver_rev),
            "provenance": stored.as_ref().map(|s| &s.provenance),
            "certificate": stored.as_ref().and_then(|s| s.certificate.as_ref()).map(|c| json!({
                "classification": c.classification.as_str(),
                "n_atoms": c.atoms.len(),
                "residual": c.residual,
            })),
            "files": files
                .iter()
                .map(|(name, path)| (name.clone(), json!(path.display().to_string())))
                .collect::<serde_json::Map<_, _>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain JSON")
        );
    } else {
        print!("{}", describe(&id, &state, stored.as_ref(), &files));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.5e-7), "1.500e-7");
    }
}
