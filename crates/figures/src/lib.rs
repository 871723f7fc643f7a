//! The paper's figures as PNG and SVG (plotters), from plain data: this crate does not know
//! where results come from.
//!
//! - [`chart::Chart`]: x-y charts (lines, points with error bars, bands, reference lines, log
//!   axes) for energy, counts and masses against sqrt β, growth rates, convergence times;
//! - [`circle::CircleGrid`]: states on S^1 as circular histograms over the perceptron's
//!   activation sectors and the sign of its potential;
//! - [`sphere::SphereGrid`]: states on S^2 on an equal-area (Hammer) map over the potential,
//!   with the great circles `a_j · x = 0`;
//! - [`trajectories::Trajectories`]: angles θ_i(t) on S^1 over the potential.
//!
//! Text is drawn with DejaVu Sans, embedded, so PNGs render the same on any machine.

pub mod chart;
pub mod circle;
pub mod figure;
pub mod sphere;
pub mod style;
pub mod trajectories;

pub use figure::{DrawResult, Figure};
pub use style::{caption_font, diverging, ramp, Colour};

use std::sync::Once;

use image::ImageEncoder as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use thiserror::Error;

/// What can go wrong.
#[derive(Debug, Error)]
pub enum FigureError {
    /// Drawing or encoding failed.
    #[error("cannot draw the {format}: {reason}")]
    Draw {
        /// `PNG` or `SVG`.
        format: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// The embedded font, registered once as `sans-serif`.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .unwrap_or_else(|_| panic!("the embedded font parses"));
    });
}

/// A figure drawn as a PNG (encoded) and an SVG, in memory: the caller writes the files.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// The SVG document.
    pub svg: String,
}

/// Draws a figure as a PNG and as an SVG.
///
/// # Errors
/// Drawing and encoding errors.
pub fn render(figure: &impl Figure) -> Result<Rendered, FigureError> {
    register_font();
    let (width, height) = figure.size();
    let fail = |format: &'static str, reason: String| FigureError::Draw { format, reason };
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail("PNG", e.to_string()))?;
        figure.draw(&root).map_err(|e| fail("PNG", e.to_string()))?;
        root.present().map_err(|e| fail("PNG", e.to_string()))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ColorType::Rgb8)
        .map_err(|e| fail("PNG", e.to_string()))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail("SVG", e.to_string()))?;
        figure.draw(&root).map_err(|e| fail("SVG", e.to_string()))?;
        root.present().map_err(|e| fail("SVG", e.to_string()))?;
    }
    Ok(Rendered { png, svg })
}

/// Any of this crate's figures, for lists of figures of different kinds.
#[derive(Debug, Clone)]
pub enum AnyFigure {
    /// An x-y chart.
    Chart(chart::Chart),
    /// States on S^1.
    Circles(circle::CircleGrid),
    /// States on S^2.
    Spheres(sphere::SphereGrid),
    /// Angles against time on S^1.
    Trajectories(trajectories::Trajectories),
}

impl AnyFigure {
    /// The figure's title, to edit (e.g. to number it).
    pub fn title_mut(&mut self) -> &mut String {
        match self {
            AnyFigure::Chart(f) => &mut f.title,
            AnyFigure::Circles(f) => &mut f.title,
            AnyFigure::Spheres(f) => &mut f.title,
            AnyFigure::Trajectories(f) => &mut f.title,
        }
    }
}

impl Figure for AnyFigure {
    fn size(&self) -> (u32, u32) {
        match self {
            AnyFigure::Chart(f) => f.size(),
            AnyFigure::Circles(f) => f.size(),
            AnyFigure::Spheres(f) => f.size(),
            AnyFigure::Trajectories(f) => f.size(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        match self {
            AnyFigure::Chart(f) => f.draw(root),
            AnyFigure::Circles(f) => f.draw(root),
            AnyFigure::Spheres(f) => f.draw(root),
            AnyFigure::Trajectories(f) => f.draw(root),
        }
    }
}
