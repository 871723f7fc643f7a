//! States on S^2 on the Hammer equal-area map: the potential v as background, the great circles
//! `a_j · x = 0` where neurons switch on, and the particles as dots of area proportional to
//! their mass.

use std::f64::consts::{FRAC_PI_2, PI, SQRT_2};

use plotters::coord::Shift;
use plotters::prelude::*;
use sphereflow_solver::{Perceptron, State};

use crate::figure::{equal_aspect_area, panel_area, DrawResult, Figure};
use crate::style::{caption_font, diverging};

/// Hammer projection of longitude λ ∈ [-π, π] and latitude φ: x ∈ [-2√2, 2√2], y ∈ [-√2, √2].
pub fn hammer(lambda: f64, phi: f64) -> (f64, f64) {
    let d = (1.0 + phi.cos() * (lambda / 2.0).cos()).sqrt();
    (
        2.0 * SQRT_2 * phi.cos() * (lambda / 2.0).sin() / d,
        SQRT_2 * phi.sin() / d,
    )
}

/// The inverse of [`hammer`], for points inside the ellipse.
fn inverse_hammer(x: f64, y: f64) -> Option<(f64, f64)> {
    if (x / (2.0 * SQRT_2)).powi(2) + (y / SQRT_2).powi(2) > 1.0 {
        return None;
    }
    let z = (1.0 - (x / 4.0).powi(2) - (y / 2.0).powi(2)).sqrt();
    let lambda = 2.0 * (z * x).atan2(2.0 * (2.0 * z * z - 1.0));
    let phi = (z * y).clamp(-1.0, 1.0).asin();
    Some((lambda, phi))
}

fn to_angles(x: &[f64]) -> (f64, f64) {
    (x[1].atan2(x[0]), x[2].clamp(-1.0, 1.0).asin())
}

fn to_point(lambda: f64, phi: f64) -> [f64; 3] {
    [
        phi.cos() * lambda.cos(),
        phi.cos() * lambda.sin(),
        phi.sin(),
    ]
}

/// One state on the sphere.
#[derive(Debug, Clone)]
pub struct SpherePanel {
    /// Title.
    pub title: String,
    /// The particles (d = 3).
    pub state: State,
    /// The perceptron, if the run has one.
    pub perceptron: Option<Perceptron>,
    /// Clusters as `(centre, mass)`, drawn as rings whose radius grows with the mass.
    pub clusters: Vec<(Vec<f64>, f64)>,
    /// A warning printed in red under the title (e.g. that the run did not converge), if any.
    pub mark: Option<String>,
}

/// Maps side by side.
#[derive(Debug, Clone)]
pub struct SphereGrid {
    /// Title.
    pub title: String,
    /// The maps.
    pub panels: Vec<SpherePanel>,
}

