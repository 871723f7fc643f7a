//! The claims table, the figures and the report of a small, fixed reproduction: tiny versions
//! of the paper's sweeps run once into a temporary store, analyzed and judged, against
//! snapshots; the figures' numbering, colours, marks and ranges; and the HTML report as a
//! browser shows it (headless Chromium).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use sphereflow_analyze::{analyze, AnalyzeOptions};
use sphereflow_exec::{run, RunOptions, Store};
use sphereflow_figures::chart::{outside_y_range, Chart, Marker};
use sphereflow_figures::{AnyFigure, Colour};
use sphereflow_paper::legend::{activation_colour, attention_colour, ARC_MASS, CLUSTER_MASS};
use sphereflow_paper::report::{self, Context};
use sphereflow_paper::{
    claims, finished_runs, paper_figures, sweep_figures, PaperFigure, Results, SweepResults,
    Verdict,
};
use sphereflow_plan::{Plan, PlanOptions, Sweep};
use sphereflow_solver::Activation;

/// Tiny versions of the paper's sweeps: 24 particles on S^1, a few hundred steps.
const SWEEPS: &[(&str, &str)] = &[
    (
        "s1_beta",
        "[model]\nparticles = 24\n[stop]\nmax_steps = 400\n[grid]\nmodel.beta = [1, 10]\n\
         perceptron.activation = [\"relu\", \"none\"]\n",
    ),
    (
        "side_by_side",
        "[model]\nparticles = 24\n[stop]\nmax_steps = 400\n[grid]\n\
         model.attention = [\"usa\", \"sa\"]\nmodel.regime = [\"ascent\", \"descent\"]\n\
         perceptron.activation = [\"relu\", \"none\"]\n",
    ),
    (
        "perceptron_scale",
        "[model]\nparticles = 24\nbeta = 10\n[stop]\nmax_steps = 400\n[grid]\n\
         model.attention = [\"usa\", \"sa\"]\nperceptron.scale = [0, 1]\n",
    ),
    (
        "bound",
        "[model]\nparticles = 24\nkernel = \"shifted\"\n[perceptron]\nwidth = 2\n\
         scale_mode = \"norm\"\n[stop]\nmax_steps = 400\ncertify = true\n[grid]\n\
         model.beta = [20]\nperceptron.scale = [0.01, 1]\n",
    ),
    (
        "null_ascent",
        "[model]\nparticles = 2000\nregime = \"ascent\"\nkernel = \"shifted\"\n[perceptron]\n\
         activation = \"none\"\n[stop]\nmax_steps = 2000\n[grid]\nmodel.beta = [5]\n",
    ),
    (
        "meanfield_limit",
        "[model]\nbeta = 5\nkernel = \"shifted\"\n[perceptron]\nseed = 777\n\
         [integrator]\nmethod = \"rk4\"\ndt = 0.05\n[stop]\nt_max = 2\ndrift_tol = 0\n\
         max_steps = 1000\ncheck_every = 1000\n[meanfield]\ncells = 512\nt_end = 2\n\
         snapshots = 3\n[grid]\nmodel.solver = [\"particles\", \"meanfield\"]\n\
         model.particles = [100, 1000, 10000]\ninit.seed = { range = [0, 2] }\n\
         [[grid.exclude]]\nmodel.solver = \"meanfield\"\nmodel.particles = [1000, 10000]\n\
         [[grid.exclude]]\nmodel.solver = \"meanfield\"\ninit.seed = [1]\n",
    ),
    (
        "many_seeds",
        "[model]\nparticles = 24\n[stop]\nmax_steps = 7000\n[grid]\nmodel.beta = [1, 4, 9]\n\
         perceptron.activation = [\"relu\", \"none\"]\ninit.seed = { range = [1, 4] }\n\
         perceptron.seed = [777, 779]\n[[grid.exclude]]\nperceptron.activation = \"none\"\n\
         perceptron.seed = 779\n",
    ),
];

