//! The [`Figure`] trait: what every figure of this crate implements, drawn the same way on the
//! PNG and the SVG backend; and the layout of panels (title, mark, an area of equal aspect).

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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

/// The largest rectangle of width/height `aspect` inside a `width × height` area less `margin`
/// on every side, centred: `(left, top, width, height)` in pixels. Drawing data of that aspect
/// into it keeps one unit the same length across and up (circles stay round).
pub fn equal_aspect_rect(
    width: u32,
    height: u32,
    aspect: f64,
    margin: u32,
) -> (u32, u32, u32, u32) {
    let (w, h) = (
        width.saturating_sub(2 * margin).max(1),
        height.saturating_sub(2 * margin).max(1),
    );
    let (fitted_w, fitted_h) = if f64::from(w) / f64::from(h) > aspect {
        (((f64::from(h) * aspect).round() as u32).max(1), h)
    } else {
        (w, ((f64::from(w) / aspect).round() as u32).max(1))
    };
    (
        margin + (w - fitted_w) / 2,
        margin + (h - fitted_h) / 2,
        fitted_w,
        fitted_h,
    )
}

/// The part of `area` of [`equal_aspect_rect`].
pub fn equal_aspect_area<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    aspect: f64,
    margin: u32,
) -> DrawingArea<DB, Shift> {
    let (width, height) = area.dim_in_pixel();
    let (left, top, w, h) = equal_aspect_rect(width, height, aspect, margin);
    area.clone().shrink((left, top), (w, h))
}

/// A panel's area below its title (16 px) and, if there is one, a mark: a warning in red
/// (14 px) on its own line under the title.
///
/// # Errors
/// Backend errors.
pub fn panel_area<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    mark: Option<&str>,
) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let below_title = area.titled(title, ("sans-serif", 16))?;
    let Some(mark) = mark else {
        return Ok(below_title);
    };
    let (width, height) = below_title.dim_in_pixel();
    let (line, rest) = below_title.split_vertically(18.min(height));
    line.draw(&Text::new(
        mark,
        (width as i32 / 2, 2),
        ("sans-serif", 14)
            .into_font()
            .color(&RGBColor(170, 0, 0))
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    Ok(rest)
}
