//! `sphereflow reproduce`: runs the paper's sweeps through the store, analyzes them, draws the
//! figures and writes a report of the claims (`report.md` and `report.html`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::anyhow;
use base64::Engine as _;
use sphereflow_analyze::{Analysis, AnalyzeOptions, Column, Law};
use sphereflow_exec::{RunOptions, Store};
use sphereflow_plan::Plan;
use sphereflow_solver::{Activation, Attention, Regime, StopReason};

use crate::args::DEFAULT_STORE;
use crate::figures::{self, Finished};
use crate::Failure;

/// The paper's sweeps, in the order they run.
pub const PAPER_SWEEPS: &[&str] = &[
    "s1_beta",
    "side_by_side",
    "perceptron_scale",
    "s2_beta",
    "many_seeds",
];

/// Where the paper's sweeps, the store and the outputs are unless told otherwise.
const DEFAULT_SWEEPS: &str = "sweeps/paper";
const DEFAULT_OUT: &str = "results/paper";

/// Arguments of `reproduce`.
#[derive(clap::Args)]
pub struct Args {
    /// `quick` (smaller runs, minutes) or `paper` (the authors' settings and the many-seed sweep).
    #[arg(long, default_value = "quick", value_parser = ["quick", "paper"])]
    profile: String,
    /// Where the sweeps are.
    #[arg(long, default_value = DEFAULT_SWEEPS)]
    sweeps: PathBuf,
    /// The store.
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Where tables, figures and the report go.
    #[arg(long, default_value = DEFAULT_OUT)]
    out: PathBuf,
    /// Tasks in parallel (default: the number of cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
}

/// One sweep's plan, analysis and finished runs.
struct Done {
    plan: Plan,
    analysis: Analysis,
    runs: Vec<Finished>,
}

/// A claim of the paper and what the runs show.
struct Claim {
    claim: String,
    measured: String,
    holds: &'static str,
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "no"
    }
}

/// The command that reruns `reproduce` as it was called: the profile, and the folders that are
/// not the defaults.
fn resume_command(args: &Args) -> String {
    let mut words = vec![
        "sphereflow reproduce --profile".to_string(),
        args.profile.clone(),
    ];
    for (flag, path, default) in [
        ("--sweeps", &args.sweeps, DEFAULT_SWEEPS),
        ("--store", &args.store, DEFAULT_STORE),
        ("--out", &args.out, DEFAULT_OUT),
    ] {
        if path != Path::new(default) {
            words.push(flag.to_string());
            words.push(sphereflow_exec::slurm::shell_quote(
                &path.display().to_string(),
            ));
        }
    }
    words.join(" ")
}

/// Runs `reproduce`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let started = Instant::now();
    let profile = (args.profile == "quick").then_some("quick");
    let mut plans = Vec::new();
    for name in PAPER_SWEEPS {
        let path = args.sweeps.join(format!("{name}.toml"));
        if !path.exists() {
            return Err(Failure::Input(anyhow!(
                "{}: the paper's sweep is missing",
                path.display()
            )));
        }
        plans.push(crate::plan::load(&path, false, profile)?);
    }
    let store = Store::open(&args.store).map_err(|e| Failure::Run(e.into()))?;
    let mut options = RunOptions::default();
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    let (mut computed, mut cached, mut failed) = (0, 0, 0);
    for plan in &plans {
        println!("{}: {} tasks", plan.sweep.name, plan.tasks.len());
        let report = crate::run::run_drawn(plan, &store, &options, false)?;
        computed += report.committed;
        cached += report.cached;
        failed += report.failed.len() + report.failed_before.len();
        if report.interrupted {
            eprintln!(
                "interrupted: committed results are kept; resume with `{}`",
                resume_command(args)
            );
            return Err(Failure::Interrupted);
        }
    }
    let analyze_options = AnalyzeOptions::default();
    let mut done: BTreeMap<String, Done> = BTreeMap::new();
    for plan in plans {
        let out = args.out.join(&plan.sweep.name);
        let analysis = crate::analyze::analyze_sweep(&plan, &args.store, &out, &analyze_options)?;
        let runs = figures::finished(&plan, Some(&store))?;
        done.insert(
            plan.sweep.name.clone(),
            Done {
                plan,
                analysis,
                runs,
            },
        );
    }
    let figure_dir = args.out.join("figures");
    let drawn = draw(&done, &figure_dir)?;
    let claims = claims(&done);
    let elapsed = started.elapsed().as_secs_f64();
    let report = markdown(
        args,
        &done,
        &claims,
        &drawn,
        (computed, cached, failed),
        elapsed,
    );
    std::fs::create_dir_all(&args.out).map_err(|e| Failure::Run(e.into()))?;
    write_atomic(&args.out.join("report.md"), report.as_bytes())?;
    write_atomic(
        &args.out.join("report.html"),
        html(&report, &args.out).as_bytes(),
    )?;
    println!(
        "{} tasks computed, {} cached, {} failed in {:.0} s; {} figures; report: {}",
        computed,
        cached,
        failed,
        elapsed,
        drawn.len(),
        args.out.join("report.md").display()
    );
    for claim in &claims {
        println!("  [{}] {}: {}", claim.holds, claim.claim, claim.measured);
    }
    if failed > 0 {
        return Err(Failure::Run(anyhow!(
            "{failed} task(s) failed; `sphereflow status` shows why"
        )));
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Failure::Run(e.into()))?;
    std::io::Write::write_all(&mut temp, bytes).map_err(|e| Failure::Run(e.into()))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Failure::Run(e.into()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Failure::Run(e.into()))?;
    }
    temp.persist(path)
        .map_err(|e| Failure::Run(e.error.into()))?;
    Ok(())
}

