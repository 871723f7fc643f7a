//! Drawing a run's progress from the executor's events (indicatif bars on a terminal, plain
//! periodic lines otherwise), and the Ctrl-C / SIGTERM handling that interrupts it.
//!
//! The estimated time left follows the executor's cost model ([`sphereflow_exec::cost_model`]:
//! a task costs about steps × the pair weights of its field evaluations, `n²/2` a pass direct,
//! `n (K + 1)` on S^1's spectral path, one pass per stage of its integrator): the work done so
//! far in this run (the steps of finished tasks and of running ones, each weighted so) over the
//! time it took gives a rate, and the work left (the steps still to take, up to each task's
//! step cap, those of a task with a stopping rule scaled by how far below their caps the
//! finished tasks with one stopped) at that rate is the estimate. Every line is cut to the
//! terminal's width. The arithmetic and the layout are pure functions
//! ([`eta_seconds`], [`overall_line`], [`task_line`]), tested without a terminal.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sphereflow_exec::{cost_model, run_many, Event, Report, RunOptions, Store, TaskCost};
use sphereflow_plan::Plan;

use crate::failure::Failure;
use crate::output::plural;

/// The flag the Ctrl-C / SIGTERM handler sets; a second signal exits at once.
fn interrupt_flag() -> &'static AtomicBool {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if FLAG.swap(true, Ordering::SeqCst) {
                eprintln!("interrupted again: exiting without waiting for checkpoints");
                std::process::exit(130);
            }
            eprintln!("interrupting: running tasks checkpoint and release their leases ...");
        });
    });
    &FLAG
}

/// One task queued in this run, as the estimate of the time left sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// Its weight per step: the pair weights of one pass (the cost model's).
    pub weight: f64,
    /// Its step cap.
    pub max_steps: u64,
    /// The step it started from in this run (a checkpoint's, or 0).
    pub start_step: u64,
    /// Its step now: the last progress report's, or its final step once finished.
    pub step: u64,
    /// Whether it has finished (or failed): nothing of it is left.
    pub finished: bool,
    /// Whether it may stop before its cap ([`sphereflow_exec::TaskCost::stopping_rule`]);
    /// without a stopping rule it runs to its cap.
    pub stopping_rule: bool,
}

/// An estimate of the time left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eta {
    /// Seconds left.
    pub seconds: f64,
    /// Whether it is an upper bound rather than an estimate: tasks with a stopping rule are
    /// left and none has finished, so they are taken to run to their caps (`ETA ≤ ...`).
    pub at_most: bool,
}

/// The time left, estimated from the work done in `elapsed_s` seconds: `None` while nothing has
/// been measured (no step taken, or under a second elapsed), rather than a guess.
///
/// Work is steps × weight. A task with a stopping rule that has not finished is expected to run
/// to its step cap scaled by the mean fraction of their caps that the finished tasks with a
/// stopping rule took, never to fewer steps than it has taken; a task without one runs to its
/// cap, and says nothing of the others. While no task with a stopping rule has finished, those
/// left are taken to run to their caps and the estimate is an upper bound ([`Eta::at_most`]):
/// most runs stop well below their caps. Without weights (mean-field tasks only), tasks count
/// by number.
pub fn eta_seconds(elapsed_s: f64, tasks: &[Work]) -> Option<Eta> {
    let estimate = |seconds| Eta {
        seconds,
        at_most: false,
    };
    if !tasks.is_empty() && tasks.iter().all(|w| w.finished) {
        return Some(estimate(0.0));
    }
    if elapsed_s.is_nan() || elapsed_s < 1.0 {
        return None;
    }
    if tasks.iter().all(|w| w.weight == 0.0) {
        // No cost model to go by: count tasks.
        let finished = tasks.iter().filter(|w| w.finished).count() as f64;
        let unfinished = tasks.len() as f64 - finished;
        return (finished > 0.0).then(|| estimate(elapsed_s / finished * unfinished));
    }
    let stopped: Vec<f64> = tasks
        .iter()
        .filter(|w| w.finished && w.stopping_rule)
        .map(|w| (w.step as f64 / w.max_steps.max(1) as f64).min(1.0))
        .collect();
    let at_most = stopped.is_empty() && tasks.iter().any(|w| !w.finished && w.stopping_rule);
    let fraction = if stopped.is_empty() {
        1.0
    } else {
        stopped.iter().sum::<f64>() / stopped.len() as f64
    };
    let (mut done, mut left) = (0.0, 0.0);
    for work in tasks {
        let taken = work.step.saturating_sub(work.start_step) as f64;
        done += work.weight * taken;
        if !work.finished {
            let share = if work.stopping_rule { fraction } else { 1.0 };
            let expected = (work.max_steps as f64 * share).max(work.step as f64);
            left += work.weight * (expected - work.step as f64);
        }
    }
    (done > 0.0).then(|| Eta {
        seconds: left / (done / elapsed_s),
        at_most,
    })
}

