//! Chart data for the figures: pure functions from runs and analysis results to the charts of
//! `sphereflow-figures`. Fitted laws and their bands come from the analysis (never refitted
//! here); the only statistics computed here are the mean and spread of a quantity per β.
//!
//! Every figure speaks one visual language:
//! - one colour per meaning, the same in every figure ([`crate::legend`]); series ordered by a
//!   number (β) take shades of one sequential ramp, and so do groups with no meaning of their own;
//! - a run that was to converge but stopped at its cap ([`Run::did_not_converge`]) is drawn as a
//!   ring (points) or marked in red (panels), with a legend entry saying so;
//! - data beyond a chart's fixed range is named in the legend ("above the axis").

use std::collections::BTreeMap;

use sphereflow_analyze::fits::{predict, Fit};
use sphereflow_analyze::theory;
use sphereflow_figures::chart::{Band, Chart, Marker, Reference, Series, Style};
use sphereflow_figures::circle::{CircleGrid, CirclePanel};
use sphereflow_figures::sphere::{SphereGrid, SpherePanel};
use sphereflow_figures::trajectories::Trajectories;
use sphereflow_figures::{ramp, AnyFigure, Colour};
use sphereflow_meanfield::GrowthMeasurement;

use crate::limit::{heaviest_cells, Limit};
use crate::runs::Run;

pub use crate::legend::{
    activation_colour, attention_colour, group_colour, name_of, ARC_MASS, CLUSTER_MASS, REFERENCE,
};

/// Final states: circles on S^1, maps on S^2 (the first run's dimension decides; runs of
/// another dimension are left out). `None` without runs or on higher spheres.
pub fn final_states(title: &str, runs: &[(&Run, String)], columns: usize) -> Option<AnyFigure> {
    let (first, _) = runs.first()?;
    match first.params.model.dim {
        2 => Some(AnyFigure::Circles(CircleGrid {
            title: title.into(),
            columns,
            panels: runs
                .iter()
                .filter(|(r, _)| r.params.model.dim == 2)
                .map(|(r, label)| CirclePanel {
                    title: label.clone(),
                    state: r.result.final_state.clone(),
                    perceptron: Some(r.perceptron.clone()),
                    mark: r.did_not_converge().map(String::from),
                })
                .collect(),
        })),
        3 => Some(AnyFigure::Spheres(SphereGrid {
            title: title.into(),
            panels: runs
                .iter()
                .filter(|(r, _)| r.params.model.dim == 3)
                .map(|(r, label)| SpherePanel {
                    title: label.clone(),
                    state: r.result.final_state.clone(),
                    perceptron: Some(r.perceptron.clone()),
                    clusters: r
                        .result
                        .summary
                        .clusters
                        .iter()
                        .map(|c| (c.centre.clone(), c.mass))
                        .collect(),
                    mark: r.did_not_converge().map(String::from),
                })
                .collect(),
        })),
        _ => None,
    }
}

/// Initial, middle and final state of one run on S^1 (the stored frames closest to those
/// fractions of its time).
pub fn evolution(run: &Run, title: &str) -> Option<AnyFigure> {
    if run.params.model.dim != 2 || run.result.frames.is_empty() {
        return None;
    }
    let frames = &run.result.frames;
    let t_end = frames.last().map_or(0.0, |f| f.1);
    let pick = |fraction: f64| {
        frames
            .iter()
            .min_by(|a, b| {
                (a.1 - fraction * t_end)
                    .abs()
                    .total_cmp(&(b.1 - fraction * t_end).abs())
            })
            .expect("frames")
    };
    let panels = [("initial", 0.0), ("middle", 0.5), ("final", 1.0)]
        .iter()
        .map(|(word, fraction)| {
            let (step, t, state) = pick(*fraction);
            CirclePanel {
                title: format!("{word}: t = {t:.1} (step {step})"),
                state: state.clone(),
                perceptron: Some(run.perceptron.clone()),
                mark: if *word == "final" {
                    run.did_not_converge().map(String::from)
                } else {
                    None
                },
            }
        })
        .collect();
    Some(AnyFigure::Circles(CircleGrid {
        title: title.into(),
        panels,
        columns: 3,
    }))
}

