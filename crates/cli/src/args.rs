//! Arguments that several commands share, defined once so that they read and behave the same
//! everywhere: the sweep a command works on (file, profile, store) and the timing of runners.

use std::path::PathBuf;
use std::time::Duration;

use sphereflow_plan::Plan;

use crate::Failure;

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
        sphereflow_exec::slurm::command_line(&self.sweep, self.profile.as_deref(), &self.store)
    }

    /// Reads, expands and validates the sweep with the profile's overrides (`allow_large`:
    /// plan grids of more than a million tasks).
    pub fn plan(&self, allow_large: bool) -> Result<Plan, Failure> {
        crate::plan::load(&self.sweep, allow_large, self.profile.as_deref())
    }
}

/// How runners checkpoint and hold their tasks (`run`, `worker`, and the workers of `slurm`).
#[derive(clap::Args)]
pub struct LeaseArgs {
    /// Seconds between checkpoints of a running task.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub checkpoint_every: f64,
    /// Seconds without a heartbeat after which another runner takes a task over.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub lease_ttl: f64,
}

impl LeaseArgs {
    /// The checkpoint interval and the lease time-to-live; an input error unless both are a
    /// positive, finite number of seconds.
    pub fn durations(&self) -> Result<(Duration, Duration), Failure> {
        sphereflow_exec::slurm::lease_timings(self.checkpoint_every, self.lease_ttl)
            .map_err(|e| Failure::Input(e.into()))
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