fn results(store: &Store) -> Results {
    let mut results = Results::new();
    for (name, text) in SWEEPS {
        let sweep = Sweep::parse(text, &format!("{name}.toml"), Path::new("."), name).unwrap();
        let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
        let options = RunOptions {
            jobs: 2,
            ..RunOptions::default()
        };
        let report = run(&plan, store, &options, &|_| {}, &AtomicBool::new(false)).unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        let analysis = analyze(&plan, Some(store), &AnalyzeOptions::default()).unwrap();
        let runs = finished_runs(&plan, Some(store)).unwrap();
        assert_eq!(runs.len(), plan.tasks.len());
        results.insert(
            (*name).to_string(),
            SweepResults {
                plan,
                analysis,
                runs,
            },
        );
    }
    results
}

/// The fixed reproduction, run once for every test of this file.
struct Fixture {
    /// The store's folder, removed at exit.
    _dir: tempfile::TempDir,
    results: Results,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let results = results(&store);
        Fixture { _dir: dir, results }
    })
}

/// The report's context in these tests.
fn context() -> Context {
    Context {
        profile: "quick".into(),
        version: "0.1.0".into(),
        solver_rev: 4,
        commit: Some("0123456789abcdef".into()),
        threads: 2,
        host: "testhost".into(),
        computed: 39,
        cached: 0,
        failed: 0,
        elapsed_s: 12.0,
        store: "results/store".into(),
    }
}

