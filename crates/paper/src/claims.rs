//! The paper's claims against the runs: each a typed function of the sweeps' analyses (their
//! fits and theorem rows) and finished runs, with the measured value and a verdict.
//!
//! Long file: one function per claim of the paper, each with its hypotheses and reasons spelled
//! out beside the shared counting helpers (`by_reason`, task references) they all use.

use std::collections::{BTreeMap, BTreeSet};

use sphereflow_analyze::{theory, BoundRow, Law};
use sphereflow_plan::Typed;
use sphereflow_solver::{Activation, Attention, EscapeFrom, Regime};

use crate::limit;
use crate::runs::{Results, Run, SweepResults};

/// What the runs say about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every task that meets the claim's hypotheses agrees with it.
    Holds,
    /// A task that meets every hypothesis disagrees with it (named in [`Claim::failing`]).
    Fails,
    /// No finished task meets the claim's hypotheses.
    NotTested,
    /// A measurement without a test (a description, or a fit without an interval).
    NoVerdict,
}

impl Verdict {
    /// `Holds` if `ok`, else `Fails`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Holds
        } else {
            Verdict::Fails
        }
    }

    /// How the report writes it: `holds`, `fails`, `not tested`, `—`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::NotTested => "not tested",
            Verdict::NoVerdict => "—",
        }
    }
}

/// A task behind a verdict: where to find it and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    /// The sweep it was run in.
    pub sweep: String,
    /// Its id (hex).
    pub task_id: String,
    /// Its axis values.
    pub label: String,
}

/// A claim of the paper and what the runs show.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The claim, in words.
    pub claim: String,
    /// The hypotheses a task must meet to be tested (MODEL.md §7).
    pub hypotheses: String,
    /// Distinct tasks tested.
    pub tested: usize,
    /// Tasks not tested, by reason (the first hypothesis each misses), most frequent first.
    pub not_tested: Vec<(String, usize)>,
    /// What was measured on the tested tasks.
    pub measured: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The tested tasks that disagree with the claim.
    pub failing: Vec<TaskRef>,
    /// Every task behind the measurement (the tested ones; for a description, those described).
    pub tasks: Vec<TaskRef>,
}

/// The sweep a run was found in (the first, for a task shared between sweeps).
fn sweep_of(results: &Results, run: &Run) -> String {
    results
        .iter()
        .find(|(_, sweep)| sweep.runs.iter().any(|r| r.task_id == run.task_id))
        .map_or_else(String::new, |(name, _)| name.clone())
}

/// References to `runs` of `sweep`.
fn task_refs<'a>(sweep: &str, runs: impl IntoIterator<Item = &'a Run>) -> Vec<TaskRef> {
    runs.into_iter()
        .map(|r| TaskRef {
            sweep: sweep.to_string(),
            task_id: r.task_id.clone(),
            label: r.label.clone(),
        })
        .collect()
}

/// Counts of reasons, most frequent first (ties by name).
fn by_reason<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in reasons {
        *counts.entry(reason).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().map(|(r, n)| (r.into(), n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Every claim the finished runs of the paper's sweeps test, in the report's order.
pub fn claims(results: &Results) -> Vec<Claim> {
    let mut claims = Vec::new();
    claims.extend(sqrt_beta_laws(results));
    claims.extend(anti_concentration(results));
    claims.extend(atomic_states(results));
    claims.extend(ascent_dirac(results));
    claims.extend(null_runs_follow_k_star(results));
    claims.extend(null_runs_spread(results));
    claims.extend(convergence_times(results));
    claims.extend(mean_field_limit(results));
    claims.extend(mean_field_growth());
    claims
}

/// The cluster count and the heavy atoms against β: the power-law fit of the ReLU runs of the
/// many-seed sweep. An observation of the paper (strong perceptron, the authors' convention),
/// not a theorem.
fn sqrt_beta_laws(results: &Results) -> Vec<Claim> {
    let Some(many) = results.get("many_seeds") else {
        return Vec::new();
    };
    let relu = Typed::Text(Activation::Relu.as_str().into());
    let relu_runs = many
        .runs
        .iter()
        .filter(|r| r.activation() == Activation::Relu)
        .count();
    // Runs stopped at the step cap are not converged: counted apart, never fitted.
    let capped = many
        .runs
        .iter()
        .filter(|r| {
            r.activation() == Activation::Relu && r.result.summary.summary.stop_reason.hit_cap()
        })
        .count();
    let mut claims = Vec::new();
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
            f.quantity == quantity
                && f.fit.law == Law::Power
                && f.has("perceptron.activation", &relu)
        });
        let Some(f) = found else {
            // No fit: every ReLU run at β ≥ 1 stopped at the cap (or none ran there).
            if relu_runs > 0 {
                let mut not_tested = vec![("not converged (step cap)".into(), capped)];
                if relu_runs > capped {
                    not_tested.push(("β below the fit's range".into(), relu_runs - capped));
                }
                not_tested.retain(|(_, count)| *count > 0);
                claims.push(Claim {
                    claim: claim.into(),
                    hypotheses: SQRT_HYPOTHESES.into(),
                    tested: 0,
                    not_tested,
                    measured: "no converged run to fit".into(),
                    verdict: Verdict::NotTested,
                    failing: Vec::new(),
                    tasks: Vec::new(),
                });
            }
            continue;
        };
        let passes = |interval: Option<(f64, f64)>| match (quantity, interval) {
            (_, None) => None,
            ("n_clusters", Some((lo, hi))) => Some(lo <= 0.5 && 0.5 <= hi),
            (_, Some((lo, _))) => Some(lo <= 0.5),
        };
        // Draw by draw: the law is about one network's perceptron; pooling draws mixes runs
        // that cluster very differently.
        let draws: Vec<_> = many
            .analysis
            .draw_fits
            .iter()
            .filter(|d| d.quantity == quantity && d.has("perceptron.activation", &relu))
            .collect();
        let judged: Vec<bool> = draws
            .iter()
            .filter_map(|d| passes(d.fit.interval))
            .collect();
        let verdict = if judged.is_empty() {
            passes(f.fit.interval).map_or(Verdict::NoVerdict, Verdict::of)
        } else {
            Verdict::of(judged.iter().all(|ok| *ok))
        };
        let per_draw = if draws.is_empty() {
            String::new()
        } else {
            let exponents: Vec<String> = draws
                .iter()
                .map(|d| {
                    let seed = draw_seed(d);
                    let shares = seed
                        .and_then(|seed| {
                            many.runs.iter().find(|r| {
                                r.activation() == Activation::Relu
                                    && r.params.perceptron.seed as i64 == seed
                            })
                        })
                        .and_then(|r| circle_shares(&r.perceptron));
                    let dead_zone = if quantity == "n_clusters" {
                        seed.map_or(String::new(), |seed| dead_zone_text(many, d, seed))
                    } else {
                        String::new()
                    };
                    let notes: Vec<String> = shares
                        .map(|(active, wells)| {
                            format!(
                                "active on {:.0}% of the circle, v < 0 on {:.0}%",
                                100.0 * active,
                                100.0 * wells
                            )
                        })
                        .into_iter()
                        .chain((!dead_zone.is_empty()).then_some(dead_zone))
                        .collect();
                    format!(
                        "seed {}: {:.2} {} over β {}–{}{}",
                        seed.map_or("?".into(), |s| s.to_string()),
                        d.fit.exponent,
                        d.fit.interval_text(2),
                        d.fit.beta_min,
                        d.fit.beta_max,
                        if notes.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", notes.join("; "))
                        }
                    )
                })
                .collect();
            format!(
                "per draw: {} of {} perceptron draws pass ({}); ",
                judged.iter().filter(|ok| **ok).count(),
                draws.len(),
                exponents.join("; ")
            )
        };
        // Each untested run by the first hypothesis it misses: β ≥ 1 (the fit's range) before
        // convergence, so a capped run below the range counts as below it.
        let relu: Vec<&Run> = many
            .runs
            .iter()
            .filter(|r| r.activation() == Activation::Relu)
            .collect();
        let below = relu.iter().filter(|r| r.beta() < f.fit.beta_min).count();
        let capped_in_range = relu
            .iter()
            .filter(|r| {
                r.beta() >= f.fit.beta_min && r.result.summary.summary.stop_reason.hit_cap()
            })
            .count();
        let mut not_tested = Vec::new();
        if below > 0 {
            not_tested.push(("β below the fit's range".into(), below));
        }
        if capped_in_range > 0 {
            not_tested.push(("not converged (step cap)".into(), capped_in_range));
        }
        claims.push(Claim {
            claim: claim.into(),
            hypotheses: SQRT_HYPOTHESES.into(),
            tested: f.fit.n_points,
            not_tested,
            measured: format!(
                "{per_draw}pooled: exponent {:.3}, 95% interval {} (β ∈ [{}, {}]); holds if {test}",
                f.fit.exponent,
                f.fit.interval_text(3),
                f.fit.beta_min,
                f.fit.beta_max
            ),
            verdict,
            failing: draw_failures(many, &draws, passes),
            tasks: task_refs(
                "many_seeds",
                many.runs.iter().filter(|r| {
                    r.activation() == Activation::Relu
                        && !r.result.summary.summary.stop_reason.hit_cap()
                        && (f.fit.beta_min..=f.fit.beta_max).contains(&r.beta())
                }),
            ),
        });
    }
    claims
}

