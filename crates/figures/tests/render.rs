//! Every kind of figure renders to a PNG and an SVG with its title, labels and legend; circles
//! are drawn round, rings hollow, and lines cut at a fixed range.

use sphereflow_figures::chart::{
    clip_to_band, outside_y_range, Band, Chart, Marker, Reference, Series, Style,
};
use sphereflow_figures::circle::{CircleGrid, CirclePanel};
use sphereflow_figures::figure::equal_aspect_rect;
use sphereflow_figures::sphere::{SphereGrid, SpherePanel};
use sphereflow_figures::trajectories::Trajectories;
use sphereflow_figures::{render, Colour, Figure};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{simulate, Par, Problem, State};

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
        Colour::BLUE,
    );
    series.errors = vec![(1.5, 2.5), (3.5, 4.5), (6.0, 7.0)];
    chart.series.push(series);
    chart.series.push(Series::new(
        "fit",
        vec![(1.0, 2.0), (3.0, 6.0)],
        Style::Line,
        Colour::BLUE,
    ));
    chart.bands.push(Band {
        label: "band".into(),
        points: vec![(1.0, 1.8, 2.2), (3.0, 5.5, 6.5)],
        colour: Colour::BLUE,
    });
    chart.references.push(Reference {
        y: 0.5742,
        label: "limit".into(),
        colour: Colour::BLACK,
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
        Colour::RED,
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
        mark: None,
    };
    let capped = CirclePanel {
        mark: Some("did not converge (step cap)".into()),
        ..panel.clone()
    };
    let grid = CircleGrid {
        title: "Final states".into(),
        panels: vec![panel, capped],
        columns: 2,
    };
    check(
        &grid,
        &[
            "Final states",
            "relu β = 10",
            "dead zone",
            "did not converge (step cap)",
        ],
    );
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
            mark: None,
        }],
    };
    check(&map, &["On S^2", "Hammer"]);
}

/// The bounding box `(left, top, right, bottom)` of the pixels of `png` near `colour` (within
/// 40 per channel) whose x is in `columns`.
fn extent_of(
    png: &[u8],
    colour: Colour,
    columns: std::ops::Range<u32>,
) -> Option<(u32, u32, u32, u32)> {
    let image = image::load_from_memory(png).unwrap().to_rgb8();
    let mut extent: Option<(u32, u32, u32, u32)> = None;
    for (x, y, pixel) in image.enumerate_pixels() {
        let near = pixel
            .0
            .iter()
            .zip([colour.0, colour.1, colour.2])
            .all(|(&a, b)| a.abs_diff(b) <= 40);
        if near && columns.contains(&x) {
            extent = Some(match extent {
                None => (x, y, x, y),
                Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x), b.max(y)),
            });
        }
    }
    extent
}

/// A state of `per_bin` particles at the centre of each of the histogram's 120 bins: every bar
/// is as tall as the tallest, so the bars fill a ring of outer radius 1.68.
fn even_state(per_bin: usize) -> State {
    let n = 120 * per_bin;
    let positions: Vec<f64> = (0..n)
        .flat_map(|i| {
            let bin = i / per_bin;
            let t = (bin as f64 + 0.5) / 120.0 * std::f64::consts::TAU;
            [t.cos(), t.sin()]
        })
        .collect();
    State::from_positions(2, &positions).unwrap()
}

#[test]
fn circles_are_drawn_round_in_every_layout() {
    let bars = Colour(20, 40, 110);
    for (columns, panels) in [(3, 3), (4, 4), (2, 2), (1, 1)] {
        let panel = CirclePanel {
            title: "even".into(),
            state: even_state(2),
            perceptron: None,
            mark: None,
        };
        let mut marked = panel.clone();
        marked.mark = Some("did not converge (step cap)".into());
        let grid = CircleGrid {
            title: "Round".into(),
            panels: (0..panels)
                .map(|i| {
                    if i % 2 == 1 {
                        marked.clone()
                    } else {
                        panel.clone()
                    }
                })
                .collect(),
            columns,
        };
        let png = render(&grid).unwrap().png;
        let (width, _) = grid.size();
        let cell = width / columns as u32;
        // The first panel, and the second (with a mark under its title) when there is one.
        for k in 0..columns.min(panels) as u32 {
            let (l, t, r, b) = extent_of(&png, bars, k * cell..(k + 1) * cell).unwrap();
            let (across, up) = (f64::from(r - l + 1), f64::from(b - t + 1));
            assert!(
                (across / up - 1.0).abs() < 0.02,
                "{columns} columns, panel {k}: the ring is {across} × {up} pixels"
            );
            assert!(across > 150.0, "{across}");
        }
    }
}

