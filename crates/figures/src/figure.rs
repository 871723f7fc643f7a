//! The [`Figure`] trait: what every figure of this crate implements, drawn the same way on the
//! PNG and the SVG backend.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;

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
