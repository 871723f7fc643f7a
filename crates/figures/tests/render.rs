//! Every kind of figure renders to a PNG and an SVG with its title, labels and legend.

use sphereflow_figures::chart::{Band, Chart, Reference, Series, Style};
use sphereflow_figures::circle::{CircleGrid, CirclePanel};
use sphereflow_figures::sphere::{SphereGrid, SpherePanel};
use sphereflow_figures::trajectories::Trajectories;
use sphereflow_figures::{render, Figure};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{simulate, Par, Problem};

fn check(figure: &impl Figure, texts: &[&str]) {
    let rendered = render(figure).unwrap();
    let png = &rendered.png;
    assert_eq!(&png[1..4], b"PNG");
    assert!(png.len() > 10_000, "{} bytes", png.len());
    let decoded = image::load_from_memory(png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), figure.size());
    for text in texts {
        assert!(rendered.svg.contains(text), "{text} missing from the SVG");
    }
}

#[test]
fn charts_render_with_their_labels() {
    let mut chart = Chart::new("Cluster count", "sqrt β", "clusters");
    let mut series = Series::new(
        "relu",
        vec![(1.0, 2.0), (2.0, 4.0), (3.0, 6.5)],
        Style::PointsWithErrors,
        0,
    );
    series.errors = vec![(1.5, 2.5), (3.5, 4.5), (6.0, 7.0)];
    chart.series.push(series);
    chart.series.push(Series::new(
        "fit",
        vec![(1.0, 2.0), (3.0, 6.0)],
        Style::Line,
        0,
    ));
    chart.bands.push(Band {
        label: "band".into(),
        points: vec![(1.0, 1.8, 2.2), (3.0, 5.5, 6.5)],
        colour: 0,
    });
    chart.references.push(Reference {
        y: 0.5742,
        label: "limit".into(),
        colour: 7,
    });
    check(
        &chart,
        &[
            "Cluster count",
            "sqrt β",
            "clusters",
            "relu",
            "fit",
            "limit",
        ],
    );
    let mut log = Chart::new("Masses", "sqrt β", "mass");
    log.log_y = true;
    log.series.push(Series::new(
        "masses",
        vec![(1.0, 0.01), (2.0, 0.5)],
        Style::Points,
        1,
    ));
    check(&log, &["Masses", "0.01", "0.1"]);
}

#[test]
fn states_and_trajectories_render() {
    let mut params = default_params_in(2);
    params.model.particles = 200;
    params.model.beta = 10.0;
    params.stop.max_steps = 300;
    let problem = Problem::new(params, None, None).unwrap();
    let result = simulate(&problem, Par::Seq).unwrap();
    let panel = CirclePanel {
        title: "relu β = 10".into(),
        state: result.final_state.clone(),
        perceptron: Some(problem.dynamics.perceptron.clone()),
    };
    let grid = CircleGrid {
        title: "Final states".into(),
        panels: vec![panel.clone(), panel],
        columns: 2,
    };
    check(&grid, &["Final states", "relu β = 10", "dead zone"]);
    let frames: Vec<_> = result
        .frames
        .frames
        .iter()
        .map(|f| (f.t, f.state.clone()))
        .collect();
    let trajectories = Trajectories {
        title: "Trajectories".into(),
        frames,
        perceptron: Some(problem.dynamics.perceptron.clone()),
        shown: 40,
    };
    check(&trajectories, &["Trajectories", "angle θ"]);

    let mut params = default_params_in(3);
    params.model.particles = 100;
    params.stop.max_steps = 100;
    let problem = Problem::new(params, None, None).unwrap();
    let result = simulate(&problem, Par::Seq).unwrap();
    let map = SphereGrid {
        title: "On S^2".into(),
        panels: vec![SpherePanel {
            title: "relu".into(),
            state: result.final_state,
            perceptron: Some(problem.dynamics.perceptron.clone()),
            clusters: result
                .clusters
                .iter()
                .map(|c| (c.centre.clone(), c.mass))
                .collect(),
        }],
    };
    check(&map, &["On S^2", "Hammer"]);
}
