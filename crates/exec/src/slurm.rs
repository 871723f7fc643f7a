//! Slurm job arrays whose elements each run `sphereflow worker` on one store on a shared
//! filesystem: the scripts, their validation, and their submission.
//!
//! The elements need no central process: a worker claims one task at a time through the
//! store's lease files, so the elements drain the sweep together and compute each task once,
//! and the tasks of an element that dies are taken over once its leases expire. An array
//! larger than the site's `MaxArraySize` is split into several scripts, one submission each.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::lease;
use crate::shell::{command_line, shell_quote};
use crate::ExecError;

/// Slurm's default `MaxArraySize` (array indices go from 0 to `MaxArraySize - 1`).
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// The largest lead time `--signal` accepts.
pub const MAX_SIGNAL_LEAD_S: u64 = 65535;

/// Most elements of a job (over all its scripts): more workers than this cannot find work in
/// any sweep the planner accepts without confirmation.
pub const MAX_ELEMENTS: usize = 1_000_000;

/// A job array of workers on one sweep: everything its scripts say. Paths are absolute.
#[derive(Debug, Clone)]
pub struct ArrayJob {
    /// The sweep's name (script and log names).
    pub sweep_name: String,
    /// Tasks in the sweep.
    pub n_tasks: usize,
    /// The sweep file.
    pub sweep: PathBuf,
    /// The profile of the sweep the workers run, if any.
    pub profile: Option<String>,
    /// The store, on a filesystem every node sees.
    pub store: PathBuf,
    /// The folder of the scripts and the elements' logs.
    pub folder: PathBuf,
    /// The `sphereflow` binary the elements run.
    pub binary: PathBuf,
    /// Array elements in all.
    pub elements: usize,
    /// Cores per element, and tasks each worker runs at once.
    pub cpus_per_task: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`, in Slurm's format.
    pub time: Option<String>,
    /// `--mem`, in Slurm's format.
    pub mem: Option<String>,
    /// `%K` of `--array`: elements running at once, per submission.
    pub array_limit: Option<usize>,
    /// Further `#SBATCH` options, written as given.
    pub sbatch_args: Vec<String>,
    /// Seconds before the time limit at which an element checkpoints and requeues itself.
    pub signal_before: u64,
    /// The workers' lease time-to-live, in seconds.
    pub lease_ttl: f64,
    /// Seconds between the workers' checkpoints.
    pub checkpoint_every: f64,
    /// Whether workers run again the tasks that failed before.
    pub retry_failed: bool,
    /// The site's `MaxArraySize` as the user gave it (`None`: ask Slurm, else the default).
    pub max_array_size: Option<usize>,
    /// Restarts after which an element no longer requeues itself at the walltime warning.
    pub max_requeues: u32,
}