/// The run of a sweep closest to β with the given activation (and USA, descent).
fn pick(done: &Done, beta: f64, activation: Activation) -> Option<&Finished> {
    done.runs
        .iter()
        .filter(|r| r.params.perceptron.activation == activation)
        .min_by(|a, b| {
            (a.params.model.beta - beta)
                .abs()
                .total_cmp(&(b.params.model.beta - beta).abs())
        })
}

/// The runs closest to β with each activation, labelled `<activation> at β = <β>`.
fn runs_at<'a>(
    done: &'a Done,
    beta: f64,
    activations: &[Activation],
) -> Vec<(&'a Finished, String)> {
    activations
        .iter()
        .filter_map(|&a| pick(done, beta, a))
        .map(|r| {
            let label = format!(
                "{} at β = {}",
                name_of(r.params.perceptron.activation),
                r.params.model.beta
            );
            (r, label)
        })
        .collect()
}

/// Draws every figure; returns `(file name of the PNG, caption)`.
fn draw(done: &BTreeMap<String, Done>, out: &Path) -> Result<Vec<(PathBuf, String)>, Failure> {
    let mut drawn = Vec::new();
    let mut add = |path: Option<PathBuf>, caption: String| {
        if let Some(path) = path {
            drawn.push((path, caption));
        }
    };
    if let Some(s1) = done.get("s1_beta") {
        let runs: Vec<(&Finished, String)> = runs_at(
            s1,
            10.0,
            &[Activation::None, Activation::Relu, Activation::Gelu],
        );
        add(
            figures::final_states(
                "Figure 1. Final states on S^1: null run and perceptron runs",
                &runs,
                3,
                out,
                "fig1_s1_final",
            )?,
            "Final states on S^1 at β = 10: without the perceptron, with ReLU and with GeLU."
                .into(),
        );
        if let Some(relu) = pick(s1, 10.0, Activation::Relu) {
            add(
                figures::evolution(
                    relu,
                    &format!(
                        "Figure 1. Initial, middle and final state, ReLU, β = {}",
                        relu.params.model.beta
                    ),
                    out,
                    "fig1_s1_evolution",
                )?,
                "One ReLU run on S^1: initial, middle and final state.".into(),
            );
            add(
                figures::trajectories(
                    relu,
                    &format!(
                        "Figure 3. Trajectories θ_i(t) on S^1, ReLU, β = {}",
                        relu.params.model.beta
                    ),
                    out,
                    "fig3_trajectories",
                )?,
                "Angles of 80 particles against time over the potential v(θ).".into(),
            );
        }
        let energy_runs: Vec<(&Finished, String)> =
            [Activation::None, Activation::Relu, Activation::Gelu]
                .iter()
                .filter_map(|&a| pick(s1, 10.0, a))
                .map(|r| {
                    (
                        r,
                        format!(
                            "{}, β = {}",
                            name_of(r.params.perceptron.activation),
                            r.params.model.beta
                        ),
                    )
                })
                .collect();
        add(
            figures::energy(
                &energy_runs,
                "Figure 4. Energy against time on S^1 (descent: decreasing)",
                out,
                "fig4_energy",
            )?,
            "The energy E(t) of the null run and the perceptron runs.".into(),
        );
    }
    if let Some(side) = done.get("side_by_side") {
        let mut runs: Vec<&Finished> = side.runs.iter().collect();
        runs.sort_by_key(|r| {
            (
                r.params.perceptron.activation == Activation::None,
                r.params.model.attention.as_str(),
                r.params.model.regime.as_str(),
            )
        });
        let panels: Vec<(&Finished, String)> = runs
            .into_iter()
            .map(|r| {
                (
                    r,
                    format!(
                        "{} {} {}",
                        r.params.model.attention.as_str().to_uppercase(),
                        r.params.model.regime.as_str(),
                        name_of(r.params.perceptron.activation)
                    ),
                )
            })
            .collect();
        add(
            figures::final_states("Figure 1. USA/SA × ascent/descent at β = 1, with and without the perceptron", &panels, 4, out, "fig1_side_by_side")?,
            "The four combinations of attention and regime at β = 1 (top: ReLU perceptron; bottom: none).".into(),
        );
    }
    if let Some(s2) = done.get("s2_beta") {
        let runs: Vec<(&Finished, String)> =
            runs_at(s2, 10.0, &[Activation::None, Activation::Relu]);
        add(
            figures::final_states(
                "Figure 2. Final states on S^2",
                &runs,
                2,
                out,
                "fig2_s2_final",
            )?,
            "Final states on S^2 at β = 10 on an equal-area map, with the great circles a_j·x = 0."
                .into(),
        );
    }
    let seeds = done.get("many_seeds");
    if let Some(many) = seeds {
        let mut counts: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let mut by_group: BTreeMap<String, Vec<&Finished>> = BTreeMap::new();
        for r in &many.runs {
            let label = name_of(r.params.perceptron.activation).to_string();
            counts.entry(label.clone()).or_default().push((
                r.params.model.beta,
                r.result.summary.summary.n_clusters as f64,
            ));
            by_group.entry(label).or_default().push(r);
        }
        let chart = figures::against_sqrt_beta(
            &counts,
            "Figure 5. Cluster count against sqrt β over seeds",
            "clusters at the end",
            1.0,
        );
        add(Some(figures::write(&chart, out, "fig5_clusters")?), "Cluster count against sqrt β: mean ± sd over seeds, the fit a + b sqrt β over β ≥ 1 with its 95% bootstrap band.".into());
        let relu: Vec<&Finished> = many
            .runs
            .iter()
            .filter(|r| r.params.perceptron.activation == Activation::Relu)
            .collect();
        let chart = figures::masses(
            &relu,
            "Figure 6. Largest cluster and window mass (ReLU) against sqrt β",
        );
        add(Some(figures::write(&chart, out, "fig6_masses")?), "Largest cluster mass and largest window mass against sqrt β, with B(β) and its limit 0.5742.".into());
        let chart = figures::all_masses(
            &by_group,
            "Figure 7. Every final cluster mass against sqrt β",
        );
        add(
            Some(figures::write(&chart, out, "fig7_all_masses")?),
            "Every cluster mass of every run against sqrt β.".into(),
        );
    }
    let chart = figures::growth_rates(&[1.0, 3.0, 5.0, 10.0, 25.0, 50.0]);
    add(
        Some(figures::write(&chart, out, "fig8_growth_rates")?),
        "γ_k = k² I_k(β)/β against k; the large dot marks the most unstable mode k*.".into(),
    );
    if let Some(scale) = done.get("perceptron_scale") {
        let runs: Vec<&Finished> = scale.runs.iter().collect();
        let chart = figures::convergence(
            &runs,
            "Figure 9. Convergence time against the perceptron scale (β = 10, S^1)",
        );
        add(
            Some(figures::write(&chart, out, "fig9_convergence")?),
            "Time until the stopping rule holds, for USA and SA, against the perceptron's scale."
                .into(),
        );
    }
    Ok(drawn)
}