/// The charts among figures, with their file names.
fn charts(figures: &[PaperFigure]) -> Vec<(&str, &Chart)> {
    figures
        .iter()
        .filter_map(|f| match &f.figure {
            AnyFigure::Chart(chart) => Some((f.name.as_str(), chart)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_claims_and_the_report_of_a_fixed_reproduction() {
    let results = &fixture().results;
    let claims = claims(results);
    // Every claim whose sweep ran is there, each with a verdict the report can print.
    assert_eq!(claims.len(), 11, "{claims:#?}");
    assert!(claims.iter().any(|c| c.verdict == Verdict::NoVerdict));
    // The bound is tested on the one task that meets every hypothesis (the weak perceptron,
    // certified SOPD at β = 20), and holds; the strong perceptron's B is above 1 there.
    let bound = claims.iter().find(|c| c.claim.contains("0.5742")).unwrap();
    assert_eq!(
        (bound.tested, bound.verdict),
        (1, Verdict::Holds),
        "{bound:#?}"
    );
    assert!(bound.failing.is_empty());
    let reasons: std::collections::BTreeMap<&str, usize> = bound
        .not_tested
        .iter()
        .map(|(r, n)| (r.as_str(), *n))
        .collect();
    assert_eq!(
        reasons.get("B ≥ 1 (C_eff = e^β C for the shifted kernel)"),
        Some(&1)
    );
    assert!(reasons.get("β < 19").is_some_and(|n| *n > 0), "{reasons:?}");
    // Descent null runs spread: never compared with k*; the ascent null run (n = 2000) is,
    // on the first plateau of its count.
    let k_star = claims.iter().find(|c| c.claim.contains("k*(β)")).unwrap();
    assert_eq!(k_star.tested, 1, "{k_star:#?}");
    assert_ne!(k_star.verdict, Verdict::NotTested);
    assert!(k_star.measured.contains("β = 5: k* = 3"), "{k_star:#?}");
    assert!(
        k_star
            .not_tested
            .iter()
            .all(|(reason, _)| !reason.starts_with("no plateau")),
        "{k_star:#?}"
    );
    assert!(
        k_star
            .not_tested
            .iter()
            .any(|(r, _)| r.starts_with("descent")),
        "{k_star:#?}"
    );
    assert!(k_star.measured.contains("1/1 exactly k*"), "{k_star:#?}");
    // Ascent: the theory is for USA, so the SA run is not tested, and no run counts against it.
    let ascent = claims
        .iter()
        .find(|c| c.claim.starts_with("Ascent's maximisers"))
        .unwrap();
    assert_eq!(ascent.tested, 1, "{ascent:#?}");
    assert!(
        ascent
            .not_tested
            .iter()
            .any(|(r, n)| r.starts_with("SA") && *n == 1),
        "{ascent:#?}"
    );
    assert!(ascent.failing.is_empty());
    // Spread null runs: their end is compared with their start.
    let spread = claims
        .iter()
        .find(|c| c.claim.contains("null runs spread"))
        .unwrap();
    assert!(spread.measured.contains("at the start"), "{spread:#?}");
    assert!(
        spread
            .measured
            .contains(&format!("of {} runs", spread.tested)),
        "{spread:#?}"
    );
    // Particles against the density: the W1 rate fitted over n = 100 to 10^4, 2 seeds each.
    let limit = claims
        .iter()
        .find(|c| c.claim.contains("mean-field density like"))
        .unwrap();
    assert_eq!(limit.tested, 6, "{limit:#?}");
    assert!(limit.measured.contains("n = 100 to 10000"), "{limit:#?}");
    let growth = claims
        .iter()
        .find(|c| c.claim.contains("grows at γ_k"))
        .unwrap();
    assert_eq!((growth.tested, growth.verdict), (40, Verdict::Holds));
    // The cluster count per perceptron draw, with how many clusters lie where no neuron acts
    // at the draw's largest β (mean over its converged runs), counted here from the runs.
    let count = claims
        .iter()
        .find(|c| c.claim.starts_with("The cluster count grows"))
        .unwrap();
    assert!(count.measured.contains("2 perceptron draws"), "{count:#?}");
    for seed in [777u64, 779] {
        let runs: Vec<_> = results["many_seeds"]
            .runs
            .iter()
            .filter(|r| {
                r.activation() == Activation::Relu
                    && r.params.perceptron.seed == seed
                    && r.beta() == 9.0
                    && !r.result.summary.summary.stop_reason.hit_cap()
            })
            .collect();
        assert!(!runs.is_empty(), "seed {seed}");
        let clusters = &|r: &&sphereflow_paper::runs::Run| r.result.summary.clusters.len();
        let off = |r: &&sphereflow_paper::runs::Run| {
            r.result
                .summary
                .clusters
                .iter()
                .filter(|c| !r.perceptron.acts_at(&c.centre))
                .count()
        };
        let mean = |f: &dyn Fn(&&sphereflow_paper::runs::Run) -> usize| {
            runs.iter().map(f).sum::<usize>() as f64 / runs.len() as f64
        };
        let expected = format!(
            "at β = 9, {:.1} of {:.1} clusters lie where no neuron acts",
            mean(&off),
            mean(clusters)
        );
        assert!(count.measured.contains(&expected), "{expected}: {count:#?}");
    }
    insta::assert_snapshot!("claims", report::claims_table(&claims, "results/store"));
    let figures = paper_figures(results);
    let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fig1_s1_final",
            "fig1_s1_evolution",
            "fig3_trajectories",
            "fig4_energy",
            "fig1_side_by_side",
            "fig5_clusters",
            "fig6_masses",
            "fig6_bound",
            "fig7_all_masses",
            "fig8_growth_rates",
            "fig9_convergence",
            "fig10_limit",
        ]
    );
    let markdown = report::markdown(&context(), results, &claims, &figures);
    insta::assert_snapshot!("report", markdown);
    // The HTML page inlines each figure the Markdown names, through the reader it is given.
    let html = report::html(&markdown, &|target| {
        assert!(target.starts_with("figures/fig"), "{target}");
        Some(vec![1, 2, 3])
    });
    assert_eq!(
        html.matches("data:image/png;base64,AQID").count(),
        figures.len()
    );
    assert!(html.contains("<h2>Claims</h2>"));
}

#[test]
fn figures_are_numbered_once_in_the_order_the_report_shows_them() {
    let figures = paper_figures(&fixture().results);
    for (i, figure) in figures.iter().enumerate() {
        let number = format!("Figure {}. ", i + 1);
        let title = match &figure.figure {
            AnyFigure::Chart(f) => &f.title,
            AnyFigure::Circles(f) => &f.title,
            AnyFigure::Spheres(f) => &f.title,
            AnyFigure::Trajectories(f) => &f.title,
        };
        for (what, text) in [("title", title), ("caption", &figure.caption)] {
            assert!(
                text.starts_with(&number),
                "{}: the {what} {text:?} does not start with {number:?}",
                figure.name
            );
            assert_eq!(
                text.matches("Figure").count(),
                1,
                "{}: {what} {text:?}",
                figure.name
            );
        }
    }
    // The report names each number once, in order: the caption under each image.
    let markdown = report::markdown(&context(), &fixture().results, &[], &figures);
    let mut previous = 0;
    for i in 1..=figures.len() {
        let number = format!("Figure {i}. ");
        assert_eq!(markdown.matches(&number).count(), 1, "{number}");
        let at = markdown.find(&number).unwrap();
        assert!(at > previous, "{number} out of order");
        previous = at;
    }
}

/// What a legend entry means, for the meanings that have one colour everywhere.
fn meaning(label: &str) -> Option<&'static str> {
    const MEANINGS: &[(&str, &str)] = &[
        ("ReLU", "ReLU"),
        ("GeLU", "GeLU"),
        ("null run", "null run"),
        ("USA", "USA"),
        ("SA", "SA"),
        ("activation=relu", "ReLU"),
        ("activation=gelu", "GeLU"),
        ("activation=none", "null run"),
        ("attention=usa", "USA"),
        ("attention=sa", "SA"),
        ("largest cluster mass", "largest cluster mass"),
        ("largest window mass", "largest window mass"),
    ];
    MEANINGS.iter().find_map(|&(prefix, meaning)| {
        let rest = label.strip_prefix(prefix)?;
        // `key=value` alone names a group; with other words it is a combination.
        let ends = if prefix.contains('=') {
            &[':'][..]
        } else {
            &[':', ',', ' '][..]
        };
        (rest.is_empty() || rest.starts_with(ends)).then_some(meaning)
    })
}

#[test]
fn each_meaning_has_one_colour_in_every_figure() {
    let results = &fixture().results;
    let mut figures = paper_figures(results);
    for (name, sweep) in results {
        figures.extend(sweep_figures(name, &sweep.runs, &sweep.analysis));
    }
    let expected: BTreeMap<&str, Colour> = [
        ("ReLU", activation_colour(Activation::Relu)),
        ("GeLU", activation_colour(Activation::Gelu)),
        ("null run", activation_colour(Activation::None)),
        ("USA", attention_colour("usa").unwrap()),
        ("SA", attention_colour("sa").unwrap()),
        ("largest cluster mass", CLUSTER_MASS),
        ("largest window mass", ARC_MASS),
    ]
    .into_iter()
    .collect();
    let distinct: BTreeSet<Colour> = expected.values().copied().collect();
    assert_eq!(
        distinct.len(),
        expected.len(),
        "two meanings share a colour"
    );
    let mut seen: BTreeMap<&str, BTreeSet<(Colour, String)>> = BTreeMap::new();
    for (name, chart) in charts(&figures) {
        let labelled = chart
            .series
            .iter()
            .map(|s| (s.label.as_str(), s.colour))
            .chain(
                chart
                    .references
                    .iter()
                    .map(|r| (r.label.as_str(), r.colour)),
            );
        for (label, colour) in labelled {
            if let Some(meaning) = meaning(label) {
                seen.entry(meaning)
                    .or_default()
                    .insert((colour, format!("{name}: {label}")));
            }
        }
    }
    for meaning in ["ReLU", "null run", "USA", "SA", "largest cluster mass"] {
        assert!(seen.contains_key(meaning), "no chart shows {meaning}");
    }
    for (meaning, uses) in &seen {
        for (colour, place) in uses {
            assert_eq!(
                *colour, expected[meaning],
                "{place}: {meaning} in {colour:?}, elsewhere {:?}",
                expected[meaning]
            );
        }
    }
}

#[test]
fn runs_that_did_not_converge_are_marked() {
    let results = &fixture().results;
    let figures = paper_figures(results);
    let figure = |name: &str| &figures.iter().find(|f| f.name == name).unwrap().figure;
    // Panels: one red mark per run that stopped at its cap.
    let side = &results["side_by_side"].runs;
    let capped = side
        .iter()
        .filter(|r| r.did_not_converge().is_some())
        .count();
    assert!(capped > 0, "the fixture has runs stopped at their step cap");
    let AnyFigure::Circles(grid) = figure("fig1_side_by_side") else {
        panic!("circles")
    };
    let marks: Vec<&str> = grid
        .panels
        .iter()
        .filter_map(|p| p.mark.as_deref())
        .collect();
    assert_eq!(marks.len(), capped, "{marks:?}");
    assert!(marks
        .iter()
        .all(|m| m.contains("did not converge (step cap)")));
    // Points: rings, with a legend entry saying what a ring is.
    for name in ["fig5_clusters", "fig6_masses", "fig7_all_masses"] {
        let AnyFigure::Chart(chart) = figure(name) else {
            panic!("{name} is a chart")
        };
        let rings = chart
            .series
            .iter()
            .filter(|s| s.marker == Marker::Ring && !s.points.is_empty())
            .count();
        assert!(rings > 0, "{name}: no rings");
        assert!(
            chart
                .series
                .iter()
                .any(|s| s.marker == Marker::Ring && s.label.contains("did not converge")),
            "{name}: no legend entry for the rings"
        );
    }
    let AnyFigure::Chart(convergence) = figure("fig9_convergence") else {
        panic!("a chart")
    };
    let capped = results["perceptron_scale"]
        .runs
        .iter()
        .filter(|r| r.params.perceptron.scale > 0.0 && r.did_not_converge().is_some())
        .count();
    let rings: usize = convergence
        .series
        .iter()
        .filter(|s| s.marker == Marker::Ring)
        .map(|s| s.points.len())
        .sum();
    assert_eq!(rings, capped);
}

#[test]
fn data_beyond_a_fixed_range_is_named_in_the_legend() {
    let figures = paper_figures(&fixture().results);
    for (name, chart) in charts(&figures) {
        for label in outside_y_range(chart) {
            assert!(
                label.contains("above the axis") || label.contains("below the axis"),
                "{name}: {label:?} leaves the chart without saying so"
            );
        }
    }
    // The authors' runs: B(β, C_eff) is about 4, above the axis at every β.
    let masses = charts(&figures)
        .into_iter()
        .find(|(name, _)| *name == "fig6_masses")
        .unwrap()
        .1;
    let bound = masses
        .series
        .iter()
        .find(|s| s.label.starts_with("B(β"))
        .unwrap();
    assert!(
        bound.label.contains("above the axis at every β"),
        "{}",
        bound.label
    );
}

#[test]
fn the_trajectory_figure_s_run_keeps_hundreds_of_snapshots() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sweeps/paper/s1_beta.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let sweep = Sweep::parse(&text, "s1_beta.toml", file.parent().unwrap(), "s1_beta").unwrap();
    for sweep in [sweep.clone(), sweep.with_profile("quick").unwrap()] {
        let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
        // The run fig3_trajectories draws: ReLU at β = 10.
        let run = plan
            .tasks
            .iter()
            .map(|task| plan.resolve(task).unwrap().params)
            .find(|p| p.perceptron.activation == Activation::Relu && p.model.beta == 10.0)
            .unwrap();
        // At least half of `measure.frames` evenly spaced snapshots are kept.
        assert!(run.measure.frames >= 400, "{}", run.measure.frames);
    }
}

