//! What a checkpoint must be before a task resumes from it, and what a task may ask of the
//! machine's memory before it starts.
//!
//! A checkpoint is a file anyone (or a crash, or a version of sphereflow with a bug) may have
//! written: it is checked against the task it claims to continue (docs/store.md, "Resumes are
//! checked"). A checkpoint that fails is discarded with a warning and the task starts again
//! from its beginning: a bad checkpoint never makes a result and never fails a task for good.

use sphereflow_solver::{Problem, Simulation, State};

/// How far from 1 a checkpointed row's norm or the masses' sum may be: the solver keeps rows
/// unit to rounding, so anything visible at this scale was not written by it.
const UNIT_TOLERANCE: f64 = 1e-6;

/// Why a state cannot be one of this task's (`what` names it in the message), if it cannot.
fn state_problem(what: &str, state: &State, dim: usize, particles: usize) -> Option<String> {
    if state.dim != dim {
        return Some(format!(
            "{what} is in dimension {}, the task in {dim}",
            state.dim
        ));
    }
    let atoms = state.masses.len();
    if atoms == 0 {
        return Some(format!("{what} has no atoms"));
    }
    if atoms > particles {
        return Some(format!(
            "{what} has {atoms} atoms, the task {particles} particles"
        ));
    }
    if state.positions.len() != atoms * dim {
        return Some(format!(
            "{what} has {} coordinates for {atoms} atoms in dimension {dim}",
            state.positions.len()
        ));
    }
    if let Some(i) = state
        .masses
        .iter()
        .position(|m| !(m.is_finite() && *m > 0.0))
    {
        return Some(format!(
            "{what}: atom {i} has mass {}, not a positive number",
            state.masses[i]
        ));
    }
    let total: f64 = state.masses.iter().sum();
    if (total - 1.0).abs() > UNIT_TOLERANCE {
        return Some(format!("{what}: the masses sum to {total}, not 1"));
    }
    for (i, row) in state.positions.chunks_exact(dim).enumerate() {
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !norm.is_finite() || (norm - 1.0).abs() > UNIT_TOLERANCE {
            return Some(format!(
                "{what}: atom {i} has norm {norm}, not a point of the sphere"
            ));
        }
    }
    None
}

