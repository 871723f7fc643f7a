//! Which runs feed which figure: the paper's figures from the results of its sweeps, and the
//! figures of any one sweep (`sphereflow figures`). Each comes with the file name it is saved
//! under and its caption; nothing is drawn or written here.

use std::collections::{BTreeMap, BTreeSet};

use sphereflow_analyze::{Analysis, Law};
use sphereflow_figures::AnyFigure;
use sphereflow_plan::Typed;
use sphereflow_solver::Activation;

use crate::charts::{self, name_of, Group};
use crate::claims;
use crate::limit;
use crate::runs::{Results, Run, SweepResults};

/// A figure to save: `<name>.png` and `<name>.svg`, with the caption the report gives it.
pub struct PaperFigure {
    /// The file stem.
    pub name: String,
    /// What it shows.
    pub caption: String,
    /// The figure.
    pub figure: AnyFigure,
}

/// A group's parameter values, `(path, value)`.
type GroupValues = Vec<(&'static str, Typed)>;

/// The parameters of a group: the axes other than β and the seeds.
fn is_group_path(path: &str) -> bool {
    !matches!(path, "model.beta" | "init.seed" | "perceptron.seed")
}

/// The run of a sweep closest to β with the given activation.
fn pick(sweep: &SweepResults, beta: f64, activation: Activation) -> Option<&Run> {
    sweep
        .runs
        .iter()
        .filter(|r| r.activation() == activation)
        .min_by(|a, b| (a.beta() - beta).abs().total_cmp(&(b.beta() - beta).abs()))
}

/// The runs closest to β with each activation, labelled `<activation> at β = <β>`.
fn runs_at<'a>(
    sweep: &'a SweepResults,
    beta: f64,
    activations: &[Activation],
) -> Vec<(&'a Run, String)> {
    activations
        .iter()
        .filter_map(|&a| pick(sweep, beta, a))
        .map(|r| {
            (
                r,
                format!("{} at β = {}", name_of(r.activation()), r.beta()),
            )
        })
        .collect()
}

/// The β of fig8's curves: a curve for each β with a plateau count (so that every count is
/// drawn on one), besides those of the measured rates and the ends of the range.
fn growth_curves(counts: &[(f64, Vec<usize>)]) -> Vec<f64> {
    let mut betas = vec![1.0, 3.0, 5.0, 10.0, 25.0, 50.0];
    betas.extend(counts.iter().map(|(beta, _)| *beta));
    betas.sort_by(f64::total_cmp);
    betas.dedup();
    betas
}

