//! `sphereflow slurm`: writes (and with `--submit`, submits) a Slurm job array whose elements
//! each run `sphereflow worker` on one store on a shared filesystem.
//!
//! The elements need no central process: a worker claims one task at a time through the
//! store's lease files, so the elements drain the sweep together and compute each task once,
//! and the tasks of an element that dies are taken over once its leases expire. An array
//! larger than the site's `MaxArraySize` is split into several scripts, one submission each.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use sphereflow_exec::Store;

use crate::args::{shell_quote, sweep_command_line, LeaseArgs, SweepArgs};
use crate::Failure;

/// Slurm's default `MaxArraySize` (array indices go from 0 to `MaxArraySize - 1`).
const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// The largest lead time `--signal` accepts.
const MAX_SIGNAL_LEAD_S: u64 = 65535;

/// Arguments of `slurm`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Array elements: workers running at once, each on `--cpus-per-task` cores.
    #[arg(long, value_name = "N")]
    array: usize,
    /// Slurm partition.
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// Walltime of each element, in Slurm's format (MINUTES, H:MM:SS, D-HH:MM:SS, ...).
    #[arg(long, value_name = "T")]
    time: Option<String>,
    /// Cores per element; the worker runs this many tasks at once (`-j`).
    #[arg(long, default_value_t = 1, value_name = "C")]
    cpus_per_task: usize,
    /// Memory per element, in Slurm's format (e.g. `4G`).
    #[arg(long, value_name = "M")]
    mem: Option<String>,
    /// Elements running at once, per submission (`%K` of `--array`).
    #[arg(long, value_name = "K")]
    array_limit: Option<usize>,
    /// Another `#SBATCH` option, written as given (repeatable), e.g. `--sbatch-arg=--account=abc`.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Where the `slurm/` folder of scripts and logs goes (default `results/<sweep name>/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds before the time limit at which an element checkpoints, releases its leases and
    /// requeues itself.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    signal_before: u64,
    /// The workers' checkpoint interval and lease time-to-live.
    #[command(flatten)]
    leases: LeaseArgs,
    /// The site's `MaxArraySize` (default: read with `scontrol show config`, else 1001).
    #[arg(long, value_name = "N")]
    max_array_size: Option<usize>,
    /// Workers run again the tasks that failed before.
    #[arg(long)]
    retry_failed: bool,
    /// Plan grids of more than a million tasks.
    #[arg(long)]
    yes: bool,
    /// Submit the scripts with `sbatch`.
    #[arg(long)]
    submit: bool,
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
fn is_memory(text: &str) -> bool {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    text.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Everything a script needs, validated.
struct Config {
    sweep_name: String,
    n_tasks: usize,
    sweep: PathBuf,
    profile: Option<String>,
    store: PathBuf,
    folder: PathBuf,
    binary: PathBuf,
    elements: usize,
    cpus_per_task: usize,
    partition: Option<String>,
    time: Option<String>,
    mem: Option<String>,
    array_limit: Option<usize>,
    sbatch_args: Vec<String>,
    signal_before: u64,
    lease_ttl: f64,
    checkpoint_every: f64,
    retry_failed: bool,
}

impl Config {
    /// The sweep, profile and store as typed after `sphereflow status` or `run`.
    fn target(&self) -> String {
        sweep_command_line(&self.sweep, self.profile.as_deref(), &self.store)
    }
}

fn input(message: String) -> Failure {
    Failure::Input(anyhow!(message))
}

/// Checks the options that need no filesystem.
fn check_options(args: &Args) -> Result<(), Failure> {
    if args.array == 0 {
        return Err(input("--array: must be at least 1 element".into()));
    }
    if args.cpus_per_task == 0 {
        return Err(input("--cpus-per-task: must be at least 1".into()));
    }
    if args.array_limit == Some(0) {
        return Err(input("--array-limit: must be at least 1".into()));
    }
    if args.max_array_size == Some(0) {
        return Err(input("--max-array-size: must be at least 1".into()));
    }
    if !(1..=MAX_SIGNAL_LEAD_S).contains(&args.signal_before) {
        return Err(input(format!(
            "--signal-before: must be between 1 and {MAX_SIGNAL_LEAD_S} seconds"
        )));
    }
    args.leases.durations()?;
    if let Some(time) = &args.time {
        let seconds = parse_time(time).ok_or_else(|| {
            input(format!(
                "--time: {time:?} is not a Slurm time limit (MINUTES, H:MM:SS or D-HH:MM:SS)"
            ))
        })?;
        if seconds <= args.signal_before {
            return Err(input(format!(
                "--time {time} is not longer than --signal-before ({} s): elements would be \
                 told to stop before they start",
                args.signal_before
            )));
        }
    }
    if let Some(mem) = &args.mem {
        if !is_memory(mem) {
            return Err(input(format!(
                "--mem: {mem:?} is not a memory size (digits and K, M, G or T)"
            )));
        }
    }
    if let Some(partition) = &args.partition {
        if partition.is_empty() || partition.contains(|c: char| c.is_whitespace()) {
            return Err(input(format!("--partition: {partition:?} is not a name")));
        }
    }
    for arg in &args.sbatch_args {
        if !arg.starts_with('-') || arg.contains(['\n', '\r']) {
            return Err(input(format!(
                "--sbatch-arg: {arg:?} is not an sbatch option (one line, starting with -)"
            )));
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("cannot make {} absolute", path.display()))
        .map_err(Failure::Input)?;
    Ok(absolute.canonicalize().unwrap_or(absolute))
}

/// Validates the arguments into a config; creates the store (so that elements never race to).
fn configure(args: &Args) -> Result<Config, Failure> {
    check_options(args)?;
    let plan = args.target.plan(args.yes)?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::analyze::default_out(&plan));
    let folder = absolute(&out.join("slurm"))?;
    let target = &args.target;
    for (what, text) in [
        ("the sweep", target.sweep.to_string_lossy()),
        ("the store", target.store.to_string_lossy()),
        ("--profile", target.profile.as_deref().unwrap_or("").into()),
    ] {
        if text.contains(['\n', '\r']) {
            return Err(input(format!("{what}: a line break in {text:?}")));
        }
    }
    if folder.to_string_lossy().contains(char::is_whitespace) {
        return Err(input(format!(
            "{}: #SBATCH lines cannot name a folder with white space (use --out)",
            folder.display()
        )));
    }
    if args.array > plan.tasks.len() {
        eprintln!(
            "warning: {} elements for {} tasks: {} will find nothing to do",
            args.array,
            plan.tasks.len(),
            args.array - plan.tasks.len()
        );
    }
    let binary = std::env::current_exe()
        .context("cannot find the running sphereflow binary")
        .map_err(Failure::Run)?;
    Store::open(&args.target.store).map_err(|e| Failure::Run(e.into()))?;
    Ok(Config {
        sweep_name: plan.sweep.name.clone(),
        n_tasks: plan.tasks.len(),
        sweep: absolute(&args.target.sweep)?,
        profile: args.target.profile.clone(),
        store: absolute(&args.target.store)?,
        folder,
        binary: binary.canonicalize().unwrap_or(binary),
        elements: args.array,
        cpus_per_task: args.cpus_per_task,
        partition: args.partition.clone(),
        time: args.time.clone(),
        mem: args.mem.clone(),
        array_limit: args.array_limit,
        sbatch_args: args.sbatch_args.clone(),
        signal_before: args.signal_before,
        lease_ttl: args.leases.lease_ttl,
        checkpoint_every: args.leases.checkpoint_every,
        retry_failed: args.retry_failed,
    })
}

/// The text of the sbatch script of one part.
fn script(config: &Config, part: &Part, n_parts: usize, index: usize) -> String {
    let name = &config.sweep_name;
    let store = config.store.display();
    let mut text = String::from("#!/bin/bash\n");
    let of_parts = if n_parts > 1 {
        format!(
            ", part {} of {n_parts} (elements {}-{} of {})",
            index + 1,
            part.first,
            part.first + part.count - 1,
            config.elements
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
# checkpoints and exits 0 once the sweep is done. USR1 and not TERM, so that the script can tell
# the walltime warning from `scancel`.
# scancel sends SIGTERM to every process of the element: the worker checkpoints, releases its
# leases and exits with 130, and the element is not requeued (a cancel is final). The leases it
# released are taken at once by the other elements; resubmitting the script runs what is left.
# A lost node or a preemption requeues the element (--requeue); its leases expire after the TTL.
# Exit codes of an element: 0 nothing left to do, 1 some tasks failed (recorded in the store;
# `sphereflow status` says why; they are not requeued: rerun with --retry-failed), 130 interrupted.
#
# Progress: sphereflow status {target}
",
        n_tasks = config.n_tasks,
        path = script_path(config, index, n_parts).display(),
        ttl = config.lease_ttl,
        ckpt = config.checkpoint_every,
        lead = config.signal_before,
        target = config.target(),
    );
    let mut array = format!("0-{}", part.count - 1);
    if let Some(limit) = config.array_limit {
        let _ = write!(array, "%{limit}");
    }
    let mut options = vec![
        format!("--job-name=sphereflow-{name}"),
        format!("--array={array}"),
        "--ntasks=1".to_string(),
        format!("--cpus-per-task={}", config.cpus_per_task),
    ];
    if let Some(time) = &config.time {
        options.push(format!("--time={time}"));
    }
    if let Some(mem) = &config.mem {
        options.push(format!("--mem={mem}"));
    }
    if let Some(partition) = &config.partition {
        options.push(format!("--partition={partition}"));
    }
    options.extend([
        format!("--output={}/{name}-%A_%a.out", config.folder.display()),
        "--open-mode=append".to_string(),
        format!("--signal=B:USR1@{}", config.signal_before),
        "--requeue".to_string(),
    ]);
    options.extend(config.sbatch_args.iter().cloned());
    for option in &options {
        let _ = writeln!(text, "#SBATCH {option}");
    }
    let mut worker = vec![
        config.binary.display().to_string(),
        "worker".into(),
        "--store".into(),
        config.store.display().to_string(),
        config.sweep.display().to_string(),
    ];
    if let Some(profile) = &config.profile {
        worker.extend(["--profile".into(), profile.clone()]);
    }
    worker.extend([
        "-j".into(),
        config.cpus_per_task.to_string(),
        "--lease-ttl".into(),
        config.lease_ttl.to_string(),
        "--checkpoint-every".into(),
        config.checkpoint_every.to_string(),
    ]);
    if config.retry_failed {
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
    echo "sphereflow: requeueing $element to finish the sweep"
    scontrol requeue "$element"
fi
exit "$status"
"#,
        worker = worker.join(" "),
    );
    text
}

fn script_path(config: &Config, index: usize, n_parts: usize) -> PathBuf {
    let name = &config.sweep_name;
    let file = if n_parts > 1 {
        format!("{name}.{}.sbatch", index + 1)
    } else {
        format!("{name}.sbatch")
    };
    config.folder.join(file)
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
fn site_max_array_size() -> Option<usize> {
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

/// Submits a script; the job id.
fn submit(path: &Path) -> Result<String, Failure> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(path)
        .output()
        .with_context(|| format!("cannot run sbatch for {}", path.display()))
        .map_err(Failure::Run)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Failure::Run(anyhow!(
            "sbatch {} failed ({}): {}",
            path.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    // `--parsable` prints `<id>` or `<id>;<cluster>`.
    let id = stdout.trim().split(';').next().unwrap_or_default();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::Run(anyhow!(
            "sbatch {}: no job id in its output {:?}",
            path.display(),
            stdout.trim()
        )));
    }
    Ok(id.to_string())
}

/// Runs `slurm`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let config = configure(args)?;
    let max_array_size = args
        .max_array_size
        .or_else(site_max_array_size)
        .unwrap_or(DEFAULT_MAX_ARRAY_SIZE);
    let parts = split(config.elements, max_array_size);
    std::fs::create_dir_all(&config.folder)
        .with_context(|| format!("cannot create {}", config.folder.display()))
        .map_err(Failure::Run)?;
    let mut paths = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let path = script_path(&config, index, parts.len());
        std::fs::write(&path, script(&config, part, parts.len(), index))
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(Failure::Run)?;
        paths.push(path);
    }
    if parts.len() > 1 {
        println!(
            "{} elements exceed MaxArraySize = {max_array_size}: split into {} scripts",
            config.elements,
            parts.len()
        );
    }
    let status = format!("sphereflow status {}", config.target());
    if !args.submit {
        for (path, part) in paths.iter().zip(&parts) {
            println!("wrote {} ({} elements)", path.display(), part.count);
        }
        println!("submit with:");
        for path in &paths {
            println!("  sbatch {}", shell_quote(&path.display().to_string()));
        }
        println!("then watch with: {status}");
        return Ok(());
    }
    let mut ids = Vec::new();
    for (path, part) in paths.iter().zip(&parts) {
        let id = submit(path)?;
        println!(
            "submitted job array {id} ({} elements) from {}",
            part.count,
            path.display()
        );
        ids.push(id);
    }
    println!(
        "logs: {}/{}-<job>_<element>.out",
        config.folder.display(),
        config.sweep_name
    );
    println!("watch with: {status}");
    println!("            squeue -j {}", ids.join(","));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
