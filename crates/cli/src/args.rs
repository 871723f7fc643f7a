//! Arguments that several commands share, defined once so that they read and behave the same
//! everywhere: the sweep a command works on (file, profile, store, its tasks' coordinates) and
//! the timing of runners.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sphereflow_exec::{lease, TaskState};
use sphereflow_plan::schema::{parse_set, Setting};
use sphereflow_plan::{Plan, PlanError, PlanOptions, Sweep, Task};

use crate::failure::Failure;

/// The store commands use unless `--store` says otherwise.
pub const DEFAULT_STORE: &str = "results/store";

/// The sweep a command works on: its file, a profile of it, and the store of its results.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// The sweep file.
    pub sweep: PathBuf,
    /// Apply the sweep's `[profile.<name>]` overrides.
    #[arg(long)]
    pub profile: Option<String>,
    /// The store.
    #[arg(long, default_value = DEFAULT_STORE)]
    pub store: PathBuf,
}

impl SweepArgs {
    /// These arguments as they are typed after a command, quoted for a shell:
    /// `<sweep> [--profile <name>] --store <store>`.
    pub fn command_line(&self) -> String {
        sphereflow_exec::shell::command_line(&self.sweep, self.profile.as_deref(), &self.store)
    }

    /// Reads, expands and validates the sweep with the profile's overrides (`allow_large`:
    /// plan grids of more than a million tasks).
    pub fn plan(&self, allow_large: bool) -> Result<Plan, Failure> {
        load_plan(&self.sweep, allow_large, self.profile.as_deref())
    }
}

/// Reads, expands and validates a sweep file, with a profile's overrides if one is named.
pub fn load_plan(path: &Path, allow_large: bool, profile: Option<&str>) -> Result<Plan, Failure> {
    let mut sweep = Sweep::read(path).map_err(Failure::input)?;
    if let Some(name) = profile {
        sweep = sweep.with_profile(name).map_err(Failure::input)?;
    }
    let options = PlanOptions {
        allow_large,
        ..PlanOptions::default()
    };
    Plan::new(sweep, &options).map_err(|error| match error {
        PlanError::TooLarge { .. } => {
            Failure::Input(anyhow::anyhow!("{error}; pass --yes to plan it anyway"))
        }
        other => Failure::input(other),
    })
}

/// One task's settings, for the commands that run one task without the store (`simulate`,
/// `stationary`, `meanfield`): a sweep file's fixed values, and `--set` overrides, which must pin
/// each of its axes.
#[derive(clap::Args)]
pub struct TaskArgs {
    /// A sweep file: its fixed values, and a point of its grid picked by `--set`s of every axis.
    pub file: Option<PathBuf>,
    /// Set a parameter: `path=value`, the value read as TOML (a bare word as a string).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

impl TaskArgs {
    /// The settings by path: the file's fixed values, then the `--set`s; an input error for a
    /// file with an axis that no `--set` pins (a `--set` of every parameter of an axis picks
    /// that one point of it), an unreadable file or a bad `--set`.
    pub fn settings(&self) -> Result<BTreeMap<String, Setting>, Failure> {
        let mut given: BTreeMap<String, &str> = BTreeMap::new();
        let mut overrides = Vec::with_capacity(self.sets.len());
        for set in &self.sets {
            let (key, setting) = parse_set(set).map_err(Failure::input)?;
            // A `--set` overrides the file, but two `--set`s of one key are a mistake: which
            // one was meant is not ours to guess.
            if let Some(first) = given.insert(key.clone(), set) {
                return Err(Failure::Input(anyhow::anyhow!(
                    "--set {set}: `{key}` is already set by --set {first}; give each parameter once"
                )));
            }
            overrides.push((key, setting));
        }
        let mut settings = BTreeMap::new();
        if let Some(file) = &self.file {
            let sweep = Sweep::read(file).map_err(Failure::input)?;
            if let Some(free) = sweep.unpinned(|path| given.contains_key(path)) {
                let (path, value) = free.example;
                return Err(Failure::Input(anyhow::anyhow!(
                    "{}: this command runs one task, but the sweep has axes ({}); pin each \
                     with --set (e.g. --set {path}={}), or run the grid with `sphereflow run`",
                    free.origin,
                    free.paths.join(", "),
                    value.shown()
                )));
            }
            settings.extend(sweep.fixed);
        }
        settings.extend(overrides);
        Ok(settings)
    }