const SQRT_HYPOTHESES: &str = "an observation, not a theorem: ReLU, β ≥ 1, converged runs, each \
                               perceptron draw fitted over its initial seeds";

/// The perceptron seed of a draw's fit.
fn draw_seed(draw: &sphereflow_analyze::GroupFit) -> Option<i64> {
    draw.values.iter().find_map(|(path, value)| match value {
        Typed::Int(seed) if *path == "perceptron.seed" => Some(*seed),
        _ => None,
    })
}

/// The ReLU runs of one perceptron draw at one β that were not stopped at a cap.
fn converged_draw_runs(
    many: &SweepResults,
    seed: i64,
    beta: f64,
) -> impl Iterator<Item = &crate::runs::Run> {
    many.runs.iter().filter(move |r| {
        r.activation() == Activation::Relu
            && r.params.perceptron.seed as i64 == seed
            && r.beta() == beta
            && !r.result.summary.summary.stop_reason.hit_cap()
    })
}

/// Where a draw's clusters lie: at the largest β of its cluster-count fit, how many of the
/// converged runs' clusters (mean over runs) sit where no neuron acts, and the exponent of the
/// clusters where the perceptron acts. Where it does not act only attention moves particles, and
/// in descent they spread as in a null run, so their count at radius `r = c/sqrt β` grows like
/// sqrt β whatever the perceptron (MODEL.md §7).
fn dead_zone_text(many: &SweepResults, draw: &sphereflow_analyze::GroupFit, seed: i64) -> String {
    let runs: Vec<_> = converged_draw_runs(many, seed, draw.fit.beta_max).collect();
    if runs.is_empty() {
        return String::new();
    }
    let (mut all, mut off) = (0usize, 0usize);
    for run in &runs {
        for cluster in &run.result.summary.clusters {
            all += 1;
            off += usize::from(!run.perceptron.acts_at(&cluster.centre));
        }
    }
    let mean = |count: usize| count as f64 / runs.len() as f64;
    let active_fit = many.analysis.draw_fits.iter().find(|f| {
        f.quantity == "n_active_clusters" && f.group == draw.group && draw_seed(f) == Some(seed)
    });
    format!(
        "at β = {}, {:.1} of {:.1} clusters lie where no neuron acts{}",
        draw.fit.beta_max,
        mean(off),
        mean(all),
        active_fit.map_or(String::new(), |f| format!(
            "; the clusters where one acts: exponent {:.2} {}",
            f.fit.exponent,
            f.fit.interval_text(2)
        ))
    )
}

/// The tasks behind a failing draw-by-draw fit: for each draw whose interval fails the test,
/// its converged runs at the largest β of its fit (where the law and the draw differ most).
fn draw_failures(
    many: &SweepResults,
    draws: &[&sphereflow_analyze::GroupFit],
    passes: impl Fn(Option<(f64, f64)>) -> Option<bool>,
) -> Vec<TaskRef> {
    let mut failing = Vec::new();
    for draw in draws {
        if passes(draw.fit.interval) != Some(false) {
            continue;
        }
        let Some(seed) = draw_seed(draw) else {
            continue;
        };
        failing.extend(
            converged_draw_runs(many, seed, draw.fit.beta_max).map(|r| TaskRef {
                sweep: "many_seeds".into(),
                task_id: r.task_id.clone(),
                label: r.label.clone(),
            }),
        );
    }
    failing
}