/// Why a checkpointed run cannot be a state of this task's run, if it cannot: its state and
/// every snapshot in the task's dimension, with at most the task's particles (exactly them
/// unless merging may have joined some), positive masses summing to 1 and unit rows; its step
/// within the task's step cap, its time finite and within `stop.t_max`, its step size positive,
/// its checks and series no later than its step.
pub fn checkpoint_problem(simulation: &Simulation, problem: &Problem) -> Option<String> {
    let params = &problem.params;
    let dim = params.model.dim;
    let particles = problem.initial.masses.len();
    if let Some(problem) = state_problem("its state", &simulation.state, dim, particles) {
        return Some(problem);
    }
    let merges = params.measure.merge_tol > 0.0 || params.stop.certify;
    if !merges && simulation.state.masses.len() != particles {
        return Some(format!(
            "its state has {} atoms, the task {particles} particles and no merging",
            simulation.state.masses.len()
        ));
    }
    let step = simulation.step;
    if step > params.stop.max_steps {
        return Some(format!(
            "it is at step {step}, beyond the task's stop.max_steps = {}",
            params.stop.max_steps
        ));
    }
    let t = simulation.t;
    if !(t.is_finite() && t >= 0.0) {
        return Some(format!("its time {t} is not a finite time"));
    }
    if let Some(t_max) = params.stop.t_max {
        if t > t_max * (1.0 + 1e-9) {
            return Some(format!(
                "its time {t} is beyond the task's stop.t_max = {t_max}"
            ));
        }
    }
    if !(simulation.dt.is_finite() && simulation.dt > 0.0) {
        return Some(format!(
            "its step size {} is not a positive number",
            simulation.dt
        ));
    }
    if simulation.last_check.is_some_and(|check| check > step) {
        return Some(format!("its last check is after its step {step}"));
    }
    if simulation.recent_counts.len() as u64 > params.stop.window.max(1) {
        return Some(format!(
            "it remembers {} checks, more than stop.window = {}",
            simulation.recent_counts.len(),
            params.stop.window
        ));
    }
    if let Some(row) = simulation.series.iter().find(|row| row.step > step) {
        return Some(format!(
            "its series has a row at step {}, after its step {step}",
            row.step
        ));
    }
    if simulation.checks > step.saturating_add(1) {
        return Some(format!(
            "it counts {} checks in {step} steps",
            simulation.checks
        ));
    }
    if simulation.rejected_steps > 1 << 62 {
        return Some(format!(
            "it counts {} rejected steps",
            simulation.rejected_steps
        ));
    }
    if simulation.stopped.is_some() {
        return Some("it has stopped already (a checkpoint is of a running task)".into());
    }
    if simulation.series.len() as u64 > simulation.checks {
        return Some(format!(
            "its series has {} rows for {} checks",
            simulation.series.len(),
            simulation.checks
        ));
    }
    let frames = &simulation.frames;
    let capacity = params.measure.frames.max(2);
    if frames.capacity != capacity {
        return Some(format!(
            "it keeps {} snapshots, the task's measure.frames = {capacity}",
            frames.capacity
        ));
    }
    if !(frames.every.is_power_of_two() && frames.every <= 1 << 40) {
        return Some(format!(
            "it keeps a snapshot every {} checks, not a power of two",
            frames.every
        ));
    }
    if frames.frames.len() > capacity + MAX_EARLY_SNAPSHOTS {
        return Some(format!("it has {} snapshots", frames.frames.len()));
    }
    if frames.checks.len() != frames.frames.len() {
        return Some(format!(
            "its snapshots list {} checks for {} frames",
            frames.checks.len(),
            frames.frames.len()
        ));
    }
    if let Some(check) = frames.checks.iter().find(|&&c| c >= simulation.checks) {
        return Some(format!(
            "a snapshot of check {check}, of {} checks so far",
            simulation.checks
        ));
    }
    for (i, frame) in frames.frames.iter().enumerate() {
        if frame.step > step {
            return Some(format!(
                "snapshot {i} is at step {}, after its step {step}",
                frame.step
            ));
        }
        let what = format!("snapshot {i}");
        if let Some(problem) = state_problem(&what, &frame.state, dim, particles) {
            return Some(problem);
        }
    }
    None
}

/// Most early snapshots a run keeps (the checks 0, 1, 2, 3, 4, 6, 9, ... grow by half each
/// time: 100 of them reach past 10^16 checks).
const MAX_EARLY_SNAPSHOTS: usize = 100;

/// Early snapshots a run keeps (the checks 0, 1, 2, 3, 4, 6, 9, ...: about 25 up to 10^5
/// checks), for the memory estimate.
const EARLY_SNAPSHOTS: u64 = 25;

/// A rough upper estimate of the memory, in bytes, a particle task of `particles` particles in
/// dimension `dim` with `width` neurons keeping `snapshots` evenly spaced snapshots
/// (`measure.frames`) needs: its state and the integrator's stages (a dozen copies of the
/// positions), its snapshots (the early ones, the evenly spaced ones and the final state), and
/// their checkpoint (JSON, about 24 bytes a number) and object (8 bytes a number) while they
/// are written. Saturates rather than overflows.
pub fn task_memory(particles: u64, dim: u64, width: u64, snapshots: u64) -> u64 {
    let row = dim.saturating_add(1);
    let numbers = particles.saturating_mul(row);
    let kept = EARLY_SNAPSHOTS.saturating_add(snapshots).saturating_add(1);
    let per_number = kept.saturating_mul(8 + 24 + 8).saturating_add(8 * 12);
    numbers
        .saturating_mul(per_number)
        .saturating_add(width.saturating_mul(row).saturating_mul(16))
        .saturating_add(particles.saturating_mul(width).saturating_mul(8))
}