/// The report's text as a reader sees it: the tags of an HTML document dropped, entities
/// decoded, whitespace collapsed (attributes, such as an image's alternative text, are not
/// shown).
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let tag = &rest[start..];
        // Skip style and script elements whole.
        let skip_to = ["style", "script"]
            .iter()
            .find(|name| tag.starts_with(&format!("<{name}")))
            .and_then(|name| {
                tag.find(&format!("</{name}>"))
                    .map(|end| end + name.len() + 3)
            });
        let end = skip_to.unwrap_or_else(|| tag.find('>').map_or(tag.len(), |end| end + 1));
        text.push(' ');
        rest = &tag[end..];
    }
    text.push_str(rest);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The report with real figures: its Markdown, its HTML page (figures rendered as PNG), and
/// the figures.
fn rendered_report() -> (String, String, Vec<PaperFigure>) {
    let results = &fixture().results;
    let claims = claims(results);
    let figures = paper_figures(results);
    let markdown = report::markdown(&context(), results, &claims, &figures);
    let pngs: BTreeMap<String, Vec<u8>> = figures
        .iter()
        .map(|f| {
            let png = sphereflow_figures::render(&f.figure).unwrap().png;
            (format!("figures/{}.png", f.name), png)
        })
        .collect();
    let html = report::html(&markdown, &|target| pngs.get(target).cloned());
    (markdown, html, figures)
}