/// Every theorem row of the sweeps, each task once (tasks shared between sweeps are one task).
fn bound_rows(results: &Results) -> Vec<(&str, &BoundRow, String)> {
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for (name, sweep) in results {
        let labels: BTreeMap<String, &str> = sweep
            .runs
            .iter()
            .map(|r| (r.task_id.clone(), r.label.as_str()))
            .collect();
        for row in &sweep.analysis.bound_rows {
            if seen.insert(row.task_id.clone()) {
                let label = labels.get(&row.task_id).copied().unwrap_or("").to_string();
                rows.push((name.as_str(), row, label));
            }
        }
    }
    rows
}

/// Where the certified states of `tasks` come from: the end state polished as it was, after
/// escapes from saddles, or after a descent from a polish that stalled (MODEL.md §9), with the
/// largest Hausdorff distance between a certified state and its run's end state.
fn certified_provenance<'a>(results: &Results, tasks: impl Iterator<Item = &'a str>) -> String {
    let certificates: BTreeMap<&str, &sphereflow_solver::Certificate> = results
        .values()
        .flat_map(|s| s.runs.iter())
        .filter_map(|r| Some((r.task_id.as_str(), r.result.summary.certificate.as_ref()?)))
        .collect();
    let (mut polished, mut saddles, mut stalled) = (0, 0, 0);
    let mut farthest: Option<f64> = None;
    for certificate in tasks.filter_map(|t| certificates.get(t)) {
        if certificate
            .escapes
            .iter()
            .any(|e| e.from == EscapeFrom::Stalled)
        {
            stalled += 1;
        } else if certificate.escapes.is_empty() {
            polished += 1;
        } else {
            saddles += 1;
        }
        if let Some(d) = certificate.distance_given {
            farthest = Some(farthest.map_or(d, |f| f.max(d)));
        }
    }
    let mut text = format!(
        "of the certified states, {polished} {} the end state polished, {saddles} {} reached by \
         escapes from saddles only, {stalled} {} reached by a descent where the polish stalled \
         (with or without escapes from saddles)",
        if polished == 1 { "is" } else { "are" },
        if saddles == 1 { "was" } else { "were" },
        if stalled == 1 { "was" } else { "were" },
    );
    if let Some(d) = farthest {
        text += &format!(
            "; the Hausdorff distance from a certified state to its run's end state is at \
             most {d:.3} rad"
        );
    }
    text
}

const BOUND_HYPOTHESES: &str = "d = 2, USA, descent, m = 2 neurons, σ 1-Lipschitz with σ(0) = 0, \
    β ≥ 19, B(β, C_eff) < 1 (C_eff = e^β C for the shifted kernel), a certified SOPD state";

/// The anti-concentration bound and its corollary, on the tasks that meet every hypothesis.
fn anti_concentration(results: &Results) -> Vec<Claim> {
    let rows = bound_rows(results);
    let tested: Vec<_> = rows.iter().filter(|(_, r, _)| r.applicable()).collect();
    let not_tested = by_reason(rows.iter().filter_map(|(_, r, _)| r.not_applicable));
    let task = |(sweep, row, label): &&(&str, &BoundRow, String)| TaskRef {
        sweep: sweep.to_string(),
        task_id: row.task_id.clone(),
        label: label.clone(),
    };
    let violations: Vec<TaskRef> = tested
        .iter()
        .filter(|(_, r, _)| r.margin < 0.0)
        .map(task)
        .collect();
    let largest = tested
        .iter()
        .map(|(_, r, _)| r.window_mass)
        .fold(0.0f64, f64::max);
    let heaviest = tested
        .iter()
        .map(|(_, r, _)| r.max_cluster_mass)
        .fold(0.0f64, f64::max);
    let margin = tested
        .iter()
        .map(|(_, r, _)| r.margin)
        .fold(f64::INFINITY, f64::min);
    let (b_lo, b_hi) = tested
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), (_, r, _)| {
            (lo.min(r.bound), hi.max(r.bound))
        });
    let provenance =
        certified_provenance(results, tested.iter().map(|(_, r, _)| r.task_id.as_str()));
    let verdict = |ok: bool| {
        if tested.is_empty() {
            Verdict::NotTested
        } else {
            Verdict::of(ok)
        }
    };
    let mut claims = vec![Claim {
        claim: "No set of two or more atoms within 1/(2 sqrt β) of each other holds more than \
                B(β, C_eff) of the mass (B → 0.5742 as β grows, paper kernel)"
            .into(),
        hypotheses: BOUND_HYPOTHESES.into(),
        tested: tested.len(),
        not_tested: not_tested.clone(),
        measured: if tested.is_empty() {
            "no finished task meets every hypothesis".into()
        } else {
            format!(
                "largest mass of two or more certified atoms within 1/(2 sqrt β) {largest:.4} \
                 against B(β, C_eff) ∈ [{b_lo:.4}, {b_hi:.4}]; smallest margin {margin:.4}; {} \
                 violations; heaviest single certified atom {heaviest:.4}; {provenance}",
                violations.len()
            )
        },
        verdict: verdict(violations.is_empty()),
        failing: violations,
        tasks: tested.iter().map(task).collect(),
    }];
    // The corollary bounds the atoms of mass ≥ ε of a support covered by M arcs of length ≤ L
    // by (M/ε)(1 + 2L sqrt β) B. An atomic state of k atoms is covered by its k atoms (L = 0),
    // which gives k B/ε, at least k (hence at least its heavy atoms) whenever ε ≤ B: no atomic
    // state can exceed it, so it is measured, not judged.
    let heavy_max = tested.iter().map(|(_, r, _)| r.n_heavy).max().unwrap_or(0);
    let epsilon = results
        .values()
        .flat_map(|s| s.runs.iter())
        .find(|r| tested.iter().any(|(_, row, _)| row.task_id == r.task_id))
        .map(|r| r.params.measure.heavy_mass);
    let vacuous = epsilon.is_some_and(|e| e <= b_lo);
    claims.push(Claim {
        claim: "Heavy atoms stay below the corollary's bound (M/ε)(1 + 2L sqrt β) B(β)".into(),
        hypotheses: BOUND_HYPOTHESES.into(),
        tested: tested.len(),
        not_tested,
        measured: match epsilon {
            None => "no finished task meets every hypothesis".into(),
            Some(e) if vacuous => format!(
                "atoms of mass ≥ ε = {e}: up to {heavy_max} per task. Not a test: covering each of a \
                 state's k atoms by an arc of length 0 gives the bound k B/ε ≥ k (ε ≤ B = {b_lo:.4}), \
                 so no atomic state can exceed it; the window bound above is the test"
            ),
            Some(e) => format!(
                "atoms of mass ≥ ε = {e}: up to {heavy_max} per task, against the bound with the \
                 support covered by one arc of length 2π"
            ),
        },
        verdict: if tested.is_empty() {
            Verdict::NotTested
        } else if vacuous {
            Verdict::NoVerdict
        } else {
            verdict(tested.iter().all(|(_, r, _)| r.corollary_holds))
        },
        failing: if vacuous {
            Vec::new()
        } else {
            tested
                .iter()
                .filter(|(_, r, _)| !r.corollary_holds)
                .map(task)
                .collect()
        },
        tasks: tested.iter().map(task).collect(),
    });
    claims
}

