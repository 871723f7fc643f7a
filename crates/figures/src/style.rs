//! Colours and fonts shared by every figure.
//!
//! Colours are plain [`Colour`] values chosen by the caller: the crate that knows what a series
//! means (the paper's, one colour per meaning) picks them; [`ramp`] gives shades for series
//! ordered by a number (β, ...).

use plotters::style::RGBColor;

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// Blue.
    pub const BLUE: Colour = Colour(31, 119, 180);
    /// Orange.
    pub const ORANGE: Colour = Colour(255, 127, 14);
    /// Green.
    pub const GREEN: Colour = Colour(44, 160, 44);
    /// Red.
    pub const RED: Colour = Colour(214, 39, 40);
    /// Purple.
    pub const PURPLE: Colour = Colour(148, 103, 189);
    /// Brown.
    pub const BROWN: Colour = Colour(140, 86, 75);
    /// Pink.
    pub const PINK: Colour = Colour(227, 119, 194);
    /// Grey.
    pub const GREY: Colour = Colour(127, 127, 127);
    /// Olive.
    pub const OLIVE: Colour = Colour(188, 189, 34);
    /// Cyan.
    pub const CYAN: Colour = Colour(23, 190, 207);
    /// Black.
    pub const BLACK: Colour = Colour(0, 0, 0);

    /// The colour for plotters.
    pub fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// Shade `index` of `count` on a sequential ramp (dark blue-violet through teal to yellow, as
/// viridis), for series ordered by a number.
pub fn ramp(index: usize, count: usize) -> Colour {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    // Stop short of the palest yellow, which is hard to see on white.
    let t = if count <= 1 {
        0.0
    } else {
        0.85 * index.min(count - 1) as f64 / (count - 1) as f64
    };
    let scaled = t * (STOPS.len() - 1) as f64;
    let k = (scaled.floor() as usize).min(STOPS.len() - 2);
    let f = scaled - k as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    Colour(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
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

/// The caption font: the embedded sans-serif at 20 px.
pub fn caption_font() -> (&'static str, u32) {
    ("sans-serif", 20)
}