/// The paper's figures, in the order the report shows them, numbered in that order
/// (`Figure N.` in each title and caption).
pub fn paper_figures(results: &Results) -> Vec<PaperFigure> {
    let mut figures = Vec::new();
    let mut add = |name: &str, figure: Option<AnyFigure>, caption: &str| {
        if let Some(figure) = figure {
            figures.push(PaperFigure {
                name: name.into(),
                caption: caption.into(),
                figure,
            });
        }
    };
    if let Some(s1) = results.get("s1_beta") {
        let runs = runs_at(
            s1,
            10.0,
            &[Activation::None, Activation::Relu, Activation::Gelu],
        );
        add(
            "fig1_s1_final",
            charts::final_states(
                "Final states on S^1: null run and perceptron runs",
                &runs,
                3,
            ),
            "Final states on S^1 at β = 10: without the perceptron, with ReLU and with GeLU.",
        );
        if let Some(relu) = pick(s1, 10.0, Activation::Relu) {
            add(
                "fig1_s1_evolution",
                charts::evolution(
                    relu,
                    &format!("Initial, middle and final state, ReLU, β = {}", relu.beta()),
                ),
                "One ReLU run on S^1: initial, middle and final state.",
            );
            add(
                "fig3_trajectories",
                charts::trajectories(
                    relu,
                    &format!("Trajectories θ_i(t) on S^1, ReLU, β = {}", relu.beta()),
                ),
                "Angles of 80 particles against time over the potential v(θ).",
            );
        }
        let energy_runs: Vec<(&Run, String)> =
            [Activation::None, Activation::Relu, Activation::Gelu]
                .iter()
                .filter_map(|&a| pick(s1, 10.0, a))
                .map(|r| (r, format!("{}, β = {}", name_of(r.activation()), r.beta())))
                .collect();
        add(
            "fig4_energy",
            charts::energy(
                &energy_runs,
                "Energy against time on S^1 (descent: decreasing)",
            ),
            "The energy E(t) of the null run and the perceptron runs.",
        );
    }
    if let Some(side) = results.get("side_by_side") {
        let mut runs: Vec<&Run> = side.runs.iter().collect();
        runs.sort_by_key(|r| {
            (
                r.activation() == Activation::None,
                r.params.model.attention.as_str(),
                r.params.model.regime.as_str(),
            )
        });
        let panels: Vec<(&Run, String)> = runs
            .into_iter()
            .map(|r| {
                let label = format!(
                    "{} {} {}",
                    r.params.model.attention.as_str().to_uppercase(),
                    r.params.model.regime.as_str(),
                    name_of(r.activation())
                );
                (r, label)
            })
            .collect();
        add(
            "fig1_side_by_side",
            charts::final_states(
                "USA/SA × ascent/descent at β = 1, with and without the perceptron",
                &panels,
                4,
            ),
            "The four combinations of attention and regime at β = 1 (top: ReLU perceptron; bottom: none).",
        );
    }
    if let Some(s2) = results.get("s2_beta") {
        let runs = runs_at(s2, 10.0, &[Activation::None, Activation::Relu]);
        add(
            "fig2_s2_final",
            charts::final_states("Final states on S^2", &runs, 2),
            "Final states on S^2 at β = 10 on an equal-area map, with the great circles a_j·x = 0.",
        );
    }
    if let Some(many) = results.get("many_seeds") {
        // Descent null runs spread out: their counts are not clusters, so they are not drawn.
        let by_activation = by_activation(many.runs.iter().filter(|r| !r.spreads()));
        let groups: Vec<Group<'_>> = by_activation
            .iter()
            .map(|(activation, runs)| Group {
                label: name_of(*activation).into(),
                points: runs
                    .iter()
                    .map(|r| (r.beta(), r.result.summary.summary.n_clusters as f64))
                    .collect(),
                capped: runs.iter().map(|r| r.did_not_converge()).collect(),
                fit: sqrt_fit(&many.analysis, "n_clusters", &activation_group(*activation)),
            })
            .collect();
        let mut groups = groups;
        groups.sort_by(|a, b| a.label.cmp(&b.label));
        add(
            "fig5_clusters",
            Some(AnyFigure::Chart(charts::against_sqrt_beta(
                &groups,
                "Cluster count against sqrt β over seeds",
                "clusters at the end",
            ))),
            "Cluster count against sqrt β with the perceptron: mean ± sd over seeds of the converged runs, the fit a + b sqrt β over β ≥ 1 with its 95% bootstrap band (all perceptron draws pooled; the report gives the fit per draw); runs stopped at the step cap are drawn apart as rings and left out of the fit. Null runs in descent are not drawn: they spread towards the uniform law, and the arcs of width r that a spread state needs are not clusters.",
        );
        let relu: Vec<&Run> = many
            .runs
            .iter()
            .filter(|r| r.activation() == Activation::Relu)
            .collect();
        // The theorem's B(β, C_eff) of the runs drawn, from the analysis (not a constant).
        let bounds = |sweep: &SweepResults, runs: &[&Run]| -> Option<(f64, f64)> {
            let ids: BTreeSet<&str> = runs.iter().map(|r| r.task_id.as_str()).collect();
            sweep
                .analysis
                .bound_rows
                .iter()
                .filter(|row| ids.contains(row.task_id.as_str()) && row.bound.is_finite())
                .map(|row| row.bound)
                .fold(None, |range, b| match range {
                    None => Some((b, b)),
                    Some((lo, hi)) => Some((f64::min(lo, b), f64::max(hi, b))),
                })
        };
        let b_text = match bounds(many, &relu) {
            Some((lo, _)) if lo >= 1.0 => format!(
                "Their B(β, C_eff) is at least {lo:.2}, above 1 at every β: the theorem says \
                 nothing about these runs (outside its hypotheses), and B lies above the axis \
                 (its legend entry gives its smallest value)."
            ),
            Some((lo, hi)) => format!(
                "Their B(β, C_eff) ranges over {lo:.3}–{hi:.3}; the theorem applies only where \
                 it is below 1 and to certified SOPD states (the bound sweep's figure)."
            ),
            None => String::new(),
        };
        add(
            "fig6_masses",
            Some(AnyFigure::Chart(charts::masses(
                &relu,
                "Largest cluster and window mass (ReLU) against sqrt β",
            ))),
            &format!(
                "The authors' runs (shifted kernel, perceptron scale 1): largest cluster mass and \
                 largest window mass against sqrt β, with the limit 0.5742. {b_text}"
            ),
        );
        if let Some(bound) = results.get("bound") {
            // Exactly the states the bound's row tests: every hypothesis met (MODEL.md §7).
            let applicable: BTreeSet<&str> = bound
                .analysis
                .bound_rows
                .iter()
                .filter(|row| row.not_applicable.is_none())
                .map(|row| row.task_id.as_str())
                .collect();
            let certified: Vec<&Run> = bound
                .runs
                .iter()
                .filter(|r| applicable.contains(r.task_id.as_str()))
                .collect();
            if !certified.is_empty() {
                let (lo, hi) = bounds(bound, &certified).unwrap_or((f64::NAN, f64::NAN));
                let b = if (hi - lo).abs() < 5e-4 {
                    format!("{lo:.3}")
                } else {
                    format!("{lo:.3}–{hi:.3}")
                };
                let (beta_lo, beta_hi) = certified
                    .iter()
                    .map(|r| r.beta())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
                        (lo.min(b), hi.max(b))
                    });
                let betas = if beta_lo == beta_hi {
                    format!("β = {beta_lo}")
                } else {
                    format!("β = {beta_lo}–{beta_hi}")
                };
                let states = if certified.len() == 1 {
                    "one state that meets".to_string()
                } else {
                    format!("{} states that meet", certified.len())
                };
                add(
                    "fig6_bound",
                    Some(AnyFigure::Chart(charts::masses(
                        &certified,
                        "Certified SOPD states of the bound sweep, weak perceptron",
                    ))),
                    &format!(
                        "The bound sweep's {states} every hypothesis of the theorem \
                         (certified SOPD, d = 2, USA, descent, m = 2, σ 1-Lipschitz with σ(0) = 0, \
                         β ≥ 19, B < 1; here {betas}), measured on the certified atoms \
                         (after any escape from a saddle or a stalled polish, MODEL.md §9): the \
                         heaviest atom (\"largest cluster mass\") and the heaviest set of two or \
                         more atoms within \
                         1/(2 sqrt β) (\"largest window mass\"), against sqrt β, with \
                         B(β, C_eff) = {b} and the limit 0.5742."
                    ),
                );
            }
        }
        let mut named: Vec<(String, Vec<&Run>)> = by_activation
            .into_iter()
            .map(|(activation, runs)| (name_of(activation).to_string(), runs))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        add(
            "fig7_all_masses",
            Some(AnyFigure::Chart(charts::all_masses(
                &named,
                "Every final cluster mass against sqrt β",
            ))),
            "Every cluster mass of every run against sqrt β.",
        );
    }
    add(
        "fig8_growth_rates",
        Some(AnyFigure::Chart({
            let counts: Vec<(f64, Vec<usize>)> = claims::k_star_counts(results)
                .into_iter()
                .map(|(beta, _, runs)| (beta, runs.into_iter().map(|(count, _)| count).collect()))
                .collect();
            charts::growth_rates(
                &growth_curves(&counts),
                limit::growth_measurements(),
                &counts,
                "Growth rates of pure attention near uniform on S^1",
            )
        })),
        "γ_k = k² I_k(β)/β (shifted kernel: times e^{-β}) against k, each β's curve divided by its largest rate; the dot at the top of each curve (largest) marks the most unstable mode k*. The mid-size dots are the cluster counts on the first plateau of the ascent null runs (pure attention, n = 2000 from a uniform draw), one per run, on their β's curve at the mode they count. The small dots at β = 1, 5, 10 and 25 are the rates measured on the mean-field density (pure attention, USA ascent, from 1/(2π) + 10^-4 cos kθ, modes 1 to 10): the slope of log |ρ̂_k(t)| over the first e-foldings.",
    );
    if let Some(scale) = results.get("perceptron_scale") {
        let runs: Vec<&Run> = scale.runs.iter().collect();
        add(
            "fig9_convergence",
            Some(AnyFigure::Chart(charts::convergence(
                &runs,
                "Convergence time against the perceptron scale (β = 10, S^1)",
            ))),
            "Time until the stopping rule holds, for USA and SA, against the perceptron's scale.",
        );
    }
    if let Some(sweep) = results.get("meanfield_limit") {
        if let Some(found) = limit::particles_against_limit(sweep) {
            add(
                "fig10_limit",
                Some(AnyFigure::Chart(charts::limit_distance(
                    &found,
                    &format!(
                        "Particles against the mean-field limit (β = {}, ReLU, S^1)",
                        found.beta
                    ),
                ))),
                &format!(
                    "The W1 distance on the circle between n particles and the mean-field density at t = {} (both from the uniform law, same model; the density on {} cells), against n, log–log: every run, the mean over seeds, the fit C n^α with its 95% bootstrap band, and the line n^(-1/2).",
                    found.t, found.cells
                ),
            );
        }
    }
    if let Some(sweep) = results.get("meanfield_atoms") {
        let (densities, particles): (Vec<&Run>, Vec<&Run>) =
            sweep.runs.iter().partition(|r| limit::is_mean_field(r));
        if !densities.is_empty() {
            let beta = densities[0].beta();
            add(
                "fig11_heaviest_cells",
                Some(AnyFigure::Chart(charts::heaviest_cells_chart(
                    &densities,
                    &particles,
                    &format!("The density piles into atoms (β = {beta}, ReLU, descent)"),
                ))),
                &format!(
                    "The mean-field density with the perceptron in descent (S^1, USA, β = {beta}), from the uniform law to t = {}: the mass of its heaviest cell and of its heaviest cluster of cells against the number of cells M, beside the largest cluster of the particle runs of the same model. A smooth density's heaviest cell would fall like 1/M (dashed).",
                    densities[0].result.summary.summary.t_final
                ),
            );
        }
    }
    number(&mut figures);
    figures
}