/// The worker's flag of a runner setting of [`lease::timings`].
fn worker_flag(setting: &'static str) -> &'static str {
    match setting {
        lease::CHECKPOINT_EVERY => "--checkpoint-every",
        lease::LEASE_TTL => "--lease-ttl",
        other => other,
    }
}

fn bad(option: &'static str, reason: String) -> ExecError {
    ExecError::Option { option, reason }
}

impl ArrayJob {
    /// The sweep, profile and store as typed after `sphereflow status` or `run`.
    pub fn target(&self) -> String {
        command_line(&self.sweep, self.profile.as_deref(), &self.store)
    }

    /// Checks every option; the first bad one is an [`ExecError::Option`] naming it.
    pub fn check(&self) -> Result<(), ExecError> {
        if self.elements == 0 {
            return Err(bad("--array", "must be at least 1 element".into()));
        }
        if self.elements > MAX_ELEMENTS {
            return Err(bad(
                "--array",
                format!(
                    "must be at most {MAX_ELEMENTS} elements, got {}",
                    self.elements
                ),
            ));
        }
        if !(1..=crate::runner::MAX_JOBS).contains(&self.cpus_per_task) {
            return Err(bad(
                "--cpus-per-task",
                format!(
                    "must be between 1 and {}, got {}",
                    crate::runner::MAX_JOBS,
                    self.cpus_per_task
                ),
            ));
        }
        if self.array_limit == Some(0) {
            return Err(bad("--array-limit", "must be at least 1".into()));
        }
        if !(1..=MAX_SIGNAL_LEAD_S).contains(&self.signal_before) {
            return Err(bad(
                "--signal-before",
                format!("must be between 1 and {MAX_SIGNAL_LEAD_S} seconds"),
            ));
        }
        if self.max_array_size == Some(0) {
            return Err(bad("--max-array-size", "must be at least 1".into()));
        }
        lease::timings(self.checkpoint_every, self.lease_ttl).map_err(|error| match error {
            ExecError::Option { option, reason } => bad(worker_flag(option), reason),
            other => other,
        })?;
        if let Some(time) = &self.time {
            let seconds = parse_time(time).ok_or_else(|| {
                bad(
                    "--time",
                    format!("{time:?} is not a Slurm time limit (MINUTES, H:MM:SS or D-HH:MM:SS)"),
                )
            })?;
            if seconds <= self.signal_before {
                return Err(bad(
                    "--time",
                    format!(
                        "{time} is not longer than --signal-before ({} s): elements would be \
                         told to stop before they start",
                        self.signal_before
                    ),
                ));
            }
        }
        if let Some(mem) = &self.mem {
            if !is_memory(mem) {
                return Err(bad(
                    "--mem",
                    format!("{mem:?} is not a memory size (digits and K, M, G or T)"),
                ));
            }
        }
        if let Some(partition) = &self.partition {
            if partition.is_empty() || partition.contains(char::is_whitespace) {
                return Err(bad("--partition", format!("{partition:?} is not a name")));
            }
        }
        for arg in &self.sbatch_args {
            if !arg.starts_with('-') || arg.contains(['\n', '\r']) {
                return Err(bad(
                    "--sbatch-arg",
                    format!("{arg:?} is not an sbatch option (one line, starting with -)"),
                ));
            }
        }
        for (option, text) in [
            ("the sweep", self.sweep.to_string_lossy()),
            ("--store", self.store.to_string_lossy()),
            ("--profile", self.profile.as_deref().unwrap_or("").into()),
        ] {
            if text.contains(['\n', '\r']) {
                return Err(bad(option, format!("a line break in {text:?}")));
            }
        }
        if self.folder.to_string_lossy().contains(char::is_whitespace) {
            return Err(bad(
                "--out",
                format!(
                    "{}: #SBATCH lines cannot name a folder with white space",
                    self.folder.display()
                ),
            ));
        }
        Ok(())
    }

    /// The `MaxArraySize` the scripts respect: the user's, else the site's (`scontrol show
    /// config`), else Slurm's default.
    pub fn resolved_max_array_size(&self) -> usize {
        self.max_array_size
            .or_else(site_max_array_size)
            .unwrap_or(DEFAULT_MAX_ARRAY_SIZE)
    }

    /// Writes the scripts, one per part of at most `max_array_size` elements, into the folder
    /// (created if missing); their paths and parts, in order.
    pub fn write_scripts(&self, max_array_size: usize) -> Result<Vec<(PathBuf, Part)>, ExecError> {
        if max_array_size == 0 {
            return Err(bad("--max-array-size", "must be at least 1".into()));
        }
        let parts = split(self.elements, max_array_size);
        std::fs::create_dir_all(&self.folder).map_err(|source| ExecError::Io {
            path: self.folder.clone(),
            source,
        })?;
        let mut written = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let path = script_path(self, index, parts.len());
            std::fs::write(&path, script(self, part, parts.len(), index)).map_err(|source| {
                ExecError::Io {
                    path: path.clone(),
                    source,
                }
            })?;
            written.push((path, part.clone()));
        }
        Ok(written)
    }
}