/// The memory this process may use, in bytes: the machine's (`MemTotal` of `/proc/meminfo`),
/// or its control group's limit when lower (a Slurm allocation); `None` where neither is known.
pub fn machine_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib.saturating_mul(1024))?;
    let limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    Some(limit.map_or(total, |limit| limit.min(total)))
}

/// Gibibytes, for messages.
fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Why a particle task cannot fit in this machine's memory ([`task_memory`] against
/// [`machine_memory`]), if it cannot: the message starts with the setting behind most of the
/// estimate ([`largest_memory_term`]), the key a user changes.
pub fn memory_problem(
    particles: usize,
    dim: usize,
    width: usize,
    snapshots: usize,
) -> Option<String> {
    let needed = task_memory(particles as u64, dim as u64, width as u64, snapshots as u64);
    let available = machine_memory()?;
    (needed > available).then(|| {
        let reason = format!(
            "{particles} particles in dimension {dim} need about {} of memory, more than this \
             machine's {}",
            gib(needed),
            gib(available)
        );
        match largest_memory_term(particles, dim, width, snapshots) {
            MemoryTerm::Particles => format!("model.particles: {reason}"),
            MemoryTerm::Width => format!(
                "perceptron.width: {reason}, most of it for the perceptron's {width} neurons"
            ),
            MemoryTerm::Frames => {
                format!("measure.frames: {reason}, most of it for {snapshots} kept snapshots")
            }
        }
    })
}

/// The setting behind the largest part of a task's memory estimate.
#[derive(Debug, PartialEq)]
pub enum MemoryTerm {
    /// `model.particles`: the state and its work arrays.
    Particles,
    /// `perceptron.width`: the neurons.
    Width,
    /// `measure.frames`: the kept snapshots.
    Frames,
}

/// Which setting accounts for most of [`task_memory`]: the perceptron's neurons, the kept
/// snapshots, or else the particles themselves.
pub fn largest_memory_term(
    particles: usize,
    dim: usize,
    width: usize,
    frames: usize,
) -> MemoryTerm {
    let (particles, dim, width, frames) =
        (particles as u64, dim as u64, width as u64, frames as u64);
    let total = task_memory(particles, dim, width, frames);
    let without_width = task_memory(particles, dim, 0, frames);
    let rest = task_memory(particles, dim, 0, 0);
    let width_part = total.saturating_sub(without_width);
    let frames_part = without_width.saturating_sub(rest);
    if width_part >= frames_part && width_part >= rest {
        MemoryTerm::Width
    } else if frames_part >= rest {
        MemoryTerm::Frames
    } else {
        MemoryTerm::Particles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_estimate_grows_with_the_task_and_never_overflows() {
        let small = task_memory(1000, 2, 2, 24);
        assert!(small > 1000 * 3 * 8 && small < 64 << 20, "{small}");
        assert!(task_memory(2000, 2, 2, 24) > small);
        assert!(task_memory(1000, 2, 2, 400) > small);
        assert_eq!(
            task_memory(u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            u64::MAX
        );
        assert!(memory_problem(1000, 2, 2, 24).is_none());
        if machine_memory().is_some() {
            let problem = memory_problem(400_000_000, 2, 2, 24).expect("too large");
            assert!(problem.contains("more than this machine's"), "{problem}");
            assert!(problem.starts_with("model.particles: "), "{problem}");
            let problem = memory_problem(20, 2, 300_000_000, 24).expect("too large");
            assert!(problem.starts_with("perceptron.width: "), "{problem}");
        }
    }

    #[test]
    fn a_memory_estimate_names_the_setting_that_makes_it_large() {
        for (particles, width, frames, expected) in [
            (400_000_000, 2, 24, MemoryTerm::Particles),
            (20, 300_000_000, 24, MemoryTerm::Width),
            (1000, 300_000_000, 24, MemoryTerm::Width),
            (1_000_000, 2, 1_000_000, MemoryTerm::Frames),
        ] {
            assert_eq!(
                largest_memory_term(particles, 2, width, frames),
                expected,
                "{particles} particles, width {width}, {frames} frames"
            );
        }
    }
}