/// A duration as a person reads it: `45 s`, `3 min 20 s`, `2 h 05 min`.
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s / 60 % 60),
    }
}

/// `00:01:23`.
fn clock(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `text` cut to `width` characters, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// What the overall line shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overall {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Tasks of this run finished or failed.
    pub finished: usize,
    /// Tasks this run computes.
    pub queued: usize,
    /// Running now.
    pub running: usize,
    /// Failed in this run.
    pub failed: usize,
    /// Already in the store.
    pub cached: usize,
    /// The time left ([`eta_seconds`]).
    pub eta: Option<Eta>,
}

/// Narrowest and widest bar drawn.
const BAR_WIDTHS: (usize, usize) = (10, 30);

/// The overall line, at most `width` characters:
/// `00:01:23 [=====>      ] 3/10 · 2 running · 1 failed · 4 cached · ETA 2 min 10 s`.
/// The bar narrows first; then the cached, failed and running counts go, in that order; the
/// elapsed time, the counts of tasks and the ETA stay.
pub fn overall_line(width: usize, view: &Overall) -> String {
    let eta = match view.eta {
        Some(Eta {
            seconds,
            at_most: true,
        }) => format!("ETA ≤ {}", duration_text(seconds)),
        Some(Eta { seconds, .. }) => format!("ETA {}", duration_text(seconds)),
        None => "ETA estimating".to_string(),
    };
    // (text, kept while there is room): in display order, dropped from the last optional one.
    let mut parts: Vec<(String, bool)> = vec![(format!("{} running", view.running), true)];
    if view.failed > 0 {
        parts.push((format!("{} failed", view.failed), true));
    }
    if view.cached > 0 {
        parts.push((format!("{} cached", view.cached), true));
    }
    let head = clock(view.elapsed);
    let count = format!("{}/{}", view.finished, view.queued);
    loop {
        let mut tail: Vec<&str> = parts
            .iter()
            .filter(|(_, kept)| *kept)
            .map(|(text, _)| text.as_str())
            .collect();
        tail.push(&eta);
        let tail = tail.join(" · ");
        // `head [bar] count · tail`
        let fixed = head.chars().count() + 1 + 2 + 1 + count.len() + 3 + tail.chars().count();
        let room = width.saturating_sub(fixed);
        if room >= BAR_WIDTHS.0 {
            let bar = bar(view.finished, view.queued, room.min(BAR_WIDTHS.1));
            return format!("{head} [{bar}] {count} · {tail}");
        }
        match parts.iter_mut().rev().find(|(_, kept)| *kept) {
            Some(part) => part.1 = false,
            None => return fit(&format!("{head} {count} · {tail}"), width),
        }
    }
}

/// A bar of `width` cells, `done` of `total` filled: `=====>    `.
fn bar(done: usize, total: usize, width: usize) -> String {
    // Nothing to do counts as all done.
    let filled = (done.min(total) * width)
        .checked_div(total)
        .unwrap_or(width);
    let mut text = "=".repeat(filled);
    if filled < width {
        text.push('>');
        text.push_str(&" ".repeat(width - filled - 1));
    }
    text
}

/// A running task's last progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProgress {
    /// Steps so far.
    pub step: u64,
    /// Step cap.
    pub max_steps: u64,
    /// Simulated time.
    pub t: f64,
    /// Clusters at the last check.
    pub n_clusters: usize,
    /// Largest drift at the last check.
    pub max_drift: f64,
}