/// Numbers the figures in the order the report shows them, once each: `Figure N. ` before
/// each figure's title and its caption (the file names keep their own stems).
fn number(figures: &mut [PaperFigure]) {
    for (i, figure) in figures.iter_mut().enumerate() {
        let prefix = format!("Figure {}. ", i + 1);
        let title = figure.figure.title_mut();
        title.insert_str(0, &prefix);
        figure.caption.insert_str(0, &prefix);
    }
}

/// Runs by activation, in the order activations first appear.
fn by_activation<'a>(runs: impl IntoIterator<Item = &'a Run>) -> Vec<(Activation, Vec<&'a Run>)> {
    let mut groups: Vec<(Activation, Vec<&'a Run>)> = Vec::new();
    for run in runs {
        match groups.iter_mut().find(|(a, _)| *a == run.activation()) {
            Some((_, group)) => group.push(run),
            None => groups.push((run.activation(), vec![run])),
        }
    }
    groups
}

/// The group values of a group defined by its activation alone.
fn activation_group(activation: Activation) -> Vec<(&'static str, Typed)> {
    vec![(
        "perceptron.activation",
        Typed::Text(activation.as_str().into()),
    )]
}

/// The analysis's `a + b sqrt β` fit of a quantity in the group with exactly these values.
fn sqrt_fit<'a>(
    analysis: &'a Analysis,
    quantity: &str,
    values: &[(&'static str, Typed)],
) -> Option<&'a sphereflow_analyze::Fit> {
    analysis
        .group_fits
        .iter()
        .find(|f| f.quantity == quantity && f.fit.law == Law::Sqrt && f.values == values)
        .map(|f| &f.fit)
}

/// The figures of one sweep: final states and energy of up to eight tasks, the trajectories of
/// the first, and, when β varies, the quantities against sqrt β per group (the groups and fits
/// of the analysis).
pub fn sweep_figures(name: &str, runs: &[Run], analysis: &Analysis) -> Vec<PaperFigure> {
    let mut figures = Vec::new();
    let mut add = |file: &str, figure: Option<AnyFigure>, caption: String| {
        if let Some(figure) = figure {
            figures.push(PaperFigure {
                name: file.into(),
                caption,
                figure,
            });
        }
    };
    let first: Vec<(&Run, String)> = runs.iter().take(8).map(|r| (r, r.label.clone())).collect();
    add(
        "final_states",
        charts::final_states(&format!("{name}: final states"), &first, 4),
        format!("Final states of the first {} tasks.", first.len()),
    );
    add(
        "energy",
        charts::energy(&first, &format!("{name}: energy")),
        format!("Energy against time of the first {} tasks.", first.len()),
    );
    if let Some(run) = runs.first() {
        add(
            "trajectories",
            charts::trajectories(run, &format!("{name}: {}", run.label)),
            format!("Trajectories of {}.", run.label),
        );
    }
    let betas: BTreeSet<u64> = runs.iter().map(|r| r.beta().to_bits()).collect();
    if betas.len() < 2 {
        return figures;
    }
    // Groups: the runs with equal values of the axes other than β and the seeds. Descent runs
    // of pure attention spread out: their counts and masses are not those of clusters.
    let spread = runs.iter().filter(|r| r.spreads()).count();
    let omitted = if spread == 0 {
        String::new()
    } else {
        format!(" The {spread} descent runs without a perceptron are left out: they spread out, so they have no clusters to count.")
    };
    let mut grouped: BTreeMap<String, (GroupValues, Vec<&Run>)> = BTreeMap::new();
    for run in runs.iter().filter(|r| !r.spreads()) {
        let values: Vec<(&'static str, Typed)> = run
            .coordinates
            .iter()
            .filter(|(path, _)| is_group_path(path))
            .cloned()
            .collect();
        let label = if values.is_empty() {
            "all".to_string()
        } else {
            values
                .iter()
                .map(|(path, value)| format!("{}={value}", path.split('.').nth(1).unwrap_or(path)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        grouped
            .entry(label)
            .or_insert_with(|| (values, Vec::new()))
            .1
            .push(run);
    }
    let groups: Vec<Group<'_>> = grouped
        .iter()
        .map(|(label, (values, runs))| Group {
            label: label.clone(),
            points: runs
                .iter()
                .map(|r| (r.beta(), r.result.summary.summary.n_clusters as f64))
                .collect(),
            capped: runs.iter().map(|r| r.did_not_converge()).collect(),
            fit: sqrt_fit(analysis, "n_clusters", values),
        })
        .collect();
    if groups.is_empty() {
        return figures;
    }
    add(
        "clusters",
        Some(AnyFigure::Chart(charts::against_sqrt_beta(
            &groups,
            &format!("{name}: clusters"),
            "clusters",
        ))),
        format!("Cluster count against sqrt β per group, with the fit a + b sqrt β.{omitted}"),
    );
    let all: Vec<&Run> = runs.iter().filter(|r| !r.spreads()).collect();
    add(
        "masses",
        Some(AnyFigure::Chart(charts::masses(
            &all,
            &format!("{name}: largest masses"),
        ))),
        format!("Largest cluster and window masses against sqrt β.{omitted}"),
    );
    let named: Vec<(String, Vec<&Run>)> = grouped
        .into_iter()
        .map(|(label, (_, runs))| (label, runs))
        .collect();
    add(
        "all_masses",
        Some(AnyFigure::Chart(charts::all_masses(
            &named,
            &format!("{name}: all cluster masses"),
        ))),
        format!("Every cluster mass against sqrt β.{omitted}"),
    );
    figures
}

#[cfg(test)]
mod tests {
    use super::growth_curves;

    #[test]
    fn every_plateau_count_has_its_curve() {
        let counts = vec![(7.0, vec![3, 3]), (15.0, vec![5]), (5.0, vec![3])];
        assert_eq!(
            growth_curves(&counts),
            [1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 25.0, 50.0]
        );
    }
}
