//! Colours and fonts shared by every figure.

use plotters::style::RGBColor;

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

/// The caption font: the embedded sans-serif at 20 px.
pub fn caption_font() -> (&'static str, u32) {
    ("sans-serif", 20)
}