/// The shape of a perceptron descent run's end state, for the atomic-state row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndState {
    /// Stopped at the step cap: not stationary.
    Capped,
    /// Certified, and the certificate says it is not stationary.
    NotStationary,
    /// Certified `unresolved`: the perceptron is below the rounding of attention.
    Unresolved,
    /// Every cluster collapsed (spread within `SETTLED_SPREAD` of the counting radius) and no
    /// lone particle where no neuron acts: a few point masses.
    Collapsed,
    /// A cluster wider than `SETTLED_SPREAD` of the radius: sub-clusters still merging, a
    /// cluster still contracting, or particles tiling an arc (the counting arcs of a spread
    /// region each span about the radius).
    Extended,
    /// Lone particles where no neuron acts (ReLU, every neuron off): only attention moves
    /// particles there, and in descent it repels them; each is a "collapsed" cluster of one.
    /// (Clusters of many particles there are judged by their spread like any other.)
    DeadZone,
}

/// The end state of a run that stopped for `stationary_stop` (the stopping rule or settled),
/// with its largest cluster spread, counting radius, lone particles where no neuron acts
/// (`dead_clusters`) and certificate class (if certified).
fn end_state(
    stationary_stop: bool,
    max_spread: f64,
    radius: f64,
    dead_clusters: usize,
    certificate: Option<sphereflow_solver::Classification>,
) -> EndState {
    use sphereflow_solver::Classification;
    match certificate {
        Some(Classification::NotStationary) => EndState::NotStationary,
        Some(Classification::Unresolved) => EndState::Unresolved,
        _ if !stationary_stop => EndState::Capped,
        _ if dead_clusters > 0 => EndState::DeadZone,
        _ if max_spread <= sphereflow_solver::SETTLED_SPREAD * radius => EndState::Collapsed,
        _ => EndState::Extended,
    }
}

/// Atomic stationary states, described: the shapes of the end states of the β sweeps'
/// perceptron descent runs that met the stopping rule (or settled and certified). No verdict:
/// at finite n every stationary state is atomic (its n particles are the atoms), so no run can
/// contradict the theorem, which is about measures; and judging only the runs that collapsed
/// would choose the tested runs by the conclusion. (The stopping rule's radius is the one the
/// clusters are counted with, so every converged state is "within the radius", spread arcs
/// included.)
fn atomic_states(results: &Results) -> Option<Claim> {
    let runs: Vec<&Run> = ["s1_beta", "s2_beta"]
        .iter()
        .filter_map(|name| results.get(*name))
        .flat_map(|sweep| sweep.runs.iter())
        .filter(|r| r.activation() != Activation::None && r.params.model.regime == Regime::Descent)
        .collect();
    if runs.is_empty() {
        return None;
    }
    // Each run with its end state's shape, computed once.
    let states: Vec<(&Run, EndState)> = runs
        .iter()
        .map(|&run| {
            let summary = &run.result.summary.summary;
            let dead = run
                .result
                .summary
                .clusters
                .iter()
                .filter(|c| c.size == 1 && !run.perceptron.acts_at(&c.centre))
                .count();
            let certificate = run.result.summary.certificate.as_ref();
            let state = end_state(
                summary.stop_reason.is_stationary(),
                summary.max_spread,
                run.params.cluster_radius(),
                dead,
                certificate.map(|c| c.classification),
            );
            (run, state)
        })
        .collect();
    let of = |kind: EndState| -> Vec<&Run> {
        states
            .iter()
            .filter(|(_, s)| *s == kind)
            .map(|(r, _)| *r)
            .collect()
    };
    let (collapsed, extended, dead_zone) = (
        of(EndState::Collapsed),
        of(EndState::Extended),
        of(EndState::DeadZone),
    );
    let tested = collapsed.len() + extended.len() + dead_zone.len();
    let not_tested = [
        (EndState::Capped, "not converged (step cap)"),
        (EndState::NotStationary, "certified not stationary"),
        (
            EndState::Unresolved,
            "unresolved (the perceptron is below the rounding of attention)",
        ),
    ]
    .into_iter()
    .map(|(kind, reason)| (reason.to_string(), of(kind).len()))
    .filter(|(_, n)| *n > 0)
    .collect::<Vec<_>>();
    let certified = [&collapsed, &extended, &dead_zone]
        .into_iter()
        .flatten()
        .filter(|r| r.result.summary.certificate.is_some())
        .count();
    let range = |group: &[&Run]| {
        let counts = group.iter().map(|r| r.result.summary.summary.n_clusters);
        match (counts.clone().min(), counts.max()) {
            (Some(lo), Some(hi)) => format!("{lo}–{hi} clusters, "),
            _ => String::new(),
        }
    };
    // The widest spread, in units of the radius.
    let widest = extended
        .iter()
        .map(|r| r.result.summary.summary.max_spread / r.params.cluster_radius())
        .fold(0.0f64, f64::max);
    let particles = runs
        .iter()
        .map(|r| r.params.model.particles)
        .max()
        .unwrap_or(0);
    Some(Claim {
        claim: "With the perceptron, descent ends in an atomic state (finitely many clusters, stationary)".into(),
        hypotheses: "a perceptron, descent, the run met the stopping rule (or settled and certified); a description, not a test: at finite n every stationary state is atomic (n atoms) and the theorem is about measures, so no run can contradict it, and the drift rule's radius r is the counting radius, so every converged state is within r, spread arcs included".into(),
        tested,
        not_tested,
        measured: if tested == 0 {
            "no run met the stopping rule".into()
        } else {
            format!(
                "of {tested} (up to {particles} particles; {certified} certified): {} collapsed into a few point masses ({}every spread ≤ r/10); {} with clusters wider than r/10 ({}spreads up to {widest:.2} r); {} with lone particles where no neuron acts ({}clusters of one particle)",
                collapsed.len(),
                range(&collapsed),
                extended.len(),
                range(&extended),
                dead_zone.len(),
                range(&dead_zone),
            )
        },
        verdict: if tested == 0 { Verdict::NotTested } else { Verdict::NoVerdict },
        failing: Vec::new(),
        tasks: [&collapsed, &extended, &dead_zone]
            .into_iter()
            .flatten()
            .map(|r| TaskRef {
                sweep: sweep_of(results, r),
                task_id: r.task_id.clone(),
                label: r.label.clone(),
            })
            .collect(),
    })
}

