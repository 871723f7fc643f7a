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
pub mod sphere;
pub mod trajectories;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use thiserror::Error;

/// What can go wrong.
#[derive(Debug, Error)]
pub enum FigureError {
    /// Drawing or writing failed.
    #[error("{}: {reason}", path.display())]
    Draw {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The result of drawing on some backend.
pub type DrawResult = Result<(), Box<dyn Error>>;

/// A figure: drawn the same way on the PNG and the SVG backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draws the figure on a backend's root area.
    ///
    /// # Errors
    /// Backend errors.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
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

/// Writes `<stem>.png` and `<stem>.svg`.
///
/// # Errors
/// Drawing and IO errors, naming the file.
pub fn save(figure: &impl Figure, stem: &Path) -> Result<Vec<PathBuf>, FigureError> {
    register_font();
    if let Some(dir) = stem.parent() {
        std::fs::create_dir_all(dir).map_err(|e| FigureError::Draw {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let fail = |path: &Path, e: Box<dyn Error>| FigureError::Draw {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    {
        let root = BitMapBackend::new(&png, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&png, e.into()))?;
        figure.draw(&root).map_err(|e| fail(&png, e))?;
        root.present().map_err(|e| fail(&png, e.into()))?;
    }
    {
        let root = SVGBackend::new(&svg, figure.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&svg, e.into()))?;
        figure.draw(&root).map_err(|e| fail(&svg, e))?;
        root.present().map_err(|e| fail(&svg, e.into()))?;
    }
    Ok(vec![png, svg])
}

/// Distinct colours for series, in order.
pub fn colour(index: usize) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    COLOURS[index % COLOURS.len()]
}

/// A diverging colour for `value` in `[-1, 1]`: blue below 0, white at 0, red above.
pub fn diverging(value: f64) -> RGBColor {
    let v = value.clamp(-1.0, 1.0);
    let mix = |a: f64, b: f64, t: f64| (a + (b - a) * t).round() as u8;
    if v < 0.0 {
        let t = -v;
        RGBColor(
            mix(255.0, 49.0, t),
            mix(255.0, 54.0, t),
            mix(255.0, 149.0, t),
        )
    } else {
        RGBColor(
            mix(255.0, 178.0, v),
            mix(255.0, 24.0, v),
            mix(255.0, 43.0, v),
        )
    }
}

/// A caption font.
pub(crate) fn caption_font() -> (&'static str, u32) {
    ("sans-serif", 20)
}
