//! States on S^1: a circular histogram of the particles outside the circle, over the
//! perceptron's activation sectors (darker where fewer neurons are active; the darkest is the
//! dead zone), with the sign of the potential v on a ring inside.

use std::f64::consts::TAU;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sphereflow_solver::{Perceptron, State};

use crate::figure::{equal_aspect_area, panel_area, DrawResult, Figure};
use crate::style::{caption_font, diverging};

/// Angular bins of the histogram.
const BINS: usize = 120;
/// Angular cells of the shading.
const CELLS: usize = 360;

/// One state on the circle.
#[derive(Debug, Clone)]
pub struct CirclePanel {
    /// Title (what run, which time).
    pub title: String,
    /// The particles (d = 2).
    pub state: State,
    /// The perceptron, if the run has one.
    pub perceptron: Option<Perceptron>,
    /// A warning printed in red under the title (e.g. that the run did not converge), if any.
    pub mark: Option<String>,
}

/// The data range of a panel, the same across and up: `-EXTENT..EXTENT` (the histogram's bars
/// reach radius 1.68).
const EXTENT: f64 = 1.75;

/// Panels side by side, with a key below.
#[derive(Debug, Clone)]
pub struct CircleGrid {
    /// Title of the whole figure.
    pub title: String,
    /// The panels, row by row.
    pub panels: Vec<CirclePanel>,
    /// Panels per row.
    pub columns: usize,
}

fn wedge(theta0: f64, theta1: f64, r0: f64, r1: f64) -> Vec<(f64, f64)> {
    let steps = 4;
    let mut points = Vec::with_capacity(2 * steps + 2);
    for i in 0..=steps {
        let t = theta0 + (theta1 - theta0) * i as f64 / steps as f64;
        points.push((r1 * t.cos(), r1 * t.sin()));
    }
    for i in (0..=steps).rev() {
        let t = theta0 + (theta1 - theta0) * i as f64 / steps as f64;
        points.push((r0 * t.cos(), r0 * t.sin()));
    }
    points
}

fn draw_panel<DB: DrawingBackend>(panel: &CirclePanel, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let plot = panel_area(area, &panel.title, panel.mark.as_deref())?;
    // A square: one unit is as long across as up, so the circle is round.
    let square = equal_aspect_area(&plot, 1.0, 6);
    let mut chart =
        ChartBuilder::on(&square).build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
    let perceptron = panel.perceptron.as_ref().filter(|p| !p.is_off());
    if let Some(perceptron) = perceptron {
        let width = perceptron.width().max(1) as f64;
        let cell = TAU / CELLS as f64;
        let potentials: Vec<f64> = (0..CELLS)
            .map(|i| {
                let t = (i as f64 + 0.5) * cell;
                perceptron.potential(&[t.cos(), t.sin()])
            })
            .collect();
        let scale = potentials
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1e-300);
        chart.draw_series((0..CELLS).map(|i| {
            let t0 = i as f64 * cell;
            let t = t0 + 0.5 * cell;
            let active = perceptron.active_count(&[t.cos(), t.sin()]) as f64;
            let level = (245.0 - 120.0 * (width - active) / width) as u8;
            Polygon::new(
                wedge(t0, t0 + cell * 1.02, 1.0, 1.7),
                RGBColor(level, level, level).filled(),
            )
        }))?;
        chart.draw_series((0..CELLS).map(|i| {
            let t0 = i as f64 * cell;
            Polygon::new(
                wedge(t0, t0 + cell * 1.02, 0.8, 0.97),
                diverging(potentials[i] / scale).filled(),
            )
        }))?;
    }
    chart.draw_series(std::iter::once(PathElement::new(
        (0..=CELLS)
            .map(|i| {
                let t = i as f64 * TAU / CELLS as f64;
                (t.cos(), t.sin())
            })
            .collect::<Vec<_>>(),
        BLACK.stroke_width(1),
    )))?;
    let mut bins = [0.0f64; BINS];
    for (x, m) in panel
        .state
        .positions
        .chunks_exact(2)
        .zip(&panel.state.masses)
    {
        let angle = x[1].atan2(x[0]).rem_euclid(TAU);
        bins[((angle / TAU * BINS as f64) as usize).min(BINS - 1)] += m;
    }
    let tallest = bins.iter().fold(0.0f64, |m, &b| m.max(b)).max(1e-300);
    let bin = TAU / BINS as f64;
    chart.draw_series(
        bins.iter()
            .enumerate()
            .filter(|(_, &m)| m > 0.0)
            .map(|(i, &m)| {
                let t0 = i as f64 * bin;
                Polygon::new(
                    wedge(t0, t0 + bin, 1.0, 1.0 + 0.68 * m / tallest),
                    RGBColor(20, 40, 110).filled(),
                )
            }),
    )?;
    chart.draw_series(std::iter::once(Text::new(
        format!("max bin {:.3}", tallest),
        (-EXTENT, -EXTENT),
        ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Bottom)),
    )))?;
    Ok(())
}

/// The width (pixels) the key's longest line needs at its font size.
const KEY_WIDTH: u32 = 700;

impl Figure for CircleGrid {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns.max(1) as u32;
        let rows = self.panels.len().div_ceil(self.columns.max(1)) as u32;
        // At least KEY_WIDTH wide, so that the title and the key below the panels are whole
        // when there are only one or two panels in a row.
        ((columns * 330).max(KEY_WIDTH), rows * 340 + 90)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (width, height) = self.size();
        let titled = root.titled(&self.title, caption_font())?;
        let (body, key) = titled.split_vertically(height - 90 - 30);
        let columns = self.columns.max(1);
        let rows = self.panels.len().div_ceil(columns);
        let cells = body.split_evenly((rows, columns));
        for (panel, cell) in self.panels.iter().zip(cells.iter()) {
            draw_panel(panel, cell)?;
        }
        let font = ("sans-serif", 14).into_font();
        let lines = [
            "bars: mass of the particles in each 3° arc (outward), scaled to the panel's largest bin",
            "grey sectors: darker where fewer neurons are active (a_j·x > 0); the darkest is the dead zone",
            "inner ring: the perceptron's potential v, red where v > 0, blue where v < 0 (null runs: no ring)",
        ];
        for (i, line) in lines.iter().enumerate() {
            key.draw(&Text::new(*line, (12, 8 + 24 * i as i32), font.clone()))?;
        }
        let _ = width;
        Ok(())
    }
}