/// A running task's line, at most `width` characters: `1a2b3c4d beta=10 seed=3 · step
/// 1200/20000 · 3 clusters · t = 12.3 · drift 1.2e-3`. When it is too long, the drift and
/// the time go first, then the label is cut.
pub fn task_line(width: usize, name: &str, progress: Option<&TaskProgress>) -> String {
    let Some(p) = progress else {
        return fit(name, width);
    };
    let mut parts = vec![
        format!("step {}/{}", p.step, p.max_steps),
        plural(p.n_clusters, "cluster"),
        format!("t = {:.1}", p.t),
        format!("drift {:.1e}", p.max_drift),
    ];
    loop {
        let line = format!("{name} · {}", parts.join(" · "));
        if line.chars().count() <= width {
            return line;
        }
        if parts.len() > 2 {
            parts.pop();
            continue;
        }
        // The label gives way to the progress, down to its first 8 characters (the id).
        let tail = format!(" · {}", parts.join(" · "));
        let room = width.saturating_sub(tail.chars().count()).max(9);
        return fit(&format!("{}{tail}", fit(name, room)), width);
    }
}

/// The terminal's width in columns (80 when it cannot be read), less one: a line that fills
/// the last column wraps on some terminals.
fn terminal_width() -> usize {
    let columns = console::Term::stderr()
        .size_checked()
        .map_or(80, |(_, columns)| usize::from(columns));
    columns.max(20) - 1
}

/// A running task's display.
struct Running {
    name: String,
    bar: Option<ProgressBar>,
    progress: Option<TaskProgress>,
}

/// Counts and work shown by the progress display.
#[derive(Default)]
struct Counts {
    queued: usize,
    cached: usize,
    done: usize,
    failed: usize,
    running: BTreeMap<String, Running>,
    /// The work of each task queued in this run, by id.
    work: HashMap<String, Work>,
}

impl Counts {
    fn overall(&self, elapsed: Duration) -> Overall {
        let work: Vec<Work> = self.work.values().copied().collect();
        Overall {
            elapsed,
            finished: self.done + self.failed,
            queued: self.queued,
            running: self.running.len(),
            failed: self.failed,
            cached: self.cached,
            eta: eta_seconds(elapsed.as_secs_f64(), &work),
        }
    }
}

/// Draws events: bars on a terminal, periodic lines otherwise.
struct Display {
    counts: Mutex<Counts>,
    bars: Option<(MultiProgress, ProgressBar)>,
    /// The cost model of every task of the run's sweeps, by id.
    costs: HashMap<String, TaskCost>,
    started: Instant,
    last_line: Mutex<Instant>,
    every: Duration,
    /// Plain lines go to stderr, leaving stdout to the command's JSON.
    plain_to_stderr: bool,
}

