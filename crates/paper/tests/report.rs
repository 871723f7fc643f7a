//! The claims table and the report of a small, fixed reproduction: tiny versions of the paper's
//! sweeps run into a temporary store, analyzed and judged, against snapshots.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use sphereflow_analyze::{analyze, AnalyzeOptions};
use sphereflow_exec::{run, RunOptions, Store};
use sphereflow_paper::report::{self, Context};
use sphereflow_paper::{claims, finished_runs, paper_figures, Results, SweepResults, Verdict};
use sphereflow_plan::{Plan, PlanOptions, Sweep};

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
        "[model]\nparticles = 24\n[stop]\nmax_steps = 20000\n[grid]\nmodel.beta = [1, 4, 9]\n\
         perceptron.activation = [\"relu\", \"none\"]\ninit.seed = { range = [1, 4] }\n",
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

#[test]
fn the_claims_and_the_report_of_a_fixed_reproduction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let results = results(&store);
    let claims = claims(&results);
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
    insta::assert_snapshot!("claims", report::claims_table(&claims, "results/store"));
    let figures = paper_figures(&results);
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
    let context = Context {
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
    };
    let markdown = report::markdown(&context, &results, &claims, &figures);
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