/// Whether a run's heaviest cluster sits at a local maximiser of the potential: no point within
/// 0.1 rad has a larger v.
fn at_local_maximum(run: &Run) -> bool {
    let Some(cluster) = run.result.summary.clusters.first() else {
        return false;
    };
    let theta = cluster.centre[1].atan2(cluster.centre[0]);
    let v = |t: f64| run.perceptron.potential(&[t.cos(), t.sin()]);
    let tolerance = 1e-9 * (1.0 + v(theta).abs());
    (1..=20).all(|k| {
        let h = 0.005 * k as f64;
        v(theta + h) <= v(theta) + tolerance && v(theta - h) <= v(theta) + tolerance
    })
}

/// Where a run's heaviest cluster sits on v: the angle, v there, whether a neuron acts there
/// (where none does, v is flat and the point a non-strict maximiser), and the largest v on the
/// circle (sampled every 0.1°), for the ascent row to say which maximiser a run found.
fn where_the_dirac_is(run: &Run) -> Option<String> {
    let cluster = run.result.summary.clusters.first()?;
    if cluster.centre.len() != 2 {
        return None;
    }
    let theta = cluster.centre[1].atan2(cluster.centre[0]);
    let v = |t: f64| run.perceptron.potential(&[t.cos(), t.sin()]);
    let (v_max, theta_max) = (0..3600)
        .map(|k| {
            let t = -std::f64::consts::PI + k as f64 * std::f64::consts::TAU / 3600.0;
            (v(t), t)
        })
        .fold(
            (f64::NEG_INFINITY, 0.0),
            |a, b| if b.0 > a.0 { b } else { a },
        );
    let place = if run.perceptron.acts_at(&cluster.centre) {
        "where a neuron acts"
    } else {
        "where no neuron acts (v flat there: a non-strict maximiser)"
    };
    Some(format!(
        "{}: θ = {theta:.3}, v = {:.3}, {place}; the largest v is {v_max:.3} (θ = {theta_max:.3})",
        run.label,
        v(theta)
    ))
}

/// Ascent with the perceptron ends in one Dirac at a maximiser of v.
fn ascent_dirac(results: &Results) -> Option<Claim> {
    let side = results.get("side_by_side")?;
    let ascent: Vec<&Run> = side
        .runs
        .iter()
        .filter(|r| r.params.model.regime == Regime::Ascent && r.activation() != Activation::None)
        .collect();
    if ascent.is_empty() {
        return None;
    }
    // The theory is stated for USA (MODEL.md §7): SA runs are not tested.
    let (usa, sa): (Vec<&Run>, Vec<&Run>) = ascent
        .iter()
        .partition(|r| r.params.model.attention == Attention::Usa);
    let (tested, capped): (Vec<&Run>, Vec<&Run>) = usa
        .iter()
        .partition(|r| r.result.summary.summary.stop_reason.is_stationary());
    let elsewhere: Vec<&Run> = tested
        .iter()
        .copied()
        .filter(|r| !(r.result.summary.summary.n_clusters == 1 && at_local_maximum(r)))
        .collect();
    let mut not_tested = Vec::new();
    if !sa.is_empty() {
        not_tested.push(("SA: the theory is stated for USA".into(), sa.len()));
    }
    if !capped.is_empty() {
        not_tested.push(("not converged (step cap)".into(), capped.len()));
    }
    Some(Claim {
        claim: "Ascent's maximisers are Diracs at maxima of v; a run ends in one Dirac at a \
                (local) maximiser of v"
            .into(),
        hypotheses: "a perceptron, USA ascent (β = 1, ReLU), the run reached a stationary state; \
                     a run may also end at a local maximiser of E that is not one Dirac, so a run \
                     that ends elsewhere is reported, not counted against the theory"
            .into(),
        tested: tested.len(),
        not_tested,
        measured: format!(
            "{} of {} end in one cluster at a local maximiser of v (no larger v within 0.1 \
             rad){}{}",
            tested.len() - elsewhere.len(),
            tested.len(),
            if elsewhere.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} end{} elsewhere: {}",
                    elsewhere.len(),
                    if elsewhere.len() == 1 { "s" } else { "" },
                    elsewhere
                        .iter()
                        .map(|r| r.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            tested
                .iter()
                .filter_map(|r| where_the_dirac_is(r))
                .map(|text| format!("; {text}"))
                .collect::<String>()
        ),
        // Holds when every run ends as the theory's maximisers do; a run that ends elsewhere
        // may be at a local maximiser of E, which the theory allows: no verdict then.
        verdict: if tested.is_empty() {
            Verdict::NotTested
        } else if elsewhere.is_empty() {
            Verdict::Holds
        } else {
            Verdict::NoVerdict
        },
        failing: Vec::new(),
        tasks: task_refs("side_by_side", tested.iter().copied()),
    })
}

/// The first-plateau cluster counts of the null runs by task id (analysis rows; `None` when a
/// run ended before its clusters formed).
fn first_plateaus(results: &Results) -> BTreeMap<&str, Option<usize>> {
    results
        .values()
        .flat_map(|s| s.analysis.bound_rows.iter())
        .filter(|row| row.k_star.is_some())
        .map(|row| (row.task_id.as_str(), row.first_plateau))
        .collect()
}

/// Why a run with every other hypothesis of the k* claim is not compared with k*(β).
const NO_PLATEAU: &str = "no plateau: no count held as long as it took to form before the run \
    ended (the end count may follow merges)";

/// Why a null run on S^1 is not compared with k*(β), if it is not.
fn k_star_reason(run: &Run, plateau: Option<Option<usize>>) -> Option<&'static str> {
    if run.params.model.regime == Regime::Descent {
        Some("descent: the null run spreads (no clusters to count)")
    } else if run.params.model.attention != Attention::Usa {
        Some("SA (γ_k is USA's rate)")
    } else if run.params.model.particles < 2000 {
        Some("n < 2000")
    } else if run.beta() < 3.0 {
        Some("β < 3")
    } else if !matches!(plateau, Some(Some(_))) {
        Some(NO_PLATEAU)
    } else {
        None
    }
}

/// The ascent null runs at one β: `(β, k*(β), each run's first-plateau count with its task)`.
pub type KStarCounts = (f64, usize, Vec<(usize, TaskRef)>);