impl Display {
    fn new(plans: &[&Plan], fancy: bool, plain_to_stderr: bool) -> Display {
        let bars = fancy.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(0));
            overall.set_style(ProgressStyle::with_template("{msg}").expect("template"));
            (multi, overall)
        });
        let costs = plans
            .iter()
            .flat_map(|plan| {
                plan.tasks
                    .iter()
                    .map(|task| (task.id.to_hex(), cost_model(plan, task)))
            })
            .collect();
        Display {
            counts: Mutex::new(Counts::default()),
            bars,
            costs,
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
            every: Duration::from_secs(10),
            plain_to_stderr,
        }
    }

    fn task_bar(&self) -> Option<ProgressBar> {
        let (multi, _) = self.bars.as_ref()?;
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("  {spinner} {msg}").expect("template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(bar)
    }

    /// Redraws a running task's line to the terminal's width (the spinner takes 4 columns).
    fn draw_task(running: &Running, width: usize) {
        if let Some(bar) = &running.bar {
            bar.set_message(task_line(
                width.saturating_sub(4),
                &running.name,
                running.progress.as_ref(),
            ));
        }
    }

    fn handle(&self, event: &Event) {
        let mut counts = self.counts.lock().expect("counts");
        let width = terminal_width();
        match event {
            // One per sweep of the run.
            Event::Planned { cached, queued, .. } => {
                counts.cached += *cached;
                counts.queued += *queued;
            }
            Event::Queued { id, .. } => {
                let cost = self.costs.get(id).copied().unwrap_or(TaskCost {
                    per_step: 0.0,
                    max_steps: 1,
                    stopping_rule: true,
                });
                counts.work.insert(
                    id.clone(),
                    Work {
                        weight: cost.per_step,
                        max_steps: cost.max_steps,
                        start_step: 0,
                        step: 0,
                        finished: false,
                        stopping_rule: cost.stopping_rule,
                    },
                );
            }
            Event::Started {
                id,
                label,
                resumed_from_step,
            } => {
                let name = match resumed_from_step {
                    Some(step) => format!("{} {label} (resumed at step {step})", &id[..8]),
                    None => format!("{} {label}", &id[..8]),
                };
                if let Some(work) = counts.work.get_mut(id) {
                    let from = resumed_from_step.unwrap_or(0);
                    (work.start_step, work.step) = (from, from);
                }
                let running = Running {
                    name,
                    bar: self.task_bar(),
                    progress: None,
                };
                Self::draw_task(&running, width);
                counts.running.insert(id.clone(), running);
            }
            Event::Progress {
                id,
                step,
                max_steps,
                t,
                n_clusters,
                max_drift,
            } => {
                if let Some(work) = counts.work.get_mut(id) {
                    work.step = *step;
                    work.max_steps = *max_steps;
                }
                if let Some(running) = counts.running.get_mut(id) {
                    running.progress = Some(TaskProgress {
                        step: *step,
                        max_steps: *max_steps,
                        t: *t,
                        n_clusters: *n_clusters,
                        max_drift: *max_drift,
                    });
                    Self::draw_task(running, width);
                }
            }
            Event::Finished { id, .. } | Event::Failed { id, .. } => {
                if let Some(work) = counts.work.get_mut(id) {
                    work.finished = true;
                    if let Event::Finished { steps, .. } = event {
                        work.step = *steps;
                    }
                }
                if let Some(running) = counts.running.remove(id) {
                    if let Some(bar) = running.bar {
                        bar.finish_and_clear();
                    }
                    if let Event::Failed { reason, .. } = event {
                        self.println(&format!("failed: {}: {reason}", running.name));
                    }
                }
                if matches!(event, Event::Finished { .. }) {
                    counts.done += 1;
                } else {
                    counts.failed += 1;
                }
            }
            Event::Checkpointed { .. } | Event::CacheHit { .. } => {}
            Event::HeldElsewhere { id, holder } => {
                if self.bars.is_none() {
                    self.plain(&format!("{} is held by {holder}: waiting for it", &id[..8]));
                }
            }
            Event::CheckpointDiscarded { id, reason } => {
                self.println(&format!(
                    "warning: {}: checkpoint discarded, starting from the beginning: {reason}",
                    &id[..8]
                ));
            }
            Event::Blocked { id, reason } => {
                self.println(&format!("blocked: {}: {reason}", &id[..8]));
            }
            Event::Interrupted { .. } => {}
        }
        let overall = counts.overall(self.started.elapsed());
        if let Some((_, bar)) = &self.bars {
            bar.set_message(overall_line(width, &overall));
            if overall.finished == overall.queued {
                // set_message draws at most every 50 ms: the last count would be skipped when
                // the run ends within that time; suspending redraws at once.
                bar.suspend(|| {});
            }
        } else {
            let mut last = self.last_line.lock().expect("clock");
            let finished = matches!(event, Event::Finished { .. } | Event::Failed { .. });
            if last.elapsed() >= self.every || (finished && overall.finished == overall.queued) {
                *last = Instant::now();
                self.plain(&overall_line(usize::MAX, &overall));
            }
        }
    }

    fn println(&self, text: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => self.plain(text),
        }
    }

    /// A plain line: on stdout, or on stderr when stdout carries JSON.
    fn plain(&self, text: &str) {
        if self.plain_to_stderr {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }

    fn finish(&self) {
        if let Some((_, overall)) = &self.bars {
            overall.finish_and_clear();
        }
    }
}

/// Runs a plan, drawing its events (bars on a terminal unless `plain`; plain lines on stderr
/// when `json`, the command's stdout being JSON); Ctrl-C and SIGTERM interrupt it.
pub fn run_drawn(
    plan: &Plan,
    store: &Store,
    options: &RunOptions,
    plain: bool,
    json: bool,
) -> Result<Report, Failure> {
    run_drawn_many(&[plan], store, options, plain, json)
}