/// What the report must show, checked on its visible text.
fn check_report_text(text: &str, figures: &[PaperFigure]) {
    for must in [
        "Claims",
        "hypotheses",
        "verdict",
        "No set of two or more atoms within 1/(2 sqrt β) of each other holds more than B(β, C_eff) of the mass",
        "Fits",
        "Sweeps",
    ] {
        assert!(text.contains(must), "{must:?} missing from the report");
    }
    for raw in ["`", "**", "|---", "![", "## "] {
        assert!(!text.contains(raw), "raw Markdown {raw:?} in the report");
    }
    for figure in figures {
        // The caption as shown: the Markdown's inline code rendered.
        let caption = figure.caption.replace('`', "");
        let caption = caption.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            text.matches(&caption).count(),
            1,
            "{}: its caption is not shown exactly once",
            figure.name
        );
    }
}

#[test]
fn the_html_report_renders_its_markdown() {
    let (_, html, figures) = rendered_report();
    check_report_text(&visible_text(&html), &figures);
    assert_eq!(html.matches("<figure>").count(), figures.len());
    assert_eq!(html.matches("<figcaption>").count(), figures.len());
    // Header rows are headers: the claims, fits and sweeps tables.
    assert_eq!(html.matches("<table>").count(), 3);
    assert!(
        html.contains("<tr><th>claim</th><th>hypotheses</th>"),
        "{html:.2000}"
    );
    assert!(html.contains("<code>"));
}