/// One script: a contiguous block of the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The first element of the block, counting across parts (0-based).
    pub first: usize,
    /// Elements in the block (the script's `--array=0-<count-1>`).
    pub count: usize,
}

/// Splits `elements` into parts of at most `max_array_size` elements, each indexed from 0 (Slurm
/// refuses indices of `MaxArraySize` and above).
pub fn split(elements: usize, max_array_size: usize) -> Vec<Part> {
    let size = max_array_size.max(1);
    (0..elements)
        .step_by(size)
        .map(|first| Part {
            first,
            count: size.min(elements - first),
        })
        .collect()
}

/// Seconds in a Slurm time limit: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M` or `D-H:M:S`.
pub fn parse_time(text: &str) -> Option<u64> {
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (days, clock) = match text.split_once('-') {
        Some((days, clock)) => (Some(number(days)?), clock),
        None => (None, text),
    };
    let fields: Vec<u64> = clock.split(':').map(number).collect::<Option<_>>()?;
    let seconds = match (days, fields.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return None,
    };
    Some(seconds)
}

/// Whether `text` is a Slurm memory size: digits and an optional unit (K, M, G, T).
pub fn is_memory(text: &str) -> bool {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    text.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The text of the sbatch script of part `index` of `n_parts`.
pub fn script(job: &ArrayJob, part: &Part, n_parts: usize, index: usize) -> String {
    let name = &job.sweep_name;
    let store = job.store.display();
    let mut text = String::from("#!/bin/bash\n");
    let of_parts = if n_parts > 1 {
        format!(
            ", part {} of {n_parts} (elements {}-{} of {})",
            index + 1,
            part.first,
            part.first + part.count - 1,
            job.elements
        )
    } else {
        String::new()
    };
    let _ = write!(
        text,
        "\
# Slurm job array of sweep `{name}` ({n_tasks} tasks){of_parts}, written by `sphereflow slurm`.
# Submit with: sbatch {path}
#
# Every element runs `sphereflow worker` on the store {store}, which must be on a filesystem
# all nodes see. Workers claim one task at a time through the store's lease files, so the
# elements drain the sweep together, each task is computed once, and no central process is
# needed. A worker waits for tasks other elements hold and takes over a task whose lease has
# expired: {ttl} s without a heartbeat (--lease-ttl), or at once on the same host when the holder's
# process is gone. A taken-over task resumes from its last checkpoint (every {ckpt} s).
#
# Walltime: Slurm sends SIGUSR1 to this script {lead} s before the time limit
# (--signal=B:USR1@{lead}). The script passes it to the worker as SIGTERM: the worker checkpoints
# its running tasks, releases their leases and exits with 130; the script then requeues this
# element (scontrol requeue; --requeue allows it), which comes back later, resumes from the
# checkpoints and exits 0 once the sweep is done; after {max_requeues} restarts of any kind
# (--max-requeues; SLURM_RESTART_COUNT) it exits 130 instead, and resubmitting the script runs
# what is left. USR1 and not TERM, so that the script can tell the walltime warning from
# `scancel`.
# scancel sends SIGTERM to every process of the element: the worker checkpoints, releases its
# leases and exits with 130, and the element is not requeued (a cancel is final). The leases it
# released are taken at once by the other elements; resubmitting the script runs what is left.
# A lost node or a preemption requeues the element (--requeue); its leases expire after the TTL.
# Exit codes of an element: 0 nothing left to do, 1 some tasks failed (recorded in the store;
# `sphereflow status` says why; they are not requeued: rerun with --retry-failed), 130 interrupted.
#
# Progress: sphereflow status {target}
",
        n_tasks = job.n_tasks,
        path = script_path(job, index, n_parts).display(),
        ttl = job.lease_ttl,
        ckpt = job.checkpoint_every,
        lead = job.signal_before,
        max_requeues = job.max_requeues,
        target = job.target(),
    );
    let mut array = format!("0-{}", part.count - 1);
    if let Some(limit) = job.array_limit {
        let _ = write!(array, "%{limit}");
    }
    let mut options = vec![
        format!("--job-name=sphereflow-{name}"),
        format!("--array={array}"),
        "--ntasks=1".to_string(),
        format!("--cpus-per-task={}", job.cpus_per_task),
    ];
    if let Some(time) = &job.time {
        options.push(format!("--time={time}"));
    }
    if let Some(mem) = &job.mem {
        options.push(format!("--mem={mem}"));
    }
    if let Some(partition) = &job.partition {
        options.push(format!("--partition={partition}"));
    }
    options.extend([
        format!("--output={}/{name}-%A_%a.out", job.folder.display()),
        "--open-mode=append".to_string(),
        format!("--signal=B:USR1@{}", job.signal_before),
        "--requeue".to_string(),
    ]);
    options.extend(job.sbatch_args.iter().cloned());
    for option in &options {
        let _ = writeln!(text, "#SBATCH {option}");
    }
    let mut worker = vec![
        job.binary.display().to_string(),
        "worker".into(),
        "--store".into(),
        job.store.display().to_string(),
        job.sweep.display().to_string(),
    ];
    if let Some(profile) = &job.profile {
        worker.extend(["--profile".into(), profile.clone()]);
    }
    worker.extend([
        "-j".into(),
        job.cpus_per_task.to_string(),
        "--lease-ttl".into(),
        job.lease_ttl.to_string(),
        "--checkpoint-every".into(),
        job.checkpoint_every.to_string(),
    ]);
    if job.retry_failed {
        worker.push("--retry-failed".into());
    }
    let worker: Vec<String> = worker.iter().map(|w| shell_quote(w)).collect();
    let _ = write!(
        text,
        r#"
set -u
element="${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
echo "sphereflow: element $element on $(hostname) (restart ${{SLURM_RESTART_COUNT:-0}}), $(date)"
pid=
walltime=0
# The walltime warning reaches only this script: pass it on to the worker.
trap 'walltime=1; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null' USR1
# scancel signals the worker itself; a second SIGTERM would make it exit without checkpointing.
trap ':' TERM
{worker} &
pid=$!
# `wait` returns early when a trapped signal arrives: wait again until the worker is gone.
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
wait "$pid"
status=$?
echo "sphereflow: worker exited with $status, $(date)"
if [ "$status" -eq 130 ] && [ "$walltime" -eq 1 ]; then
    if [ "${{SLURM_RESTART_COUNT:-0}}" -lt {max_requeues} ]; then
        echo "sphereflow: requeueing $element to finish the sweep"
        scontrol requeue "$element"
    else
        echo "sphereflow: $element has restarted {max_requeues} times (--max-requeues): not requeued"
    fi
fi
exit "$status"
"#,
        worker = worker.join(" "),
        max_requeues = job.max_requeues,
    );
    text
}

/// Where the script of part `index` of `n_parts` goes: `<folder>/<sweep>.sbatch`, or
/// `<folder>/<sweep>.<index + 1>.sbatch` when the array is split.
pub fn script_path(job: &ArrayJob, index: usize, n_parts: usize) -> PathBuf {
    let name = &job.sweep_name;
    let file = if n_parts > 1 {
        format!("{name}.{}.sbatch", index + 1)
    } else {
        format!("{name}.sbatch")
    };
    job.folder.join(file)
}

/// Runs a command with a time limit; its stdout when it succeeds.
fn output_within(command: &mut Command, limit: Duration) -> Option<String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut text).ok()?;
    Some(text)
}

