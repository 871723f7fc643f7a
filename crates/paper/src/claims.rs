//! The paper's claims against the runs: each a typed function of the sweeps' analyses (their
//! fits and theorem rows) and finished runs, with the measured value and a verdict.

use sphereflow_analyze::{theory, Law};
use sphereflow_plan::Typed;
use sphereflow_solver::{Activation, Attention, Regime};

use crate::runs::{Results, Run};

/// What the runs say about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The measurement agrees with the claim.
    Holds,
    /// The measurement disagrees with the claim.
    Fails,
    /// No finished run meets the claim's hypotheses.
    Untested,
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

    /// How the report writes it: `yes`, `no`, `untested`, `—`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "yes",
            Verdict::Fails => "no",
            Verdict::Untested => "untested",
            Verdict::NoVerdict => "—",
        }
    }
}

/// A claim of the paper and what the runs show.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The claim, in words.
    pub claim: String,
    /// What was measured, on how many runs.
    pub measured: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every claim the finished runs of the paper's sweeps test, in the report's order.
pub fn claims(results: &Results) -> Vec<Claim> {
    let mut claims = Vec::new();
    claims.extend(sqrt_beta_laws(results));
    claims.extend(anti_concentration(results));
    claims.extend(atomic_states(results));
    claims.extend(ascent_dirac(results));
    claims.extend(null_runs_follow_k_star(results));
    claims.extend(convergence_times(results));
    claims
}

/// The cluster count and the heavy atoms against β: the power-law fit of the ReLU runs of the
/// many-seed sweep.
fn sqrt_beta_laws(results: &Results) -> Vec<Claim> {
    let Some(many) = results.get("many_seeds") else {
        return Vec::new();
    };
    let relu = Typed::Text(Activation::Relu.as_str().into());
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
            continue;
        };
        let verdict = match (quantity, f.fit.interval) {
            (_, None) => Verdict::NoVerdict,
            ("n_clusters", Some((lo, hi))) => Verdict::of(lo <= 0.5 && 0.5 <= hi),
            (_, Some((lo, _))) => Verdict::of(lo <= 0.5),
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
            verdict,
        });
    }
    claims
}

/// The anti-concentration bound and its corollary over every finished task where they apply.
fn anti_concentration(results: &Results) -> Vec<Claim> {
    let rows: Vec<_> = results
        .values()
        .flat_map(|sweep| &sweep.analysis.bound_rows)
        .filter(|row| row.applicable())
        .collect();
    let applicable = rows.len();
    let largest = rows.iter().map(|r| r.window_mass).fold(0.0f64, f64::max);
    let margin = rows.iter().map(|r| r.margin).fold(f64::INFINITY, f64::min);
    let violations = rows.iter().filter(|r| r.margin < 0.0).count();
    let corollary_ok = rows.iter().filter(|r| r.corollary_holds).count();
    let mut claims = vec![Claim {
        claim: "No arc of length 1/(2 sqrt β) holds more than B(β) → 0.5742 of the mass (d = 2, descent, 1-Lipschitz σ, stationary)".into(),
        measured: if applicable > 0 {
            format!("largest window mass {largest:.4} over {applicable} runs where the theorem applies; smallest margin B(β) − mass = {margin:.4}; {violations} violations")
        } else {
            "no finished run satisfies the hypotheses".into()
        },
        verdict: if applicable == 0 {
            Verdict::Untested
        } else {
            Verdict::of(violations == 0)
        },
    }];
    if applicable > 0 {
        claims.push(Claim {
            claim: "Heavy atoms stay below the corollary's bound (M/ε)(1 + 2L sqrt β) B(β)".into(),
            measured: format!("{corollary_ok} of {applicable} runs"),
            verdict: Verdict::of(corollary_ok == applicable),
        });
    }
    claims
}

/// Atomic stationary states: the perceptron descent runs of the β sweeps end in a few clusters.
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
    fn summary(run: &Run) -> &sphereflow_solver::Summary {
        &run.result.summary.summary
    }
    let converged = runs
        .iter()
        .filter(|r| summary(r).stop_reason.is_stationary())
        .count();
    let clusters: Vec<usize> = runs.iter().map(|r| summary(r).n_clusters).collect();
    let particles = runs
        .iter()
        .map(|r| r.params.model.particles)
        .max()
        .unwrap_or(0);
    Some(Claim {
        claim: "With the perceptron, descent ends in an atomic state (finitely many clusters, stationary)".into(),
        measured: format!(
            "{converged} of {} runs met the stopping rule (drift ≤ tol, stable count); {}–{} clusters from up to {particles} particles",
            runs.len(),
            clusters.iter().min().unwrap_or(&0),
            clusters.iter().max().unwrap_or(&0)
        ),
        verdict: Verdict::of(converged * 10 >= runs.len() * 9),
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
    let single = ascent
        .iter()
        .filter(|r| r.result.summary.summary.n_clusters == 1)
        .count();
    let at_maximum = ascent.iter().filter(|r| at_local_maximum(r)).count();
    Some(Claim {
        claim: "Ascent ends in a single Dirac at a maximiser of v (β = 1, USA and SA, ReLU)".into(),
        measured: format!(
            "{single} of {} ascent runs end in one cluster, {at_maximum} of them at a local maximiser of v (no larger v within 0.1 rad)",
            ascent.len()
        ),
        verdict: Verdict::of(single == ascent.len() && at_maximum == ascent.len()),
    })
}

/// The null runs of the S^1 sweep against the most unstable mode k*(β).
fn null_runs_follow_k_star(results: &Results) -> Option<Claim> {
    let s1 = results.get("s1_beta")?;
    let nulls: Vec<&Run> = s1
        .runs
        .iter()
        .filter(|r| r.activation() == Activation::None && r.beta() >= 1.0)
        .collect();
    if nulls.is_empty() {
        return None;
    }
    let within = nulls
        .iter()
        .filter(|r| {
            let k = theory::unstable_mode(r.beta()) as i64;
            (r.result.summary.summary.n_clusters as i64 - k).abs() <= 1
        })
        .count();
    Some(Claim {
        claim: "Null runs: the metastable cluster count follows k*(β) = argmax k² I_k(β)/β".into(),
        measured: format!(
            "within ±1 of k* in {within} of {} null runs with β ≥ 1 (count at the stopping time)",
            nulls.len()
        ),
        verdict: Verdict::of(within * 2 >= nulls.len()),
    })
}

/// Mean convergence time of USA and SA over the perceptron scales.
fn convergence_times(results: &Results) -> Option<Claim> {
    let scale = results.get("perceptron_scale")?;
    let time = |attention: Attention| {
        let times: Vec<f64> = scale
            .runs
            .iter()
            .filter(|r| r.params.model.attention == attention && r.params.perceptron.scale > 0.0)
            .map(|r| r.result.summary.summary.t_final)
            .collect();
        (
            times.iter().sum::<f64>() / times.len().max(1) as f64,
            times.len(),
        )
    };
    let ((usa, n_usa), (sa, n_sa)) = (time(Attention::Usa), time(Attention::Sa));
    Some(Claim {
        claim: "Convergence time depends on the perceptron scale differently for USA and SA".into(),
        measured: format!("mean t_final over scales > 0: USA {usa:.1} ({n_usa} runs), SA {sa:.1} ({n_sa} runs); see figure 9"),
        verdict: Verdict::NoVerdict,
    })
}