    /// As [`TaskArgs::settings`], for commands that run particles: a task with
    /// `model.solver = "meanfield"` is an input error pointing to `sphereflow meanfield`.
    pub fn particle_settings(&self, command: &str) -> Result<BTreeMap<String, Setting>, Failure> {
        let settings = self.settings()?;
        if let Some(setting) = settings.get("model.solver") {
            if setting.shown() == "meanfield" {
                return Err(Failure::Input(anyhow::anyhow!(
                    "{}: model.solver = \"meanfield\": `sphereflow {command}` runs particles; \
                     `sphereflow meanfield` runs the density",
                    setting.origin
                )));
            }
        }
        Ok(settings)
    }
}

/// The store that read-only commands (`analyze`, `figures`) read: an input error when `--store`
/// names no store, rather than results read as all pending.
pub fn existing_store(path: &Path) -> Result<sphereflow_exec::Store, Failure> {
    check_store_folder(path)?;
    match sphereflow_exec::Store::open_existing(path).map_err(Failure::input)? {
        Some(store) => Ok(store),
        None => Err(Failure::Input(anyhow::anyhow!(
            "--store {}: no store there (no {}/layout); run the sweep first, or name its store",
            path.display(),
            path.display()
        ))),
    }
}

/// An input error when one task's particles cannot fit in this machine's memory (checked
/// before they are drawn: an allocation that fails aborts the process).
pub fn check_memory(params: &sphereflow_solver::Params) -> Result<(), Failure> {
    let model = &params.model;
    match sphereflow_exec::resume::memory_problem(
        model.particles,
        model.dim,
        params.perceptron.width,
        params.measure.frames,
    ) {
        Some(reason) => Err(Failure::Input(anyhow::anyhow!(reason))),
        None => Ok(()),
    }
}

/// An input error when `--store` names a file, or a path through one, rather than a folder:
/// checked before anything is written, since the store's files are made inside it.
pub fn check_store_folder(path: &Path) -> Result<(), Failure> {
    for ancestor in path.ancestors() {
        if ancestor.as_os_str().is_empty() {
            break;
        }
        // A missing folder is made by the store; the first part that exists must be a folder.
        let Ok(metadata) = std::fs::metadata(ancestor) else {
            continue;
        };
        if metadata.is_dir() {
            return Ok(());
        }
        let what = if metadata.is_file() {
            "a file, not a folder"
        } else {
            "not a folder"
        };
        let reason = if ancestor == path {
            format!("is {what}")
        } else {
            format!("{} is {what}", ancestor.display())
        };
        return Err(Failure::Input(anyhow::anyhow!(
            "--store {}: {reason}; name a folder for the store",
            path.display()
        )));
    }
    Ok(())
}

/// A task as the `--json` of `plan`, `status` and `run` list it: its id, state, the state's
/// detail and its coordinates.
pub fn task_json(plan: &Plan, task: &Task, state: &TaskState) -> serde_json::Value {
    serde_json::json!({
        "id": task.id.to_hex(),
        "state": state.name(),
        "detail": state.detail(),
        "coordinates": coordinates(plan, task),
    })
}

/// Every task of a plan as [`task_json`] gives it, with its state (`states` in plan order).
pub fn tasks_json(plan: &Plan, states: &[TaskState]) -> Vec<serde_json::Value> {
    plan.tasks
        .iter()
        .zip(states)
        .map(|(task, state)| task_json(plan, task, state))
        .collect()
}

/// A task's axis values by parameter path.
fn coordinates(plan: &Plan, task: &Task) -> serde_json::Map<String, serde_json::Value> {
    plan.coordinates(task)
        .into_iter()
        .map(|(path, value)| {
            (
                path.to_string(),
                serde_json::to_value(value).expect("typed values are JSON"),
            )
        })
        .collect()
}

/// The default output folder of a sweep: `results/<sweep name>`.
pub fn default_out(plan: &Plan) -> PathBuf {
    Path::new("results").join(&plan.sweep.name)
}

/// The number of tasks run at once (`-j`), checked: 1 to [`sphereflow_exec::MAX_JOBS`].
pub fn check_jobs(jobs: usize) -> Result<usize, Failure> {
    if (1..=sphereflow_exec::MAX_JOBS).contains(&jobs) {
        Ok(jobs)
    } else {
        Err(Failure::Input(anyhow::anyhow!(
            "-j: must be between 1 and {}, got {jobs}",
            sphereflow_exec::MAX_JOBS
        )))
    }
}

/// How runners checkpoint and hold their tasks (`run`, `worker`, and the workers of `slurm`).
#[derive(clap::Args)]
pub struct LeaseArgs {
    /// Seconds between checkpoints of a running task (0.001 to 86400).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub checkpoint_every: f64,
    /// Seconds without a heartbeat after which another runner takes a task over (1 to 604800).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub lease_ttl: f64,
}

impl LeaseArgs {
    /// The checkpoint interval and the lease time-to-live; an input error unless both are a
    /// positive, finite number of seconds.
    pub fn durations(&self) -> Result<(Duration, Duration), Failure> {
        lease::timings(self.checkpoint_every, self.lease_ttl).map_err(|error| match error {
            sphereflow_exec::ExecError::Option { option, reason } => {
                let flag = match option {
                    lease::CHECKPOINT_EVERY => "--checkpoint-every",
                    lease::LEASE_TTL => "--lease-ttl",
                    other => other,
                };
                Failure::Input(anyhow::anyhow!("{flag}: {reason}"))
            }
            other => Failure::input(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_what_the_shell_would_split() {
        let args = SweepArgs {
            sweep: "my sweeps/beta.toml".into(),
            profile: Some("quick".into()),
            store: "results/store".into(),
        };
        assert_eq!(
            args.command_line(),
            "'my sweeps/beta.toml' --profile quick --store results/store"
        );
        let args = SweepArgs {
            profile: None,
            store: "it's".into(),
            ..args
        };
        assert_eq!(
            args.command_line(),
            r"'my sweeps/beta.toml' --store 'it'\''s'"
        );
    }

    #[test]
    fn lease_timings_must_be_positive_seconds() {
        let good = LeaseArgs {
            checkpoint_every: 0.5,
            lease_ttl: 60.0,
        };
        let (every, ttl) = good.durations().ok().unwrap();
        assert_eq!((every.as_millis(), ttl.as_secs()), (500, 60));
        for (checkpoint_every, lease_ttl, name) in [
            (0.0, 60.0, "--checkpoint-every"),
            (1.0, -1.0, "--lease-ttl"),
            (f64::NAN, 60.0, "--checkpoint-every"),
            (1.0, f64::INFINITY, "--lease-ttl"),
            (1e300, 60.0, "--checkpoint-every"),
            (1.0, 1e300, "--lease-ttl"),
            (1.0, 1e-9, "--lease-ttl"),
        ] {
            let bad = LeaseArgs {
                checkpoint_every,
                lease_ttl,
            };
            match bad.durations() {
                Err(Failure::Input(error)) => assert!(error.to_string().starts_with(name)),
                _ => panic!("{checkpoint_every} / {lease_ttl} accepted"),
            }
        }
    }
}