fn name_of(activation: Activation) -> &'static str {
    match activation {
        Activation::None => "null run",
        Activation::Relu => "ReLU",
        Activation::Gelu => "GeLU",
        Activation::Linear => "linear",
        Activation::Tanh => "tanh",
        Activation::LeakyRelu => "leaky ReLU",
    }
}

fn floats(table: &sphereflow_analyze::Table, name: &str) -> Vec<Option<f64>> {
    match table.column(name) {
        Some(Column::Float(v)) => v.clone(),
        _ => Vec::new(),
    }
}

fn bools(table: &sphereflow_analyze::Table, name: &str) -> Vec<Option<bool>> {
    match table.column(name) {
        Some(Column::Bool(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// The paper's claims against the measurements.
fn claims(done: &BTreeMap<String, Done>) -> Vec<Claim> {
    let mut claims = Vec::new();
    if let Some(many) = done.get("many_seeds") {
        for (quantity, claim, test) in [
            (
                "n_clusters",
                "The cluster count grows like sqrt β (ReLU, many seeds)",
                "0.5 is in the interval",
            ),
            (
                "n_heavy",
                "Heavy atoms (mass ≥ 0.05) number O(sqrt β)",
                "the interval reaches down to 0.5 or below",
            ),
        ] {
            let found = many.analysis.group_fits.iter().find(|f| {
                f.quantity == quantity && f.fit.law == Law::Power && f.group.contains("relu")
            });
            if let Some(f) = found {
                let holds = match (quantity, f.fit.interval) {
                    (_, None) => "—",
                    ("n_clusters", Some((lo, hi))) => verdict(lo <= 0.5 && 0.5 <= hi),
                    (_, Some((lo, _))) => verdict(lo <= 0.5),
                };
                claims.push(Claim {
                    claim: claim.into(),
                    measured: format!(
                        "exponent {:.3}, 95% interval {} ({} runs, β ∈ [{}, {}]; holds if {test})",
                        f.fit.exponent,
                        f.fit.interval_text(3),
                        f.fit.n_points,
                        f.fit.beta_min,
                        f.fit.beta_max
                    ),
                    holds,
                });
            }
        }
    }
    // The anti-concentration bound over every finished task where it applies.
    let (mut applicable, mut violations, mut largest, mut margin) = (0, 0, 0.0f64, f64::INFINITY);
    let (mut corollary_ok, mut corollary_total) = (0, 0);
    for sweep in done.values() {
        let bounds = &sweep.analysis.bounds;
        let windows = floats(bounds, "window_mass");
        let margins = floats(bounds, "margin");
        let applies = bools(bounds, "applicable");
        let corollary = bools(bounds, "corollary_holds");
        for i in 0..bounds.rows() {
            if applies[i] == Some(true) {
                applicable += 1;
                largest = largest.max(windows[i].unwrap_or(0.0));
                let m = margins[i].unwrap_or(f64::NAN);
                margin = margin.min(m);
                if m < 0.0 {
                    violations += 1;
                }
                corollary_total += 1;
                if corollary[i] == Some(true) {
                    corollary_ok += 1;
                }
            }
        }
    }
    claims.push(Claim {
        claim: "No arc of length 1/(2 sqrt β) holds more than B(β) → 0.5742 of the mass (d = 2, descent, 1-Lipschitz σ, stationary)".into(),
        measured: if applicable > 0 {
            format!("largest window mass {largest:.4} over {applicable} runs where the theorem applies; smallest margin B(β) − mass = {margin:.4}; {violations} violations")
        } else {
            "no finished run satisfies the hypotheses".into()
        },
        holds: if applicable == 0 { "untested" } else { verdict(violations == 0) },
    });
    if corollary_total > 0 {
        claims.push(Claim {
            claim: "Heavy atoms stay below the corollary's bound (M/ε)(1 + 2L sqrt β) B(β)".into(),
            measured: format!("{corollary_ok} of {corollary_total} runs"),
            holds: verdict(corollary_ok == corollary_total),
        });
    }
    // Atomic stationary states: the perceptron descent runs converge to a few clusters.
    let perceptron_runs: Vec<&Finished> = ["s1_beta", "s2_beta"]
        .iter()
        .filter_map(|n| done.get(*n))
        .flat_map(|d| d.runs.iter())
        .filter(|r| {
            r.params.perceptron.activation != Activation::None
                && r.params.model.regime == Regime::Descent
        })
        .collect();
    if !perceptron_runs.is_empty() {
        let converged = perceptron_runs
            .iter()
            .filter(|r| r.result.summary.summary.stop_reason == StopReason::Converged)
            .count();
        let clusters: Vec<usize> = perceptron_runs
            .iter()
            .map(|r| r.result.summary.summary.n_clusters)
            .collect();
        let particles = perceptron_runs
            .iter()
            .map(|r| r.params.model.particles)
            .max()
            .unwrap_or(0);
        claims.push(Claim {
            claim: "With the perceptron, descent ends in an atomic state (finitely many clusters, stationary)".into(),
            measured: format!(
                "{converged} of {} runs met the stopping rule (drift ≤ tol, stable count); {}–{} clusters from up to {particles} particles",
                perceptron_runs.len(),
                clusters.iter().min().unwrap_or(&0),
                clusters.iter().max().unwrap_or(&0)
            ),
            holds: verdict(converged * 10 >= perceptron_runs.len() * 9),
        });
    }
    if let Some(side) = done.get("side_by_side") {
        let ascent: Vec<&Finished> = side
            .runs
            .iter()
            .filter(|r| {
                r.params.model.regime == Regime::Ascent
                    && r.params.perceptron.activation != Activation::None
            })
            .collect();
        if !ascent.is_empty() {
            let single = ascent
                .iter()
                .filter(|r| r.result.summary.summary.n_clusters == 1)
                .count();
            // Where the Dirac sits: a local maximiser of v has no point nearby with a larger v.
            let at_maximum = ascent
                .iter()
                .filter(|r| {
                    let Some(cluster) = r.result.summary.clusters.first() else {
                        return false;
                    };
                    let theta = cluster.centre[1].atan2(cluster.centre[0]);
                    let v = |t: f64| r.perceptron.potential(&[t.cos(), t.sin()]);
                    let tolerance = 1e-9 * (1.0 + v(theta).abs());
                    (1..=20).all(|k| {
                        let h = 0.005 * k as f64;
                        v(theta + h) <= v(theta) + tolerance && v(theta - h) <= v(theta) + tolerance
                    })
                })
                .count();
            claims.push(Claim {
                claim: "Ascent ends in a single Dirac at a maximiser of v (β = 1, USA and SA, ReLU)".into(),
                measured: format!(
                    "{single} of {} ascent runs end in one cluster, {at_maximum} of them at a local maximiser of v (no larger v within 0.1 rad)",
                    ascent.len()
                ),
                holds: verdict(single == ascent.len() && at_maximum == ascent.len()),
            });
        }
    }
    if let Some(s1) = done.get("s1_beta") {
        let nulls: Vec<&Finished> = s1
            .runs
            .iter()
            .filter(|r| {
                r.params.perceptron.activation == Activation::None && r.params.model.beta >= 1.0
            })
            .collect();
        if !nulls.is_empty() {
            let within = nulls
                .iter()
                .filter(|r| {
                    let k = sphereflow_analyze::theory::unstable_mode(r.params.model.beta) as i64;
                    (r.result.summary.summary.n_clusters as i64 - k).abs() <= 1
                })
                .count();
            claims.push(Claim {
                claim: "Null runs: the metastable cluster count follows k*(β) = argmax k² I_k(β)/β".into(),
                measured: format!("within ±1 of k* in {within} of {} null runs with β ≥ 1 (count at the stopping time)", nulls.len()),
                holds: verdict(within * 2 >= nulls.len()),
            });
        }
    }
    if let Some(scale) = done.get("perceptron_scale") {
        let time = |attention: Attention| {
            let times: Vec<f64> = scale
                .runs
                .iter()
                .filter(|r| {
                    r.params.model.attention == attention && r.params.perceptron.scale > 0.0
                })
                .map(|r| r.result.summary.summary.t_final)
                .collect();
            (
                times.iter().sum::<f64>() / times.len().max(1) as f64,
                times.len(),
            )
        };
        let ((usa, n_usa), (sa, n_sa)) = (time(Attention::Usa), time(Attention::Sa));
        claims.push(Claim {
            claim: "Convergence time depends on the perceptron scale differently for USA and SA".into(),
            measured: format!("mean t_final over scales > 0: USA {usa:.1} ({n_usa} runs), SA {sa:.1} ({n_sa} runs); see figure 9"),
            holds: "—",
        });
    }
    claims
}

fn markdown(
    args: &Args,
    done: &BTreeMap<String, Done>,
    claims: &[Claim],
    drawn: &[(PathBuf, String)],
    (computed, cached, failed): (usize, usize, usize),
    elapsed: f64,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# sphereflow: the paper's claims, reproduced ({} profile)\n",
        args.profile
    );
    let _ = writeln!(
        md,
        "sphereflow {} (solver revision {}{}), {} threads on {}; {} tasks computed, {} from the store, {} failed; {:.0} s.\n",
        env!("CARGO_PKG_VERSION"),
        sphereflow_solver::SOLVER_REV,
        option_env!("SPHEREFLOW_GIT_COMMIT").map(|c| format!(", commit {}", &c[..c.len().min(12)])).unwrap_or_default(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        sphereflow_exec::provenance::host_name(),
        computed,
        cached,
        failed,
        elapsed
    );
    if args.profile == "quick" {
        md.push_str(
            "The quick profile runs fewer particles, a lower step cap and fewer seeds than the paper \
             (each sweep's `[profile.quick]`); `sphereflow reproduce --profile paper` runs the authors' settings.\n\n",
        );
    }
    md.push_str("## Claims\n\n| claim | measured | holds |\n|---|---|---|\n");
    for claim in claims {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            claim.claim, claim.measured, claim.holds
        );
    }
    md.push_str("\n## Fits (power law C β^α and a + b sqrt β, β ≥ 1, 95% bootstrap intervals over seeds)\n\n");
    md.push_str("| sweep | group | quantity | law | exponent | interval | prefactor | r² | runs |\n|---|---|---|---|---|---|---|---|---|\n");
    for (name, sweep) in done {
        for f in &sweep.analysis.group_fits {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {:.3} | {} | {:.3} | {:.3} | {} |",
                f.group,
                f.quantity,
                f.fit.law.as_str(),
                f.fit.exponent,
                f.fit.interval_text(3),
                f.fit.prefactor,
                f.fit.r2,
                f.fit.n_points
            );
        }
    }
    md.push_str("\n## Figures\n\n");
    for (path, caption) in drawn {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            md,
            "![{caption}](figures/{file})\n\n{caption} (`figures/{file}`, and `.svg`)\n"
        );
    }
    md.push_str("## Sweeps\n\n| sweep | tasks | ok | failed | pending | tables |\n|---|---|---|---|---|---|\n");
    for (name, sweep) in done {
        let c = &sweep.analysis.counts;
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | `{name}/*.parquet` |",
            sweep.plan.tasks.len(),
            c["ok"],
            c["failed"],
            c["pending"]
        );
    }
    md
}