/// The site's `MaxArraySize`, from `scontrol show config` (None when Slurm does not answer).
pub fn site_max_array_size() -> Option<usize> {
    let text = output_within(
        Command::new("scontrol").args(["show", "config"]),
        Duration::from_secs(15),
    )?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Submits a script with `sbatch --parsable`; the job id.
pub fn submit(path: &Path) -> Result<String, ExecError> {
    let failed = |reason: String| ExecError::Slurm {
        command: format!("sbatch {}", path.display()),
        reason,
    };
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(path)
        .output()
        .map_err(|e| failed(format!("cannot run sbatch: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(failed(format!(
            "failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    // `--parsable` prints `<id>` or `<id>;<cluster>`.
    let id = stdout.trim().split(';').next().unwrap_or_default();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(failed(format!(
            "no job id in its output {:?}",
            stdout.trim()
        )));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> ArrayJob {
        ArrayJob {
            sweep_name: "beta".into(),
            n_tasks: 26,
            sweep: "/home/me/sweeps/beta sweep.toml".into(),
            profile: Some("quick".into()),
            store: "/shared/store".into(),
            folder: "/shared/out/slurm".into(),
            binary: "/opt/sphereflow".into(),
            elements: 8,
            cpus_per_task: 2,
            partition: Some("short".into()),
            time: Some("1:00:00".into()),
            mem: Some("4G".into()),
            array_limit: Some(4),
            sbatch_args: vec!["--account=physics".into()],
            signal_before: 300,
            lease_ttl: 60.0,
            checkpoint_every: 10.0,
            retry_failed: true,
            max_requeues: 5,
            max_array_size: None,
        }
    }

    #[test]
    fn checks_name_the_first_bad_option() {
        assert!(job().check().is_ok());
        type Edit = fn(&mut ArrayJob);
        let cases: [(Edit, &str); 15] = [
            (|j| j.elements = 0, "--array"),
            (|j| j.cpus_per_task = 0, "--cpus-per-task"),
            (|j| j.array_limit = Some(0), "--array-limit"),
            (|j| j.signal_before = 0, "--signal-before"),
            (|j| j.lease_ttl = f64::NAN, "--lease-ttl"),
            (|j| j.checkpoint_every = -1.0, "--checkpoint-every"),
            (|j| j.time = Some("1h".into()), "--time"),
            (|j| j.time = Some("5".into()), "--time"),
            (|j| j.mem = Some("4GB".into()), "--mem"),
            (|j| j.sbatch_args = vec!["account=x".into()], "--sbatch-arg"),
            (|j| j.partition = Some("a b".into()), "--partition"),
            (|j| j.max_array_size = Some(0), "--max-array-size"),
            (|j| j.sweep = "/a\nb.toml".into(), "the sweep"),
            (|j| j.profile = Some("a\nb".into()), "--profile"),
            (|j| j.folder = "/my out/slurm".into(), "--out"),
        ];
        for (edit, expected) in cases {
            let mut bad = job();
            edit(&mut bad);
            match bad.check() {
                Err(ExecError::Option { option, .. }) => assert_eq!(option, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn scripts_run_the_worker_on_the_sweep_profile_and_store() {
        let job = job();
        let text = script(&job, &Part { first: 0, count: 8 }, 1, 0);
        let worker = "/opt/sphereflow worker --store /shared/store \
                      '/home/me/sweeps/beta sweep.toml' --profile quick -j 2 --lease-ttl 60 \
                      --checkpoint-every 10 --retry-failed &";
        assert!(text.lines().any(|l| l == worker), "no `{worker}` in {text}");
        for line in [
            "#SBATCH --array=0-7%4",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --time=1:00:00",
            "#SBATCH --mem=4G",
            "#SBATCH --partition=short",
            "#SBATCH --output=/shared/out/slurm/beta-%A_%a.out",
            "#SBATCH --signal=B:USR1@300",
            "#SBATCH --requeue",
            "#SBATCH --account=physics",
            "# Progress: sphereflow status '/home/me/sweeps/beta sweep.toml' --profile quick \
             --store /shared/store",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in {text}");
        }
        let checked = Command::new("bash")
            .args(["-n", "-c", &text])
            .status()
            .unwrap();
        assert!(checked.success(), "bash -n: {text}");
        assert_eq!(
            script_path(&job, 1, 3),
            PathBuf::from("/shared/out/slurm/beta.2.sbatch")
        );
    }

    /// Runs a job's script outside Slurm: its worker is a stand-in that sends the walltime
    /// warning (SIGUSR1) to the script and exits 130 when the script passes it on; `scontrol` is
    /// a stand-in that records its arguments. What `scontrol` was asked, and the script's output.
    fn walltime_warning_at_restart(restarts: u32) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let status = Command::new("chmod").arg("+x").arg(&path).status().unwrap();
            assert!(status.success());
            path
        };
        let worker = write(
            "worker",
            "#!/bin/bash\ntrap 'kill $!; exit 130' TERM\nsleep 0.3\nkill -USR1 $PPID\n\
             sleep 20 >/dev/null 2>&1 &\nwait\nexit 0\n",
        );
        write(
            "scontrol",
            &format!(
                "#!/bin/bash\necho \"$@\" >> {}\n",
                dir.path().join("asked").display()
            ),
        );
        let job = ArrayJob {
            binary: worker,
            ..job()
        };
        let path = std::env::var("PATH").unwrap_or_default();
        let output = Command::new("bash")
            .arg("-c")
            .arg(script(&job, &Part { first: 0, count: 8 }, 1, 0))
            .env("PATH", format!("{}:{path}", dir.path().display()))
            .env("SLURM_ARRAY_JOB_ID", "77")
            .env("SLURM_ARRAY_TASK_ID", "3")
            .env("SLURM_RESTART_COUNT", restarts.to_string())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(130), "{output:?}");
        let asked = std::fs::read_to_string(dir.path().join("asked")).unwrap_or_default();
        (asked, String::from_utf8_lossy(&output.stdout).into_owned())
    }

    #[test]
    fn the_walltime_warning_requeues_the_element_until_max_requeues() {
        let (asked, out) = walltime_warning_at_restart(4);
        assert_eq!(asked, "requeue 77_3\n", "{out}");
        assert!(out.contains("worker exited with 130"), "{out}");
        let (asked, out) = walltime_warning_at_restart(5);
        assert_eq!(asked, "", "{out}");
        assert!(out.contains("77_3 has restarted 5 times"), "{out}");
    }

    #[test]
    fn arrays_split_into_blocks_indexed_from_zero() {
        assert_eq!(split(3, 1001), vec![Part { first: 0, count: 3 }]);
        assert_eq!(
            split(3000, 1001),
            vec![
                Part {
                    first: 0,
                    count: 1001
                },
                Part {
                    first: 1001,
                    count: 1001
                },
                Part {
                    first: 2002,
                    count: 998
                },
            ]
        );
        assert_eq!(split(2002, 1001).len(), 2);
    }

    #[test]
    fn slurm_time_limits_parse_to_seconds() {
        for (text, seconds) in [
            ("30", Some(1800)),
            ("30:15", Some(1815)),
            ("2:00:00", Some(7200)),
            ("1-0", Some(86400)),
            ("1-2:30", Some(95400)),
            ("1-02:30:05", Some(95405)),
            ("", None),
            ("1h", None),
            ("1:2:3:4", None),
            ("-5", None),
        ] {
            assert_eq!(parse_time(text), seconds, "{text:?}");
        }
    }

    #[test]
    fn memory_sizes_and_shell_words() {
        assert!(is_memory("4G") && is_memory("500") && is_memory("16000M"));
        assert!(!is_memory("G") && !is_memory("4GB") && !is_memory("-1"));
        assert_eq!(shell_quote("/a/b-c.toml"), "/a/b-c.toml");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
    }
}