fn draw_panel<DB: DrawingBackend>(panel: &SpherePanel, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (xm, ym) = (2.0 * SQRT_2, SQRT_2);
    let plot = panel_area(area, &panel.title, panel.mark.as_deref())?;
    // One unit as long across as up: the map is not stretched.
    let (x_extent, y_extent) = (xm * 1.02, ym * 1.04);
    let fitted = equal_aspect_area(&plot, x_extent / y_extent, 8);
    let mut chart =
        ChartBuilder::on(&fitted).build_cartesian_2d(-x_extent..x_extent, -y_extent..y_extent)?;
    let perceptron = panel.perceptron.as_ref().filter(|p| !p.is_off());
    if let Some(perceptron) = perceptron {
        let (nx, ny) = (180, 90);
        let (dx, dy) = (2.0 * xm / nx as f64, 2.0 * ym / ny as f64);
        let mut cells = Vec::new();
        for i in 0..nx {
            for j in 0..ny {
                let (x, y) = (-xm + (i as f64 + 0.5) * dx, -ym + (j as f64 + 0.5) * dy);
                if let Some((lambda, phi)) = inverse_hammer(x, y) {
                    cells.push((
                        (x - dx / 2.0, y - dy / 2.0),
                        perceptron.potential(&to_point(lambda, phi)),
                    ));
                }
            }
        }
        let scale = cells
            .iter()
            .fold(0.0f64, |m, c| m.max(c.1.abs()))
            .max(1e-300);
        chart.draw_series(cells.iter().map(|&((x, y), v)| {
            Rectangle::new(
                [(x, y), (x + dx * 1.05, y + dy * 1.05)],
                diverging(0.8 * v / scale).filled(),
            )
        }))?;
        for j in 0..perceptron.width() {
            let a = perceptron.direction(j);
            // An orthonormal basis (u, w) of the plane a · x = 0.
            let helper = if a[0].abs() < 0.9 {
                [1.0, 0.0, 0.0]
            } else {
                [0.0, 1.0, 0.0]
            };
            let dot: f64 = helper.iter().zip(a).map(|(h, a)| h * a).sum();
            let mut u: Vec<f64> = helper.iter().zip(a).map(|(h, a)| h - dot * a).collect();
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            u.iter_mut().for_each(|v| *v /= norm);
            let w = [
                a[1] * u[2] - a[2] * u[1],
                a[2] * u[0] - a[0] * u[2],
                a[0] * u[1] - a[1] * u[0],
            ];
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let mut previous: Option<f64> = None;
            for k in 0..=720 {
                let t = k as f64 / 720.0 * 2.0 * PI;
                let x: Vec<f64> = (0..3).map(|c| t.cos() * u[c] + t.sin() * w[c]).collect();
                let (lambda, phi) = to_angles(&x);
                // Break the curve where it crosses the map's edge (λ jumps by about 2π).
                if previous.is_some_and(|p| (p - lambda).abs() > PI) {
                    chart.draw_series(std::iter::once(PathElement::new(
                        std::mem::take(&mut segment),
                        BLACK.stroke_width(2),
                    )))?;
                }
                previous = Some(lambda);
                segment.push(hammer(lambda, phi));
            }
            chart.draw_series(std::iter::once(PathElement::new(
                segment,
                BLACK.stroke_width(2),
            )))?;
        }
    }
    // The map's outline.
    let outline: Vec<(f64, f64)> = (0..=360)
        .map(|k| {
            let phi = -FRAC_PI_2 + PI * k as f64 / 360.0;
            hammer(PI, phi)
        })
        .chain((0..=360).map(|k| {
            let phi = FRAC_PI_2 - PI * k as f64 / 360.0;
            hammer(-PI, phi)
        }))
        .collect();
    chart.draw_series(std::iter::once(PathElement::new(
        outline,
        RGBColor(90, 90, 90).stroke_width(1),
    )))?;
    chart.draw_series(
        panel
            .clusters
            .iter()
            .filter(|(centre, mass)| centre.len() == 3 && *mass >= 0.01)
            .map(|(centre, mass)| {
                let (lambda, phi) = to_angles(centre);
                let radius = (4.0 + 30.0 * mass.sqrt()).round() as u32;
                Circle::new(
                    hammer(lambda, phi),
                    radius,
                    RGBColor(0, 120, 0).stroke_width(2),
                )
            }),
    )?;
    chart.draw_series(
        panel
            .state
            .positions
            .chunks_exact(3)
            .zip(&panel.state.masses)
            .map(|(x, m)| {
                let (lambda, phi) = to_angles(x);
                // The same scale in every panel: a particle of mass m has radius 1.5 + 14 sqrt(m).
                let radius = (1.5 + 14.0 * m.sqrt()).round() as u32;
                Circle::new(
                    hammer(lambda, phi),
                    radius,
                    RGBColor(10, 10, 10).mix(0.75).filled(),
                )
            }),
    )?;
    Ok(())
}

impl Figure for SphereGrid {
    fn size(&self) -> (u32, u32) {
        (560 * self.panels.len().max(1) as u32, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let titled = root.titled(&self.title, caption_font())?;
        let (body, key) = titled.split_vertically(330);
        let cells = body.split_evenly((1, self.panels.len().max(1)));
        for (panel, cell) in self.panels.iter().zip(cells.iter()) {
            draw_panel(panel, cell)?;
        }
        let font = ("sans-serif", 13).into_font();
        let lines = [
            "Hammer equal-area map (longitude across, latitude up); dots: particles, radius 1.5 + 14 sqrt(mass) pixels",
            "green rings: clusters of mass ≥ 0.01, radius 4 + 30 sqrt(mass); background: the potential v (red > 0, blue < 0); black curves: a_j·x = 0",
        ];
        for (i, line) in lines.iter().enumerate() {
            key.draw(&Text::new(*line, (12, 4 + 20 * i as i32), font.clone()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_inverts_and_keeps_areas() {
        for (lambda, phi) in [(0.3, 0.2), (-2.5, -1.0), (3.0, 1.2), (0.0, 0.0)] {
            let (x, y) = hammer(lambda, phi);
            let (l, p) = inverse_hammer(x, y).unwrap();
            assert!((l - lambda).abs() < 1e-12 && (p - phi).abs() < 1e-12);
        }
        // Equal area: a small patch's image area is its area on the sphere (cos φ dλ dφ).
        let h = 1e-5;
        for (lambda, phi) in [(0.5, 0.3), (-2.0, -1.1)] {
            let (x0, y0) = hammer(lambda, phi);
            let (x1, y1) = hammer(lambda + h, phi);
            let (x2, y2) = hammer(lambda, phi + h);
            let image = ((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)).abs();
            let sphere = phi.cos() * h * h;
            assert!((image / sphere - 1.0).abs() < 1e-4, "{}", image / sphere);
        }
    }
}
