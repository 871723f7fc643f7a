//! Drawing a run's progress from the executor's events (indicatif bars on a terminal, plain
//! periodic lines otherwise), and the Ctrl-C / SIGTERM handling that interrupts it.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sphereflow_exec::{run, Event, Report, RunOptions, Store};
use sphereflow_plan::Plan;

use crate::failure::Failure;

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

/// Counts shown by the progress display.
#[derive(Default)]
struct Counts {
    total: usize,
    queued: usize,
    cached: usize,
    done: usize,
    failed: usize,
    running: BTreeMap<String, (String, Option<ProgressBar>)>,
}

impl Counts {
    fn line(&self) -> String {
        format!(
            "{} done · {} cached · {} running · {} failed · {} to go",
            self.done,
            self.cached,
            self.running.len(),
            self.failed,
            self.queued
                .saturating_sub(self.done + self.failed + self.running.len())
        )
    }
}

/// Draws events: bars on a terminal, periodic lines otherwise.
struct Display {
    counts: Mutex<Counts>,
    bars: Option<(MultiProgress, ProgressBar)>,
    started: Instant,
    last_line: Mutex<Instant>,
    every: Duration,
}

impl Display {
    fn new(fancy: bool) -> Display {
        let bars = fancy.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(0));
            overall.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg} (ETA {eta})",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            (multi, overall)
        });
        Display {
            counts: Mutex::new(Counts::default()),
            bars,
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
            every: Duration::from_secs(10),
        }
    }

    fn task_bar(&self, label: &str) -> Option<ProgressBar> {
        let (multi, _) = self.bars.as_ref()?;
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix} {msg}").expect("template"),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(bar)
    }

    fn handle(&self, event: &Event) {
        let mut counts = self.counts.lock().expect("counts");
        match event {
            Event::Planned {
                tasks,
                cached,
                queued,
                ..
            } => {
                counts.total = *tasks;
                counts.cached = *cached;
                counts.queued = *queued;
                if let Some((_, overall)) = &self.bars {
                    overall.set_length(*queued as u64);
                }
            }
            Event::Started {
                id,
                label,
                resumed_from_step,
            } => {
                let label = match resumed_from_step {
                    Some(step) => format!("{} {label} (resumed at step {step})", &id[..8]),
                    None => format!("{} {label}", &id[..8]),
                };
                let bar = self.task_bar(&label);
                counts.running.insert(id.clone(), (label, bar));
            }
            Event::Progress {
                id,
                step,
                max_steps,
                t,
                n_clusters,
                max_drift,
            } => {
                if let Some((_, Some(bar))) = counts.running.get(id) {
                    bar.set_message(format!(
                        "step {step}/{max_steps}  t = {t:.1}  {n_clusters} clusters  drift {max_drift:.1e}"
                    ));
                }
            }
            Event::Finished { id, .. } | Event::Failed { id, .. } => {
                if let Some((label, bar)) = counts.running.remove(id) {
                    if let Some(bar) = bar {
                        bar.finish_and_clear();
                    }
                    if let Event::Failed { reason, .. } = event {
                        self.println(&format!("failed: {label}: {reason}"));
                    }
                }
                if matches!(event, Event::Finished { .. }) {
                    counts.done += 1;
                } else {
                    counts.failed += 1;
                }
                if let Some((_, overall)) = &self.bars {
                    overall.inc(1);
                }
            }
            Event::Checkpointed { .. } | Event::Queued { .. } | Event::CacheHit { .. } => {}
            Event::HeldElsewhere { id, holder } => {
                if self.bars.is_none() {
                    println!("{} is held by {holder}: waiting for it", &id[..8]);
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
        if let Some((_, overall)) = &self.bars {
            overall.set_message(counts.line());
        } else {
            let mut last = self.last_line.lock().expect("clock");
            let finished = matches!(event, Event::Finished { .. } | Event::Failed { .. });
            if last.elapsed() >= self.every
                || (finished && counts.done + counts.failed == counts.queued)
            {
                *last = Instant::now();
                println!(
                    "[{}] {}/{}: {}",
                    humantime_short(self.started.elapsed()),
                    counts.done + counts.failed,
                    counts.queued,
                    counts.line()
                );
            }
        }
    }

    fn println(&self, text: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => println!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some((_, overall)) = &self.bars {
            overall.finish_and_clear();
        }
    }
}

fn humantime_short(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Runs a plan, drawing its events (bars on a terminal unless `plain`); Ctrl-C and SIGTERM
/// interrupt it.
pub fn run_drawn(
    plan: &Plan,
    store: &Store,
    options: &RunOptions,
    plain: bool,
) -> Result<Report, Failure> {
    let display = Display::new(!plain && std::io::stderr().is_terminal());
    let report = run(
        plan,
        store,
        options,
        &|e| display.handle(e),
        interrupt_flag(),
    )
    .map_err(|e| Failure::Run(e.into()))?;
    display.finish();
    Ok(report)
}