/// θ_i(t) of one run on S^1.
pub fn trajectories(run: &Run, title: &str) -> Option<AnyFigure> {
    if run.params.model.dim != 2 || run.result.frames.len() < 2 {
        return None;
    }
    let title = match run.did_not_converge() {
        Some(note) => format!("{title} ({note})"),
        None => title.to_string(),
    };
    Some(AnyFigure::Trajectories(Trajectories {
        title,
        frames: run
            .result
            .frames
            .iter()
            .map(|(_, t, s)| (*t, s.clone()))
            .collect(),
        perceptron: Some(run.perceptron.clone()),
        shown: 80,
    }))
}

/// Energy against time, one line per run.
pub fn energy(runs: &[(&Run, String)], title: &str) -> Option<AnyFigure> {
    if runs.is_empty() {
        return None;
    }
    let mut chart = Chart::new(title, "time t (layers)", "energy E");
    chart.legend_left = false;
    // Each run in its activation's colour when that tells them apart, else in shades.
    let activations: std::collections::BTreeSet<&str> =
        runs.iter().map(|(r, _)| r.activation().as_str()).collect();
    let by_activation = activations.len() == runs.len();
    for (i, (run, label)) in runs.iter().enumerate() {
        let points = run.result.series.iter().map(|r| (r.t, r.energy)).collect();
        let colour = if by_activation {
            activation_colour(run.activation())
        } else {
            ramp(i, runs.len())
        };
        let label = match run.did_not_converge() {
            Some(note) => format!("{label}: {note}"),
            None => label.clone(),
        };
        chart
            .series
            .push(Series::new(&label, points, Style::Line, colour));
    }
    Some(AnyFigure::Chart(chart))
}