#[test]
fn equal_aspect_rects_keep_the_aspect_inside_the_area() {
    for (width, height, aspect) in [(330, 300, 1.0), (560, 300, 2.0), (200, 500, 1.5)] {
        let (left, top, w, h) = equal_aspect_rect(width, height, aspect, 6);
        assert!((f64::from(w) / f64::from(h) - aspect).abs() < 0.01 * aspect);
        assert!(left >= 6 && top >= 6 && left + w <= width - 6 && top + h <= height - 6);
        // As large as fits: one side touches the margins.
        assert!(
            w == width - 12 || h == height - 12,
            "{w} × {h} in {width} × {height}"
        );
    }
}

#[test]
fn lines_are_cut_at_a_fixed_range_and_such_series_are_found() {
    // Up out of the band, down across it, and back in.
    let points = [(0.0, 0.5), (1.0, 1.5), (2.0, -0.5), (3.0, 0.5)];
    let pieces = clip_to_band(&points, 0.0, 1.0);
    let expected = [
        vec![(0.0, 0.5), (0.5, 1.0)],
        vec![(1.25, 1.0), (1.75, 0.0)],
        vec![(2.5, 0.0), (3.0, 0.5)],
    ];
    assert_eq!(pieces.len(), expected.len(), "{pieces:?}");
    for (piece, want) in pieces.iter().zip(&expected) {
        for (a, b) in piece.iter().zip(want) {
            assert!(
                (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12,
                "{piece:?}"
            );
        }
    }
    assert!(clip_to_band(&[(0.0, 2.0), (1.0, 3.0)], 0.0, 1.0).is_empty());

    let mut chart = Chart::new("Clipped", "x", "y");
    chart.series.push(Series::new(
        "inside",
        vec![(0.0, 0.5)],
        Style::Line,
        Colour::BLUE,
    ));
    chart.series.push(Series::new(
        "B: above the axis",
        points.to_vec(),
        Style::Line,
        Colour::BLACK,
    ));
    assert!(outside_y_range(&chart).is_empty(), "no fixed range");
    chart.y_range = Some((0.0, 1.0));
    assert_eq!(outside_y_range(&chart), ["B: above the axis"]);
    check(&chart, &["Clipped", "B: above the axis"]);
}

#[test]
fn rings_are_hollow() {
    let mut chart = Chart::new("Rings", "x", "y");
    for (marker, x) in [(Marker::Ring, 1.0), (Marker::Disc, 2.0)] {
        let mut series = Series::new("", vec![(x, 1.0)], Style::PointsWithErrors, Colour::RED);
        series.errors = vec![(0.5, 1.5)];
        series.marker = marker;
        series.size = 12;
        chart.series.push(series);
    }
    chart.series.push(Series::new(
        "frame",
        vec![(0.0, 0.0), (3.0, 2.0)],
        Style::Points,
        Colour::GREY,
    ));
    let rendered = render(&chart).unwrap();
    let image = image::load_from_memory(&rendered.png).unwrap().to_rgb8();
    let (width, _) = chart.size();
    // Centre of each marker: the middle of the red pixels in its half of the chart.
    let centre = |columns: std::ops::Range<u32>| {
        let (l, t, r, b) = extent_of(&rendered.png, Colour::RED, columns).unwrap();
        image.get_pixel((l + r) / 2, (t + b) / 2).0
    };
    let ring = centre(0..width / 2);
    let disc = centre(width / 2..width);
    assert_eq!(ring, [255, 255, 255], "a ring is white inside");
    assert!(disc[0] > 150 && disc[1] < 100, "a disc is filled: {disc:?}");
}