/// The ascent null runs compared with k*(β), by β.
pub fn k_star_counts(results: &Results) -> Vec<KStarCounts> {
    let plateaus = first_plateaus(results);
    let mut seen = BTreeSet::new();
    let mut by_beta: BTreeMap<u64, Vec<(usize, TaskRef)>> = BTreeMap::new();
    for (name, sweep) in results {
        for run in &sweep.runs {
            if run.activation() != Activation::None || run.params.model.dim != 2 {
                continue;
            }
            let plateau = plateaus.get(run.task_id.as_str()).copied();
            if k_star_reason(run, plateau).is_some() || !seen.insert(run.task_id.clone()) {
                continue;
            }
            if let Some(Some(count)) = plateau {
                let task = TaskRef {
                    sweep: name.clone(),
                    task_id: run.task_id.clone(),
                    label: run.label.clone(),
                };
                by_beta
                    .entry(run.beta().to_bits())
                    .or_default()
                    .push((count, task));
            }
        }
    }
    by_beta
        .into_iter()
        .map(|(bits, counts)| {
            let beta = f64::from_bits(bits);
            (beta, theory::unstable_mode(beta), counts)
        })
        .collect()
}

/// The most unstable mode k*(β) of pure attention predicts the first clusters of an ascent run
/// from a near-uniform start (counted on the first plateau of the count); descent null runs
/// spread and are never compared with it. A run agrees when its count is within one of k*
/// (near its maximum γ_k is flat: at β = 50, γ_9 and γ_11 are within 4% of γ_10); the claim
/// holds when, at every β, most runs agree.
fn null_runs_follow_k_star(results: &Results) -> Option<Claim> {
    let plateaus = first_plateaus(results);
    let mut seen = BTreeSet::new();
    let nulls: Vec<&Run> = results
        .values()
        .flat_map(|s| s.runs.iter())
        .filter(|r| {
            r.activation() == Activation::None
                && r.params.model.dim == 2
                && seen.insert(r.task_id.clone())
        })
        .collect();
    if nulls.is_empty() {
        return None;
    }
    let reasons = nulls
        .iter()
        .filter_map(|r| k_star_reason(r, plateaus.get(r.task_id.as_str()).copied()));
    // The runs that meet every hypothesis but the plateau, by β: said beside each β's counts,
    // and a β where no run formed a plateau is named as not tested.
    let mut without_plateau: BTreeMap<u64, usize> = BTreeMap::new();
    for run in &nulls {
        if k_star_reason(run, plateaus.get(run.task_id.as_str()).copied()) == Some(NO_PLATEAU) {
            *without_plateau.entry(run.beta().to_bits()).or_default() += 1;
        }
    }
    let counts = k_star_counts(results);
    let tested: usize = counts.iter().map(|(_, _, runs)| runs.len()).sum();
    let agree = |k: usize, c: &[usize]| c.iter().filter(|&&n| n.abs_diff(k) <= 1).count();
    let counts: Vec<(f64, usize, Vec<usize>, Vec<TaskRef>)> = counts
        .into_iter()
        .map(|(beta, k, runs)| {
            let (c, tasks): (Vec<usize>, Vec<TaskRef>) = runs.into_iter().unzip();
            (beta, k, c, tasks)
        })
        .collect();
    let mut per_beta: BTreeMap<u64, String> = counts
        .iter()
        .map(|(beta, k, c, _)| {
            let mean = c.iter().sum::<usize>() as f64 / c.len() as f64;
            let more = match without_plateau.get(&beta.to_bits()) {
                Some(m) => format!(" ({m} more without a plateau)"),
                None => String::new(),
            };
            let text = format!(
                "β = {beta}: k* = {k}, counts {}–{} (mean {mean:.1}), {}/{} exactly k*, {}/{} \
                 within ±1{more}",
                c.iter().min().unwrap_or(&0),
                c.iter().max().unwrap_or(&0),
                c.iter().filter(|&&n| n == *k).count(),
                c.len(),
                agree(*k, c),
                c.len()
            );
            (beta.to_bits(), text)
        })
        .collect();
    for (&bits, &m) in &without_plateau {
        per_beta.entry(bits).or_insert_with(|| {
            format!(
                "β = {}: not tested ({m} runs, none with a plateau)",
                f64::from_bits(bits)
            )
        });
    }
    let per_beta: Vec<String> = per_beta.into_values().collect();
    let holds = counts.iter().all(|(_, k, c, _)| 2 * agree(*k, c) > c.len());
    // Behind a "fails": the disagreeing runs at each β where most disagree.
    let failing: Vec<TaskRef> = counts
        .iter()
        .filter(|(_, k, c, _)| 2 * agree(*k, c) <= c.len())
        .flat_map(|(_, k, c, tasks)| {
            c.iter()
                .zip(tasks)
                .filter(|(n, _)| n.abs_diff(*k) > 1)
                .map(|(_, t)| t.clone())
        })
        .collect();
    Some(Claim {
        claim: "Pure attention: the first clusters from a near-uniform start number k*(β) = argmax k² I_k(β)/β".into(),
        hypotheses: "no perceptron, USA ascent (attractive), S^1, n ≥ 2000, β ≥ 3, a first plateau of the cluster count (the count there is compared, not the end count); holds if at every β most runs are within ±1 of k*".into(),
        tested,
        not_tested: by_reason(reasons),
        measured: if tested == 0 {
            "no ascent null run from a near-uniform start".into()
        } else {
            per_beta.join("; ")
        },
        verdict: if tested == 0 {
            Verdict::NotTested
        } else {
            Verdict::of(holds)
        },
        failing,
        tasks: counts
            .iter()
            .flat_map(|(_, _, _, tasks)| tasks.iter().cloned())
            .collect(),
    })
}