/// The headless Chromium (or Chrome) on the `PATH`, or a failure saying how to get one.
fn chromium() -> PathBuf {
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no chromium on the PATH (looked for {}): this test opens the HTML report in a \
                 headless browser; install it (Debian: apt-get install -y chromium), as .ci/run does",
                names.join(", ")
            )
        })
}

/// Runs the browser on a page with `arguments`, for at most two minutes; its standard output
/// (written to files beside `profile`: a page's DOM is larger than a pipe holds).
fn browse(browser: &Path, profile: &Path, arguments: &[String], page: &Path) -> String {
    use std::process::Command;
    let out = profile.with_extension("stdout");
    let err = profile.with_extension("stderr");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish within two minutes", browser.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "{} failed ({status}): {}",
        browser.display(),
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn the_html_report_as_a_browser_shows_it() {
    let browser = chromium();
    let (_, html, figures) = rendered_report();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).unwrap();
    let profile = dir.path().join("profile");

    // The page as the browser parsed it: the text a reader sees, the tables' headers, the images.
    let dom = browse(&browser, &profile, &["--dump-dom".into()], &page);
    check_report_text(&visible_text(&dom), &figures);
    assert!(
        dom.matches("<th>").count() >= 6 + 9 + 6,
        "headers are not <th>"
    );
    assert_eq!(dom.matches("<img ").count(), figures.len());

    // A screenshot of the top of the page: the right size, not blank, and showing the figures
    // (their colours, which the text and tables do not have).
    let shot = dir.path().join("report.png");
    browse(
        &browser,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,4000".into(),
        ],
        &page,
    );
    let image = image::open(&shot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()))
        .to_rgb8();
    assert_eq!(image.width(), 1200);
    assert!(image.height() >= 1000, "{} pixels high", image.height());
    let pixels = f64::from(image.width() * image.height());
    let inked = image.pixels().filter(|p| p.0 != [255, 255, 255]).count() as f64;
    assert!(
        (0.01..0.9).contains(&(inked / pixels)),
        "{:.1}% of the screenshot is not white",
        100.0 * inked / pixels
    );
    let coloured = image
        .pixels()
        .filter(|p| {
            let (max, min) = (*p.0.iter().max().unwrap(), *p.0.iter().min().unwrap());
            max - min > 60
        })
        .count();
    assert!(
        coloured > 2000,
        "{coloured} coloured pixels: the figures are not shown"
    );
}
