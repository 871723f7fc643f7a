//! Angles θ_i(t) of particles on S^1 against time, over the perceptron's potential v(θ).

use std::f64::consts::PI;

use plotters::coord::Shift;
use plotters::prelude::*;
use sphereflow_solver::{Perceptron, State};

use crate::figure::{DrawResult, Figure};
use crate::style::diverging;

/// Trajectories of one run on the circle.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// Title.
    pub title: String,
    /// Snapshots `(t, state)` in time order (d = 2, the same particles in each).
    pub frames: Vec<(f64, State)>,
    /// The perceptron, if any.
    pub perceptron: Option<Perceptron>,
    /// How many particles to draw (evenly spaced by index).
    pub shown: usize,
}

impl Figure for Trajectories {
    fn size(&self) -> (u32, u32) {
        (1000, 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let t_end = self.frames.last().map_or(1.0, |f| f.0).max(1e-9);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, crate::style::caption_font())
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..t_end, -PI..PI)?;
        chart
            .configure_mesh()
            .x_desc("time t (layers)")
            .y_desc("angle θ (radians)")
            .x_label_formatter(&|t| format!("{}", crate::chart::trim(*t)))
            .y_label_formatter(&|y| format!("{}", crate::chart::trim(*y)))
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .disable_mesh()
            .draw()?;
        if let Some(perceptron) = self.perceptron.as_ref().filter(|p| !p.is_off()) {
            let bands = 180;
            let height = 2.0 * PI / bands as f64;
            let values: Vec<f64> = (0..bands)
                .map(|k| {
                    let theta = -PI + (k as f64 + 0.5) * height;
                    perceptron.potential(&[theta.cos(), theta.sin()])
                })
                .collect();
            let scale = values
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
                .max(1e-300);
            chart.draw_series(values.iter().enumerate().map(|(k, v)| {
                let y = -PI + k as f64 * height;
                Rectangle::new(
                    [(0.0, y), (t_end, y + height * 1.02)],
                    diverging(0.55 * v / scale).filled(),
                )
            }))?;
        }
        let particles = self.frames.first().map_or(0, |f| f.1.len());
        let shown = self.shown.clamp(1, particles.max(1));
        let stride = (particles / shown).max(1);
        for i in (0..particles).step_by(stride) {
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let mut previous: Option<f64> = None;
            for (t, state) in &self.frames {
                let Some(x) = state.positions.get(2 * i..2 * i + 2) else {
                    break;
                };
                let theta = x[1].atan2(x[0]);
                if previous.is_some_and(|p| (p - theta).abs() > PI) {
                    chart.draw_series(std::iter::once(PathElement::new(
                        std::mem::take(&mut segment),
                        RGBColor(20, 20, 60).mix(0.7).stroke_width(1),
                    )))?;
                }
                previous = Some(theta);
                segment.push((*t, theta));
            }
            chart.draw_series(std::iter::once(PathElement::new(
                segment,
                RGBColor(20, 20, 60).mix(0.7).stroke_width(1),
            )))?;
        }
        let (_, height) = self.size();
        root.draw(&Text::new(
            "background: the potential v(θ), red > 0, blue < 0; lines: particles",
            (12, height as i32 - 18),
            ("sans-serif", 13).into_font(),
        ))?;
        Ok(())
    }
}