/// Descent null runs spread towards the uniform law: the largest gap between neighbours and the
/// W1 distance to uniform, measured, not judged.
fn null_runs_spread(results: &Results) -> Option<Claim> {
    let mut seen = BTreeSet::new();
    let spread: Vec<&Run> = results
        .values()
        .flat_map(|s| s.runs.iter())
        .filter(|r| {
            r.activation() == Activation::None
                && r.params.model.dim == 2
                && r.params.model.regime == Regime::Descent
                && seen.insert(r.task_id.clone())
        })
        .collect();
    if spread.is_empty() {
        return None;
    }
    // The largest gap between neighbours (in units of 2π/n) and the W1 distance to uniform.
    let measures = |state: &sphereflow_solver::State| -> (f64, Option<f64>) {
        match sphereflow_meanfield::particle_spread(state) {
            Ok(spread) => (spread.largest_gap, Some(spread.w1_uniform)),
            Err(_) => (f64::NAN, None),
        }
    };
    let (mut gaps, mut distances) = (Vec::new(), Vec::new());
    let (mut start_gaps, mut start_distances) = (Vec::new(), Vec::new());
    // Runs closer to uniform at the end than at the start, by both measures.
    let mut closer = 0;
    for run in &spread {
        let (gap, w1) = measures(&run.result.final_state);
        gaps.push(gap);
        distances.extend(w1);
        if let Some(initial) = &run.initial {
            let (start_gap, start_w1) = measures(initial);
            start_gaps.push(start_gap);
            start_distances.extend(start_w1);
            if gap < start_gap && w1.zip(start_w1).is_some_and(|(end, start)| end < start) {
                closer += 1;
            }
        }
    }
    let max = |v: &[f64]| v.iter().copied().fold(0.0f64, f64::max);
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let start = if start_gaps.is_empty() {
        String::new()
    } else {
        format!(
            "; at the start {:.2}–{:.2} and {:.2e}–{:.2e} \
             rad: {closer} of {} runs end closer to uniform than they started by both",
            min(&start_gaps),
            max(&start_gaps),
            min(&start_distances),
            max(&start_distances),
            start_gaps.len()
        )
    };
    Some(Claim {
        claim: "Pure attention in descent repels: null runs spread towards the uniform law".into(),
        hypotheses:
            "no perceptron, descent, S^1 (a description: spread states are not counted as clusters)"
                .into(),
        tested: spread.len(),
        not_tested: Vec::new(),
        measured: format!(
            "at the end, largest gap between neighbours {:.2}–{:.2} times the uniform spacing \
             2π/n, W1 distance to uniform {:.2e}–{:.2e} rad{start}",
            min(&gaps),
            max(&gaps),
            min(&distances),
            max(&distances)
        ),
        verdict: Verdict::NoVerdict,
        failing: Vec::new(),
        tasks: spread
            .iter()
            .map(|r| TaskRef {
                sweep: sweep_of(results, r),
                task_id: r.task_id.clone(),
                label: r.label.clone(),
            })
            .collect(),
    })
}

/// Mean convergence time of USA and SA over the perceptron scales.
fn convergence_times(results: &Results) -> Option<Claim> {
    let scale = results.get("perceptron_scale")?;
    // A run stopped at its cap has no convergence time (its t_final is only a lower bound):
    // left out of the means and counted.
    let described = |r: &&Run| r.params.perceptron.scale > 0.0 && r.did_not_converge().is_none();
    let capped = scale
        .runs
        .iter()
        .filter(|r| r.params.perceptron.scale > 0.0 && r.did_not_converge().is_some())
        .count();
    let time = |attention: Attention| {
        let times: Vec<f64> = scale
            .runs
            .iter()
            .filter(|r| r.params.model.attention == attention && described(r))
            .map(|r| r.result.summary.summary.t_final)
            .collect();
        (
            times.iter().sum::<f64>() / times.len().max(1) as f64,
            times.len(),
        )
    };
    let ((usa, n_usa), (sa, n_sa)) = (time(Attention::Usa), time(Attention::Sa));
    // The settings the runs share, said with the times (USA and SA run on different clocks).
    let setting = scale.runs.first().map_or_else(String::new, |r| {
        format!(
            " (model time; β = {}, n = {}, {}, {}, {} kernel)",
            r.beta(),
            r.params.model.particles,
            r.params.model.regime.as_str(),
            r.activation().as_str(),
            r.params.model.kernel.as_str()
        )
    });
    Some(Claim {
        claim: "Convergence time depends on the perceptron scale differently for USA and SA".into(),
        hypotheses: "a description (the convergence-time figure): perceptron scale > 0".into(),
        tested: n_usa + n_sa,
        not_tested: if capped == 0 {
            Vec::new()
        } else {
            vec![(
                "not converged (step cap): no convergence time".into(),
                capped,
            )]
        },
        measured: {
            let mean = |name: &str, t: f64, n: usize| match n {
                0 => format!("{name}: no converged run"),
                1 => format!("{name} {t:.1} (1 run)"),
                _ => format!("{name} {t:.1} ({n} runs)"),
            };
            format!(
                "mean t_final of the converged runs over scales > 0{setting}: {}, {}; the \
                 dependence on the scale is in the convergence-time figure",
                mean("USA", usa, n_usa),
                mean("SA", sa, n_sa)
            )
        },
        verdict: if n_usa + n_sa == 0 {
            Verdict::NotTested
        } else {
            Verdict::NoVerdict
        },
        failing: Vec::new(),
        tasks: task_refs("perceptron_scale", scale.runs.iter().filter(described)),
    })
}

/// Particles against the mean-field density (MODEL.md §10): the W1 distance at a common time
/// falls like `n^{-1/2}` (the initial sampling error, carried by a Lipschitz flow). Holds when
/// -1/2 is in the fitted exponent's interval; a fit without an interval gives no verdict.
fn mean_field_limit(results: &Results) -> Option<Claim> {
    let sweep = results.get("meanfield_limit")?;
    let found = limit::particles_against_limit(sweep)?;
    let particle_runs = sweep
        .runs
        .iter()
        .filter(|r| !limit::is_mean_field(r))
        .count();
    let not_tested = by_reason(std::iter::repeat_n(
        "not at the density's time or model",
        particle_runs - found.points.len(),
    ));
    let (smallest, largest) = found.points.iter().fold((usize::MAX, 0), |(lo, hi), p| {
        (lo.min(p.particles), hi.max(p.particles))
    });
    let (measured, verdict) = match &found.fit {
        Some(fit) => (
            format!(
                "W1 = C n^α with α = {:.3} {} (r² {:.3}), n = {smallest} to {largest}, at t = {} against {} cells",
                fit.exponent,
                fit.interval_text(3),
                fit.r2,
                found.t,
                found.cells
            ),
            match fit.interval {
                Some((lo, hi)) => Verdict::of(lo <= -0.5 && -0.5 <= hi),
                None => Verdict::NoVerdict,
            },
        ),
        None => ("too few particle runs to fit".into(), Verdict::NoVerdict),
    };
    Some(Claim {
        claim: "n particles approach the mean-field density like n^(-1/2) (W1 at a fixed time)".into(),
        hypotheses: format!(
            "S^1, the same model{} and initial law (uniform) for both, a common time t = {}; holds if -0.5 is in the interval",
            sweep
                .runs
                .iter()
                .find(|r| r.task_id == found.density_task)
                .map_or_else(String::new, |r| format!(
                    " ({}, {}, {} kernel, β = {}, {}{})",
                    r.params.model.attention.as_str(),
                    r.params.model.regime.as_str(),
                    r.params.model.kernel.as_str(),
                    r.beta(),
                    r.activation().as_str(),
                    if r.activation() == Activation::None {
                        String::new()
                    } else {
                        format!(", perceptron seed {}", r.params.perceptron.seed)
                    }
                )),
            found.t
        ),
        tested: found.points.len(),
        not_tested,
        measured,
        verdict,
        failing: Vec::new(),
        tasks: task_refs(
            "meanfield_limit",
            sweep.runs.iter().filter(|r| {
                r.task_id == found.density_task
                    || found.points.iter().any(|p| p.task_id == r.task_id)
            }),
        ),
    })
}