/// A self-contained HTML page of the report: the figures inline as base64 PNG.
fn html(markdown: &str, out: &Path) -> String {
    let mut body = String::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        if let Some(rest) = line.strip_prefix("# ") {
            let _ = writeln!(body, "<h1>{rest}</h1>");
        } else if let Some(rest) = line.strip_prefix("## ") {
            let _ = writeln!(body, "<h2>{rest}</h2>");
        } else if line.starts_with("|---") {
            continue;
        } else if line.starts_with('|') {
            if !in_table {
                body.push_str("<table>\n");
                in_table = true;
            }
            let cells: Vec<&str> = escaped
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let _ = writeln!(
                body,
                "<tr>{}</tr>",
                cells
                    .iter()
                    .map(|c| format!("<td>{c}</td>"))
                    .collect::<String>()
            );
            continue;
        } else if let Some(rest) = line.strip_prefix("![") {
            let (caption, target) = rest.split_once("](").unwrap_or((rest, ""));
            let target = target.trim_end_matches(')');
            let bytes = std::fs::read(out.join(target)).unwrap_or_default();
            let _ = writeln!(
                body,
                "<figure><img alt=\"{caption}\" src=\"data:image/png;base64,{}\"><figcaption>{caption}</figcaption></figure>",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
        } else if !line.is_empty() {
            if in_table {
                body.push_str("</table>\n");
                in_table = false;
            }
            let _ = writeln!(body, "<p>{escaped}</p>");
        }
        if line.is_empty() && in_table {
            body.push_str("</table>\n");
            in_table = false;
        }
    }
    if in_table {
        body.push_str("</table>\n");
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sphereflow report</title>\n<style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}}\
         table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:4px 8px}}\
         tr:first-child td{{font-weight:bold;background:#f4f4f4}}img{{max-width:100%}}\
         figure{{margin:1.5em 0}}</style></head><body>\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: Args,
    }

    fn resume(line: &[&str]) -> String {
        let all = std::iter::once("reproduce").chain(line.iter().copied());
        resume_command(&Command::parse_from(all).args)
    }

    #[test]
    fn the_resume_hint_repeats_the_profile_and_the_folders_that_are_not_defaults() {
        assert_eq!(resume(&[]), "sphereflow reproduce --profile quick");
        assert_eq!(
            resume(&["--profile", "paper", "-j", "2", "--store", "/data/my store"]),
            "sphereflow reproduce --profile paper --store '/data/my store'"
        );
        assert_eq!(
            resume(&[
                "--out",
                "out",
                "--sweeps",
                "sweeps/paper",
                "--profile",
                "paper"
            ]),
            "sphereflow reproduce --profile paper --out out"
        );
    }
}