/// Runs several plans as one queue ([`run_many`]), drawn as one run.
pub fn run_drawn_many(
    plans: &[&Plan],
    store: &Store,
    options: &RunOptions,
    plain: bool,
    json: bool,
) -> Result<Report, Failure> {
    let display = Display::new(plans, !plain && std::io::stderr().is_terminal(), json);
    let report = run_many(
        plans,
        store,
        options,
        &|e| display.handle(e),
        interrupt_flag(),
    )
    .map_err(|e| Failure::Run(e.into()))?;
    display.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(particles: f64, max_steps: u64, step: u64, finished: bool) -> Work {
        Work {
            weight: particles * particles,
            max_steps,
            start_step: 0,
            step,
            finished,
            stopping_rule: true,
        }
    }

    /// The seconds of an estimate that is not an upper bound.
    fn seconds(eta: Option<Eta>) -> f64 {
        let eta = eta.expect("an estimate");
        assert!(!eta.at_most, "{eta:?}");
        eta.seconds
    }

    #[test]
    fn nothing_measured_gives_no_estimate_rather_than_zero() {
        let four = [work(100.0, 1000, 0, false); 4];
        assert_eq!(eta_seconds(0.0, &four), None);
        assert_eq!(eta_seconds(30.0, &four), None);
        assert_eq!(eta_seconds(0.5, &[work(100.0, 1000, 500, false)]), None);
        // Once everything has finished nothing is left, however fast it went.
        assert_eq!(
            seconds(eta_seconds(0.1, &[work(100.0, 1000, 20, true)])),
            0.0
        );
    }

    #[test]
    fn the_estimate_follows_the_steps_of_running_tasks() {
        // Two equal tasks half done after 60 s, none finished: at most 60 s left (to their caps),
        // not the minutes a count of finished tasks would give.
        let half = [work(100.0, 1000, 500, false), work(100.0, 1000, 500, false)];
        let eta = eta_seconds(60.0, &half).unwrap();
        assert!(eta.at_most && (eta.seconds - 60.0).abs() < 1e-9, "{eta:?}");
        // Four equal tasks, two done at their caps, two half done, after 90 s: 3 of 4 units in
        // 90 s, 1 left.
        let tasks = [
            work(100.0, 1000, 1000, true),
            work(100.0, 1000, 1000, true),
            work(100.0, 1000, 500, false),
            work(100.0, 1000, 500, false),
        ];
        assert!((seconds(eta_seconds(90.0, &tasks)) - 30.0).abs() < 1e-9);
    }

    #[test]
    fn the_estimate_weighs_tasks_by_particles_squared_and_learns_early_stops() {
        // A finished task of 100 particles in 10 s; a pending one of 200 costs 4 times as much.
        let tasks = [work(100.0, 1000, 1000, true), work(200.0, 1000, 0, false)];
        assert!((seconds(eta_seconds(10.0, &tasks)) - 40.0).abs() < 1e-9);
        // Finished tasks stopped at a tenth of their cap: so will the others, probably.
        let tasks = [work(100.0, 1000, 100, true), work(100.0, 1000, 0, false)];
        assert!((seconds(eta_seconds(10.0, &tasks)) - 10.0).abs() < 1e-9);
        // A running task past that fraction is expected to go on to at least its step.
        let tasks = [work(100.0, 1000, 100, true), work(100.0, 1000, 300, false)];
        assert_eq!(seconds(eta_seconds(10.0, &tasks)), 0.0);
        // Resumed tasks: only the steps of this run count as done work.
        let resumed = Work {
            start_step: 500,
            ..work(100.0, 1000, 750, false)
        };
        let eta = eta_seconds(10.0, &[resumed]).unwrap();
        assert!((eta.seconds - 10.0).abs() < 1e-9, "{eta:?}");
        // Without weights (mean-field tasks), tasks count by number.
        let counted = [work(0.0, 1, 1, true), work(0.0, 1, 0, false)];
        assert!((seconds(eta_seconds(4.0, &counted)) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn runs_without_a_stopping_rule_go_to_their_caps_and_say_nothing_of_the_others() {
        let no_rule = |step, finished| Work {
            stopping_rule: false,
            ..work(100.0, 100, step, finished)
        };
        // A run without a rule finished at its cap (100 of 100 steps) in 10 s: the pending run
        // with a rule is not taken to run to its cap on that account, and without a finished
        // run with a rule the estimate is an upper bound: its 1000 steps at the measured rate.
        let tasks = [no_rule(100, true), work(100.0, 1000, 0, false)];
        let eta = eta_seconds(10.0, &tasks).unwrap();
        assert!(eta.at_most && (eta.seconds - 100.0).abs() < 1e-9, "{eta:?}");
        // Once a run with a rule has stopped at a tenth of its cap, the others are expected to:
        // an estimate, no longer a bound. A pending run without a rule still goes to its cap.
        let tasks = [
            no_rule(100, true),
            work(100.0, 1000, 100, true),
            work(100.0, 1000, 0, false),
            no_rule(0, false),
        ];
        // 200 steps done in 10 s; left: 100 (a tenth of 1000) + 100 (to the cap) = 200 steps.
        assert!((seconds(eta_seconds(10.0, &tasks)) - 10.0).abs() < 1e-9);
        // Only runs without a rule: never a bound.
        let tasks = [no_rule(100, true), no_rule(50, false)];
        assert!((seconds(eta_seconds(15.0, &tasks)) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(0.2), "0 s");
        assert_eq!(duration_text(45.0), "45 s");
        assert_eq!(duration_text(200.0), "3 min 20 s");
        assert_eq!(duration_text(7500.0), "2 h 05 min");
    }

    fn overall(eta_s: Option<f64>) -> Overall {
        Overall {
            elapsed: Duration::from_secs(83),
            finished: 3,
            queued: 10,
            running: 2,
            failed: 1,
            cached: 4,
            eta: eta_s.map(|seconds| Eta {
                seconds,
                at_most: false,
            }),
        }
    }

    #[test]
    fn the_overall_line_fits_the_width_and_keeps_the_essentials() {
        let wide = overall_line(120, &overall(Some(130.0)));
        assert_eq!(
            wide,
            "00:01:23 [=========>                    ] 3/10 · 2 running · 1 failed · 4 cached · \
             ETA 2 min 10 s"
        );
        for width in [20, 40, 60, 79, 80, 100, 200] {
            for eta in [None, Some(5.0), Some(1e6)] {
                let line = overall_line(width, &overall(eta));
                assert!(line.chars().count() <= width, "{width}: {line}");
                if width >= 40 {
                    assert!(line.starts_with("00:01:23 "), "{line}");
                    assert!(line.contains("3/10") && line.contains("ETA"), "{line}");
                }
            }
        }
        // At 79 columns the bar narrows before any count goes.
        let line = overall_line(79, &overall(Some(130.0)));
        assert!(line.contains("4 cached") && line.contains('['), "{line}");
        assert_eq!(
            overall_line(120, &overall(None)),
            "00:01:23 [=========>                    ] 3/10 · 2 running · 1 failed · 4 cached · \
             ETA estimating"
        );
        // An upper bound says so.
        let bound = Overall {
            eta: Some(Eta {
                seconds: 130.0,
                at_most: true,
            }),
            ..overall(None)
        };
        assert!(overall_line(120, &bound).ends_with("ETA ≤ 2 min 10 s"));
    }

    #[test]
    fn task_lines_fit_the_width_and_say_cluster_or_clusters() {
        let one = TaskProgress {
            step: 1200,
            max_steps: 20000,
            t: 12.34,
            n_clusters: 1,
            max_drift: 1.2e-3,
        };
        let name = "1a2b3c4d beta=10 activation=relu seed=3";
        assert_eq!(
            task_line(200, name, Some(&one)),
            "1a2b3c4d beta=10 activation=relu seed=3 · step 1200/20000 · 1 cluster · t = 12.3 \
             · drift 1.2e-3"
        );
        let three = TaskProgress {
            n_clusters: 3,
            ..one.clone()
        };
        assert!(task_line(200, name, Some(&three)).contains("· 3 clusters ·"));
        for width in [10, 30, 50, 75, 76, 120] {
            let line = task_line(width, name, Some(&three));
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(line.starts_with("1a2b3c4d"), "{width}: {line}");
        }
        // At 75 columns (80 less the spinner and a margin) the step and count stay.
        let line = task_line(75, name, Some(&three));
        assert!(line.contains("step 1200/20000 · 3 clusters"), "{line}");
        let long = format!("1a2b3c4d {}", "param=value ".repeat(10));
        let line = task_line(75, &long, Some(&three));
        assert!(line.contains("…") && line.ends_with("3 clusters"), "{line}");
        assert_eq!(task_line(6, name, None), "1a2b3…");
    }
}