/// The linear instability of the uniform state (MODEL.md §7, §10): the growth rates measured on
/// the mean-field density against `γ_k`, within 1%.
fn mean_field_growth() -> Option<Claim> {
    let measured = limit::growth_measurements();
    if measured.is_empty() {
        return None;
    }
    let worst = measured
        .iter()
        .max_by(|a, b| a.relative_error.abs().total_cmp(&b.relative_error.abs()))?;
    let within = measured
        .iter()
        .filter(|m| m.relative_error.abs() <= 0.01)
        .count();
    Some(Claim {
        claim: "Near the uniform law, Fourier mode k grows at γ_k = k² I_k(β)/β (pure attention, ascent)".into(),
        hypotheses: format!(
            "the mean-field density on S^1 from 1/(2π) + 10^-4 cos kθ, USA, shifted kernel (γ_k times e^-β), k = {}..{}, β ∈ {{{}}}; holds if every rate is within 1%",
            limit::GROWTH_MODES.start(),
            limit::GROWTH_MODES.end(),
            limit::GROWTH_BETAS.map(|b| b.to_string()).join(", ")
        ),
        tested: measured.len(),
        // A measurement that failed (its run did not finish) is not tested, and said.
        not_tested: {
            let planned = limit::GROWTH_BETAS.len() * limit::GROWTH_MODES.clone().count();
            let failed = planned.saturating_sub(measured.len());
            if failed == 0 {
                Vec::new()
            } else {
                vec![("the mean-field run failed".into(), failed)]
            }
        },
        measured: format!(
            "{within} of {} rates within 1%; largest deviation {:+.2e} (k = {}, β = {})",
            measured.len(),
            worst.relative_error,
            worst.mode,
            worst.beta
        ),
        verdict: Verdict::of(within == measured.len()),
        failing: Vec::new(),
        tasks: Vec::new(),
    })
}

/// What tells perceptron draws apart on S^1: the share of the circle where some neuron is
/// active (`<a_j, x> > 0`), and the share where the potential `v` is negative (the wells that
/// descent fills; elsewhere attention alone spreads the particles). `None` off the circle.
pub fn circle_shares(perceptron: &sphereflow_solver::Perceptron) -> Option<(f64, f64)> {
    if perceptron.dim != 2 {
        return None;
    }
    const SAMPLES: usize = 3600;
    let (mut active, mut wells) = (0usize, 0usize);
    for i in 0..SAMPLES {
        let angle = (i as f64 + 0.5) * std::f64::consts::TAU / SAMPLES as f64;
        let x = [angle.cos(), angle.sin()];
        active += usize::from(perceptron.active_count(&x) > 0);
        wells += usize::from(perceptron.potential(&x) < 0.0);
    }
    Some((
        active as f64 / SAMPLES as f64,
        wells as f64 / SAMPLES as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sphereflow_solver::perceptron::{Perceptron, Sigma};

    /// An end state's shape: collapsed, extended (arcs), lone particles where no neuron acts;
    /// capped, not stationary and unresolved runs are set apart, whatever their shape.
    #[test]
    fn end_states_are_told_apart_by_shape() {
        use sphereflow_solver::Classification as C;
        let r = 0.1;
        assert_eq!(end_state(true, 0.009, r, 0, None), EndState::Collapsed);
        assert_eq!(end_state(true, 0.0, r, 0, None), EndState::Collapsed);
        // Arcs as wide as the radius (a spread region), or just over a tenth of it.
        assert_eq!(end_state(true, 0.0999, r, 0, None), EndState::Extended);
        assert_eq!(end_state(true, 0.011, r, 0, None), EndState::Extended);
        // Lone particles where no neuron acts: collapsed clusters of one.
        assert_eq!(end_state(true, 0.0, r, 3, None), EndState::DeadZone);
        assert_eq!(end_state(true, 0.1, r, 1, None), EndState::DeadZone);
        // Certified: stationary ones by shape; the others set apart.
        assert_eq!(
            end_state(true, 0.0, r, 0, Some(C::Strict)),
            EndState::Collapsed
        );
        assert_eq!(
            end_state(true, 0.05, r, 0, Some(C::Sopd)),
            EndState::Extended
        );
        assert_eq!(
            end_state(true, 0.0, r, 0, Some(C::NotStationary)),
            EndState::NotStationary
        );
        assert_eq!(
            end_state(true, 0.0, r, 0, Some(C::Unresolved)),
            EndState::Unresolved
        );
        // Capped, whatever the shape.
        assert_eq!(end_state(false, 0.0, r, 0, None), EndState::Capped);
    }

    /// Two ReLU neurons at angle φ are active on two half circles that overlap on π - φ: the
    /// union is (π + φ) / 2π of the circle; with negative output weights the potential is
    /// negative on all of it, with positive ones nowhere.
    #[test]
    fn the_shares_of_two_neurons_are_those_of_their_half_circles() {
        let phi: f64 = 1.0;
        let perceptron = |weights: Vec<f64>| Perceptron {
            dim: 2,
            directions: vec![1.0, 0.0, phi.cos(), phi.sin()],
            weights,
            sigma: Sigma {
                activation: Activation::Relu,
                leaky_slope: 0.01,
            },
        };
        let (active, wells) = circle_shares(&perceptron(vec![-1.0, -1.0])).unwrap();
        let expected = (std::f64::consts::PI + phi) / std::f64::consts::TAU;
        assert!((active - expected).abs() < 1e-3, "{active} {expected}");
        assert!((wells - expected).abs() < 1e-3, "{wells} {expected}");
        // Positive weights: no wells at all.
        let (_, wells) = circle_shares(&perceptron(vec![1.0, 1.0])).unwrap();
        assert_eq!(wells, 0.0);
    }
}