/// Mean and standard deviation of values per β, by increasing β.
pub fn per_beta(points: &[(f64, f64)]) -> Vec<(f64, f64, f64)> {
    let mut by: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for &(beta, v) in points {
        by.entry(beta.to_bits()).or_default().push(v);
    }
    let mut out: Vec<(f64, f64, f64)> = by
        .into_iter()
        .map(|(bits, values)| {
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            (f64::from_bits(bits), mean, var.sqrt())
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// One group of points for [`against_sqrt_beta`]: its label, its `(β, value)` points (one per
/// task), which of them stopped at a cap, and the analysis's fit of `a + b sqrt β` to them, if
/// there is one.
pub struct Group<'a> {
    /// The legend's name of the group (its colour follows it: [`group_colour`]).
    pub label: String,
    /// `(β, value)`, one per task.
    pub points: Vec<(f64, f64)>,
    /// For each point, the note of its run if it did not converge ([`Run::did_not_converge`]);
    /// empty when none is known.
    pub capped: Vec<Option<&'static str>>,
    /// The analysis's `sqrt` fit of these points.
    pub fit: Option<&'a Fit>,
}

/// Mean ± standard deviation over seeds of `(β, value, capped)` points against sqrt β (shifted
/// by `shift`), as two series in one colour: the runs that converged as discs (with the label),
/// and, apart, the runs stopped at their cap as rings (the fits leave them out, so the discs are
/// what a fit is drawn over).
fn per_beta_series(
    label: &str,
    points: &[(f64, f64, bool)],
    shift: f64,
    colour: Colour,
) -> Vec<Series> {
    let of = |capped: bool| {
        per_beta(
            &points
                .iter()
                .filter(|p| p.2 == capped)
                .map(|p| (p.0, p.1))
                .collect::<Vec<_>>(),
        )
    };
    let (converged, capped) = (of(false), of(true));
    let discs: Vec<&(f64, f64, f64)> = converged.iter().collect();
    let rings: Vec<&(f64, f64, f64)> = capped.iter().collect();
    let series_of = |label: &str, stats: &[&(f64, f64, f64)], marker: Marker| {
        let mut series = Series::new(
            label,
            stats
                .iter()
                .map(|&&(b, m, _)| (b.sqrt() + shift, m))
                .collect(),
            Style::PointsWithErrors,
            colour,
        );
        series.errors = stats.iter().map(|&&(_, m, sd)| (m - sd, m + sd)).collect();
        series.marker = marker;
        series
    };
    let mut out = vec![series_of(label, &discs, Marker::Disc)];
    if !rings.is_empty() {
        out.push(series_of("", &rings, Marker::Ring));
    }
    out
}

/// The legend entry of the rings drawn for runs that did not converge, from their notes
/// ([`Run::did_not_converge`]): `ring: <what a ring stands for> did not converge (step cap)`.
/// `None` without notes.
fn cap_legend(notes: impl IntoIterator<Item = &'static str>, ring: &str) -> Option<Series> {
    let mut notes: Vec<&str> = notes.into_iter().collect();
    notes.sort_unstable();
    notes.dedup();
    let text = match notes.as_slice() {
        [] => return None,
        [one] => *one,
        _ => "did not converge (step or time cap)",
    };
    let mut legend = Series::new(
        &format!("ring: {ring}{text}"),
        Vec::new(),
        Style::Points,
        REFERENCE,
    );
    legend.marker = Marker::Ring;
    legend.size = 3;
    Some(legend)
}

/// A quantity against sqrt β per group: mean ± standard deviation over seeds, and the fitted
/// law `a + b sqrt β` with its 95% bootstrap band; β where a run did not converge as rings.
pub fn against_sqrt_beta(groups: &[Group<'_>], title: &str, y_label: &str) -> Chart {
    let mut chart = Chart::new(title, "sqrt β", y_label);
    for (i, group) in groups.iter().enumerate() {
        let colour = group_colour(&group.label, i, groups.len());
        let points: Vec<(f64, f64, bool)> = group
            .points
            .iter()
            .enumerate()
            .map(|(k, &(b, v))| (b, v, group.capped.get(k).is_some_and(Option::is_some)))
            .collect();
        chart.series.extend(per_beta_series(
            &format!("{}: mean ± sd over seeds", group.label),
            &points,
            0.0,
            colour,
        ));
        let Some(fitted) = group.fit else {
            continue;
        };
        let betas: Vec<f64> = (0..=60)
            .map(|k| fitted.beta_min + (fitted.beta_max - fitted.beta_min) * k as f64 / 60.0)
            .collect();
        chart.bands.push(Band {
            label: String::new(),
            points: fitted
                .band(&betas)
                .into_iter()
                .map(|(b, lo, hi)| (b.sqrt(), lo, hi))
                .collect(),
            colour,
        });
        chart.series.push(Series::new(
            &format!(
                "{}: fit {:.2} + {:.2} sqrt β, slope {}",
                group.label,
                fitted.prefactor,
                fitted.exponent,
                fitted.interval_text(2)
            ),
            betas
                .iter()
                .map(|&b| (b.sqrt(), predict(fitted, b)))
                .collect(),
            Style::Line,
            colour,
        ));
    }
    chart.series.extend(cap_legend(
        groups
            .iter()
            .flat_map(|g| g.capped.iter().flatten().copied()),
        "mean of the runs that ",
    ));
    chart
}

/// The top of the mass charts' y axis.
const MASS_TOP: f64 = 1.05;

/// The sqrt β ranges where `curve` (`(sqrt β, B)`) is above `top`, as text.
fn above_ranges(curve: &[(f64, f64)], top: f64) -> String {
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    let mut open: Option<(f64, f64)> = None;
    for &(s, b) in curve {
        match (b > top, open) {
            (true, None) => open = Some((s, s)),
            (true, Some((start, _))) => open = Some((start, s)),
            (false, Some(range)) => {
                ranges.push(range);
                open = None;
            }
            (false, None) => {}
        }
    }
    ranges.extend(open);
    ranges
        .iter()
        .map(|(a, b)| format!("sqrt β {a:.2}–{b:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest cluster mass and window mass against sqrt β (β where a run did not converge as
/// rings), with B(β, C_eff) and its limit; where B is above the axis, its legend entry says so.
/// A certified run is drawn from its certificate's atoms (the heaviest atom, and the heaviest set
/// of two or more atoms within the arc), as the theorem measures it; any other from its end
/// state's clusters and particles.
pub fn masses(runs: &[&Run], title: &str) -> Chart {
    let measured = |r: &Run| {
        let summary = &r.result.summary.summary;
        r.result
            .summary
            .certificate
            .as_ref()
            .and_then(|c| theory::certified_masses(c, r.beta(), r.params.measure.heavy_mass))
            .map_or((summary.max_cluster_mass, summary.max_window_mass), |m| {
                (m.0, m.1)
            })
    };
    let cluster: Vec<(f64, f64, bool)> = runs
        .iter()
        .map(|r| (r.beta(), measured(r).0, r.did_not_converge().is_some()))
        .collect();
    let window: Vec<(f64, f64, bool)> = runs
        .iter()
        .map(|r| (r.beta(), measured(r).1, r.did_not_converge().is_some()))
        .collect();
    let mut chart = Chart::new(title, "sqrt β", "mass (fraction of the total)");
    chart.legend_left = false;
    // The two series side by side at each β (they often coincide).
    for (label, points, shift, colour) in [
        ("largest cluster mass", &cluster, -0.04, CLUSTER_MASS),
        (
            "largest window mass (arc 0.5/sqrt β)",
            &window,
            0.04,
            ARC_MASS,
        ),
    ] {
        chart
            .series
            .extend(per_beta_series(label, points, shift, colour));
    }
    // B in the theorem's convention (C_eff = e^β C for the shifted kernel), for the largest C
    // among the runs; above 1 the theorem says nothing, and above the axis the legend says where.
    let c = runs
        .iter()
        .map(|r| theory::perceptron_constant(&r.perceptron))
        .fold(0.0, f64::max);
    let kernel = runs.first().map(|r| r.params.model.kernel);
    let betas: Vec<f64> = per_beta(&cluster.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>())
        .iter()
        .map(|p| p.0)
        .collect();
    if let (Some(&lo), Some(&hi), Some(kernel)) = (betas.first(), betas.last(), kernel) {
        let curve: Vec<(f64, f64)> = (0..=200)
            .map(|k| lo.sqrt() + (hi.sqrt() - lo.sqrt()) * k as f64 / 200.0)
            .map(|s| {
                let beta = s * s;
                (
                    s,
                    theory::mass_bound(beta, theory::effective_constant(kernel, beta, c)),
                )
            })
            .collect();
        let smallest = curve.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let name = format!("B(β, C_eff), C = {c:.2}");
        let label = if curve.iter().all(|p| p.1 > MASS_TOP) {
            format!("{name}: above the axis at every β (B ≥ {smallest:.2})")
        } else if curve.iter().any(|p| p.1 > MASS_TOP) {
            format!(
                "{name}: above the axis at {}",
                above_ranges(&curve, MASS_TOP)
            )
        } else {
            name
        };
        chart
            .series
            .push(Series::new(&label, curve, Style::Line, REFERENCE));
    }
    chart.references.push(Reference {
        y: theory::bound_limit(),
        label: "limit 0.5742".into(),
        colour: REFERENCE,
    });
    chart.series.extend(cap_legend(
        runs.iter().filter_map(|r| r.did_not_converge()),
        "mean of the runs that ",
    ));
    chart.y_range = Some((0.0, MASS_TOP));
    chart
}

/// Every final cluster mass against sqrt β, one series per group (runs that did not converge
/// as rings).
pub fn all_masses(groups: &[(String, Vec<&Run>)], title: &str) -> Chart {
    let mut chart = Chart::new(title, "sqrt β", "cluster mass");
    chart.log_y = true;
    chart.legend_left = false;
    for (i, (label, runs)) in groups.iter().enumerate() {
        let colour = group_colour(label, i, groups.len());
        let points = |capped: bool| -> Vec<(f64, f64)> {
            runs.iter()
                .filter(|r| r.did_not_converge().is_some() == capped)
                .flat_map(|r| {
                    let s = r.beta().sqrt();
                    r.result.summary.clusters.iter().map(move |c| (s, c.mass))
                })
                .collect()
        };
        let mut series = Series::new(label, points(false), Style::Points, colour);
        series.size = 3;
        chart.series.push(series);
        let rings = points(true);
        if !rings.is_empty() {
            let mut series = Series::new("", rings, Style::Points, colour);
            series.size = 3;
            series.marker = Marker::Ring;
            chart.series.push(series);
        }
    }
    chart.series.extend(cap_legend(
        groups
            .iter()
            .flat_map(|g| g.1.iter().filter_map(|r| r.did_not_converge())),
        "",
    ));
    chart
}

/// γ_k = k² I_k(β)/β against k, normalized per β, with k* marked; the rates `measured` on the
/// mean-field density as small dots and the first-plateau cluster counts of particle runs
/// (`counts`: β and the counts of its runs) as large dots on their β's curve.
pub fn growth_rates(
    betas: &[f64],
    measured: &[GrowthMeasurement],
    counts: &[(f64, Vec<usize>)],
    title: &str,
) -> Chart {
    let mut chart = Chart::new(title, "mode k", "γ_k / max_k γ_k, with γ_k = k² I_k(β) / β");
    chart.legend_left = false;
    let k_max = 16;
    for (i, &beta) in betas.iter().enumerate() {
        let colour = ramp(i, betas.len());
        let rates = theory::growth_rates(beta, k_max);
        let top = rates.iter().copied().fold(0.0, f64::max);
        let points: Vec<(f64, f64)> = rates
            .iter()
            .enumerate()
            .map(|(k, g)| ((k + 1) as f64, g / top))
            .collect();
        let k_star = theory::unstable_mode(beta);
        // A plain line: the dots on it are measurements and counts only.
        chart.series.push(Series::new(
            &format!("β = {beta}: k* = {k_star}"),
            points,
            Style::Line,
            colour,
        ));
        let mut marker = Series::new("", vec![(k_star as f64, 1.0)], Style::Points, colour);
        marker.size = 9;
        chart.series.push(marker);
        // The particle runs' first-plateau counts, on the curve at their mode.
        let on_curve: Vec<(f64, f64)> = counts
            .iter()
            .filter(|(b, _)| *b == beta)
            .flat_map(|(_, c)| c.iter())
            .filter(|&&k| (1..=k_max).contains(&k))
            .map(|&k| (k as f64, rates[k - 1] / top))
            .collect();
        if !on_curve.is_empty() {
            let mut series = Series::new("", on_curve, Style::Points, colour);
            series.size = 7;
            chart.series.push(series);
        }
        // The rates measured on the mean-field solution, on the same scale.
        let dots: Vec<(f64, f64)> = measured
            .iter()
            .filter(|m| m.beta == beta)
            .map(|m| (m.mode as f64, m.measured / top))
            .collect();
        if !dots.is_empty() {
            let mut series = Series::new("", dots, Style::Points, colour);
            series.size = 5;
            chart.series.push(series);
        }
    }
    if !counts.is_empty() {
        let mut legend = Series::new(
            "large dots: first-plateau cluster counts of ascent null runs",
            Vec::new(),
            Style::Points,
            REFERENCE,
        );
        legend.size = 7;
        chart.series.push(legend);
    }
    if !measured.is_empty() {
        // One legend entry for every measured dot (drawn in its β's colour).
        let mut legend = Series::new(
            "small dots: rates measured on the mean-field density",
            Vec::new(),
            Style::Points,
            REFERENCE,
        );
        legend.size = 5;
        chart.series.push(legend);
    }
    // Room above the curves (which peak at 1) for the legend.
    chart.y_range = Some((0.0, 1.85));
    chart
}

/// Convergence time against the perceptron scale (log axis), one line per attention; the runs
/// without perceptron (scale 0) as reference lines.
pub fn convergence(runs: &[&Run], title: &str) -> Chart {
    // (scale, t_final, did not converge) per attention.
    let mut by: BTreeMap<String, Vec<(f64, f64, bool)>> = BTreeMap::new();
    for r in runs {
        by.entry(r.params.model.attention.as_str().to_uppercase())
            .or_default()
            .push((
                r.params.perceptron.scale,
                r.result.summary.summary.t_final,
                r.did_not_converge().is_some(),
            ));
    }
    let mut chart = Chart::new(
        title,
        "perceptron scale (std of the output weights s_j)",
        "convergence time t_final (layers)",
    );
    chart.log_x = true;
    chart.legend_left = false;
    for (i, (label, mut points)) in by.into_iter().enumerate() {
        let colour = group_colour(&format!("attention={label}"), i, 2);
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(&(_, t, _)) = points.iter().find(|p| p.0 == 0.0) {
            chart.references.push(Reference {
                y: t,
                label: format!("{label} without perceptron (scale 0)"),
                colour,
            });
        }
        points.retain(|p| p.0 > 0.0);
        chart.series.push(Series::new(
            &label,
            points.iter().map(|p| (p.0, p.1)).collect(),
            Style::Line,
            colour,
        ));
        for marker in [Marker::Disc, Marker::Ring] {
            let marked: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.2 == (marker == Marker::Ring))
                .map(|p| (p.0, p.1))
                .collect();
            if !marked.is_empty() {
                let mut series = Series::new("", marked, Style::Points, colour);
                series.size = 4;
                series.marker = marker;
                chart.series.push(series);
            }
        }
    }
    let capped = runs
        .iter()
        .filter(|r| r.did_not_converge().is_some())
        .map(|r| r.result.summary.summary.t_final)
        .fold(f64::NAN, f64::max);
    if capped.is_finite() {
        chart.references.push(Reference {
            y: capped,
            label: "step cap: runs here did not meet the stopping rule".into(),
            colour: REFERENCE,
        });
    }
    chart.series.extend(cap_legend(
        runs.iter().filter_map(|r| r.did_not_converge()),
        "",
    ));
    // Room above the data for the legend.
    let top = runs
        .iter()
        .map(|r| r.result.summary.summary.t_final)
        .fold(0.0, f64::max);
    chart.y_range = Some((0.0, 1.45 * top.max(1e-9)));
    chart
}

/// W1 between the particles and the mean-field density against n (log-log): every run, the
/// mean per n, the fitted `C n^α` with its bootstrap band, and the line `n^{-1/2}` through the
/// mean at the smallest n.
pub fn limit_distance(limit: &Limit, title: &str) -> Chart {
    let mut chart = Chart::new(
        title,
        "particles n",
        &format!(
            "W1(μ_n(t), ρ(t)) at t = {} ({} cells)",
            limit.t, limit.cells
        ),
    );
    chart.log_x = true;
    chart.log_y = true;
    chart.legend_left = false;
    let points: Vec<(f64, f64)> = limit
        .points
        .iter()
        .map(|p| (p.particles as f64, p.w1))
        .collect();
    let stats = per_beta(&points);
    let colour = activation_colour(limit.activation);
    if let Some(fit) = &limit.fit {
        let xs: Vec<f64> = stats.iter().map(|p| p.0).collect();
        let band = fit.band(&xs);
        if !band.is_empty() {
            chart.bands.push(Band {
                label: String::new(),
                points: band,
                colour,
            });
        }
        chart.series.push(Series::new(
            &format!(
                "fit C n^α: α = {:.3} {}",
                fit.exponent,
                fit.interval_text(3)
            ),
            xs.iter().map(|&n| (n, predict(fit, n))).collect(),
            Style::Line,
            colour,
        ));
    }
    chart
        .series
        .push(Series::new("each run", points, Style::Points, colour));
    let mut means = Series::new(
        "mean over seeds",
        stats.iter().map(|&(n, m, _)| (n, m)).collect(),
        Style::Points,
        colour,
    );
    means.size = 6;
    chart.series.push(means);
    if let (Some(&(n0, m0, _)), Some(&(n1, _, _))) = (stats.first(), stats.last()) {
        chart.series.push(Series::new(
            "n^(-1/2)",
            [n0, n1]
                .iter()
                .map(|&n| (n, m0 * (n0 / n).sqrt()))
                .collect(),
            Style::Dashed,
            REFERENCE,
        ));
    }
    chart
}

/// The mass of the density's heaviest cell and of its heaviest cluster of cells against the
/// number of cells M (log x), with the particles' largest cluster mass (mean over their runs) as
/// a reference: a density that has formed atoms keeps its heaviest cell's mass as M grows.
pub fn heaviest_cells_chart(densities: &[&Run], particles: &[&Run], title: &str) -> Chart {
    let mut chart = Chart::new(title, "cells M", "mass (fraction of the total)");
    chart.log_x = true;
    chart.legend_left = false;
    let mut rows: Vec<(f64, f64, f64)> = densities
        .iter()
        .filter_map(|r| {
            let cells = r
                .result
                .summary
                .spec
                .parameters
                .get("meanfield.cells")?
                .as_f64()?;
            let heaviest = *heaviest_cells(r, 1).first()?;
            Some((cells, heaviest, r.result.summary.summary.max_cluster_mass))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart.series.push(Series::new(
        "heaviest cell of the density",
        rows.iter().map(|r| (r.0, r.1)).collect(),
        Style::LinePoints,
        ARC_MASS,
    ));
    chart.series.push(Series::new(
        "heaviest cluster of cells",
        rows.iter().map(|r| (r.0, r.2)).collect(),
        Style::LinePoints,
        CLUSTER_MASS,
    ));
    if let Some(&(first, heaviest, _)) = rows.first() {
        chart.series.push(Series::new(
            "a smooth density's heaviest cell (∝ 1/M)",
            rows.iter().map(|r| (r.0, heaviest * first / r.0)).collect(),
            Style::Dashed,
            REFERENCE,
        ));
    }
    // Room above the lines for the legend.
    let top = rows.iter().map(|r| r.1.max(r.2)).fold(0.0f64, f64::max);
    chart.y_range = Some((0.0, 1.5 * top.max(1e-9)));
    if !particles.is_empty() {
        let mean = particles
            .iter()
            .map(|r| r.result.summary.summary.max_cluster_mass)
            .sum::<f64>()
            / particles.len() as f64;
        chart.references.push(Reference {
            y: mean,
            label: format!(
                "particles' largest cluster (mean of {} runs, n = {})",
                particles.len(),
                particles[0].params.model.particles
            ),
            colour: CLUSTER_MASS,
        });
    }
    chart
}
