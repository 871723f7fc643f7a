//! Helpers shared by the end-to-end test suites (`cli.rs`, `reliability.rs`): running the
//! binary, signalling it, and reading a store's results and event log.
// Each suite uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn sphereflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sphereflow"))
}

/// Runs the binary in `dir`, killing it after two minutes; returns (exit code, stdout, stderr).
pub fn check(args: &[&str], dir: &Path) -> (i32, String, String) {
    let child = sphereflow()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let pid = child.id();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(child.wait_with_output());
    });
    match receive.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => {
            let output = output.expect("binary runs");
            (
                output.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
        Err(_) => {
            signal(pid, "KILL");
            panic!("sphereflow {args:?} still running after two minutes");
        }
    }
}

/// Sends a signal (`TERM`, `INT`, `KILL`) to a process.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

/// Every result file of a store's objects, with the summary's runtime and provenance left out.
pub fn results_of(store: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for shard in std::fs::read_dir(store.join("objects")).unwrap() {
        for object in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let object = object.unwrap().path();
            let id = object.file_name().unwrap().to_string_lossy().into_owned();
            for file in std::fs::read_dir(&object).unwrap() {
                let path = file.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let mut bytes = std::fs::read(&path).unwrap();
                if name == "summary.json" {
                    let mut summary: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    summary["runtime_s"] = serde_json::Value::Null;
                    summary["provenance"] = serde_json::Value::Null;
                    bytes = serde_json::to_vec(&summary).unwrap();
                }
                if name != "checksums.json" {
                    out.insert(format!("{id}/{name}"), bytes);
                }
            }
        }
    }
    out
}

/// `finished` events per task in a store's event log (empty when there is no log yet).
pub fn finished_counts(store: &Path) -> BTreeMap<String, usize> {
    let log = std::fs::read_to_string(store.join("events.jsonl")).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in log.lines() {
        // A killed writer may leave a last line cut short; it is not a `finished` event.
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["event"] == "finished" {
            *counts
                .entry(event["id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    counts
}

/// Number of `finished` events in a store's event log.
pub fn finished_in(store: &Path) -> usize {
    finished_counts(store).values().sum()
}

/// Waits (up to two minutes) until a store's event log has `count` finished events.
pub fn wait_for_finished(store: &Path, count: usize) {
    let start = Instant::now();
    while finished_in(store) < count {
        assert!(
            start.elapsed().as_secs() < 120,
            "no task finished in {}",
            store.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A sweep of twelve tasks long enough to be interrupted (about 1 s each on 2 cores).
pub const TWELVE: &str = "[sweep]\nname = \"twelve\"\n[model]\nparticles = 200\n\
                      [integrator]\npair_kernel = \"direct\"\n\
                      [stop]\nmax_steps = 12000\ndrift_tol = 0\n\
                      [grid]\nmodel.beta = [1, 4, 9]\nperceptron.activation = [\"relu\", \"none\"]\n\
                      init.seed = [1, 2]\n";

/// Writes an `.npy` file of `values` (f64, or f32 as `np.save(path, x.astype(np.float32))`
/// does) with the given shape (C order).
pub fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], values: &[T]) {
    use npyz::WriterBuilder;
    let mut file = std::fs::File::create(path).unwrap();
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut file)
        .begin_nd()
        .unwrap();
    writer.extend(values.iter().copied()).unwrap();
    writer.finish().unwrap();
}
