//! x-y charts: lines, dashed lines, points with error bars, shaded bands, reference lines.
//!
//! Log axes are drawn by plotting `log10` of the values, with guides and labels at 1, 2 and 5
//! times each power of ten, so one code path serves every combination of linear and log axes.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figure::{DrawResult, Figure};
use crate::style::{caption_font, colour};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// Points.
    Points,
    /// Points with vertical error bars (`Series::errors`).
    PointsWithErrors,
    /// A solid line with points.
    LinePoints,
}

/// One series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text (empty: not in the legend).
    pub label: String,
    /// `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// `(low, high)` per point, for [`Style::PointsWithErrors`].
    pub errors: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: Style,
    /// Colour index (see [`crate::style::colour`]).
    pub colour: usize,
    /// Point radius or line width.
    pub size: u32,
}

impl Series {
    /// A series with no error bars.
    pub fn new(label: &str, points: Vec<(f64, f64)>, style: Style, colour: usize) -> Series {
        Series {
            label: label.into(),
            points,
            errors: Vec::new(),
            style,
            colour,
            size: 2,
        }
    }
}

/// A shaded band `low(x) .. high(x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Legend text.
    pub label: String,
    /// `(x, low, high)`, by increasing x.
    pub points: Vec<(f64, f64, f64)>,
    /// Colour index.
    pub colour: usize,
}

/// A horizontal reference line.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Where.
    pub y: f64,
    /// Legend text.
    pub label: String,
    /// Colour index.
    pub colour: usize,
}

/// An x-y chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// x-axis label, with units.
    pub x_label: String,
    /// y-axis label, with units.
    pub y_label: String,
    /// Series, drawn in order.
    pub series: Vec<Series>,
    /// Bands, drawn first.
    pub bands: Vec<Band>,
    /// Horizontal reference lines.
    pub references: Vec<Reference>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Fixed y range, if any.
    pub y_range: Option<(f64, f64)>,
    /// Legend in the upper left (else upper right).
    pub legend_left: bool,
    /// Pixels.
    pub size: (u32, u32),
}

impl Chart {
    /// An empty chart.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            bands: Vec::new(),
            references: Vec::new(),
            log_x: false,
            log_y: false,
            y_range: None,
            legend_left: true,
            size: (900, 600),
        }
    }

    fn tx(&self, x: f64) -> f64 {
        if self.log_x {
            x.log10()
        } else {
            x
        }
    }

    fn ty(&self, y: f64) -> f64 {
        if self.log_y {
            y.log10()
        } else {
            y
        }
    }

    /// The plotted ranges, padded by 5%.
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &self.series {
            for (i, &(x, y)) in s.points.iter().enumerate() {
                xs.push(self.tx(x));
                ys.push(self.ty(y));
                if let Some(&(lo, hi)) = s.errors.get(i) {
                    ys.push(self.ty(lo));
                    ys.push(self.ty(hi));
                }
            }
        }
        for b in &self.bands {
            for &(x, lo, hi) in &b.points {
                xs.push(self.tx(x));
                ys.push(self.ty(lo));
                ys.push(self.ty(hi));
            }
        }
        for r in &self.references {
            ys.push(self.ty(r.y));
        }
        let span = |values: &[f64]| {
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !lo.is_finite() {
                return (0.0, 1.0);
            }
            let pad = ((hi - lo) * 0.05).max(1e-9 + lo.abs() * 0.05);
            (lo - pad, hi + pad)
        };
        let x = span(&xs);
        let y = match self.y_range {
            Some((lo, hi)) => (self.ty(lo), self.ty(hi)),
            None => span(&ys),
        };
        (x, y)
    }
}

/// The legend entry of a dashed line: 20 pixels of dashes from `(x, y)`.
fn legend_dashes(
    (x, y): (i32, i32),
    c: RGBColor,
    width: u32,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    DashedPathElement::new(vec![(x, y), (x + 20, y)], 7, 6, c.stroke_width(width))
}

/// Positions (in log10) of 1, 2 and 5 times each power of ten strictly inside `lo..hi`.
fn log_guides(lo: f64, hi: f64) -> Vec<f64> {
    let mut guides = Vec::new();
    for decade in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for factor in [1.0f64, 2.0, 5.0] {
            let v = decade as f64 + factor.log10();
            if v > lo && v < hi {
                guides.push(v);
            }
        }
    }
    guides
}

impl Figure for Chart {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        draw_chart(self, root)
    }
}

/// Draws a chart on an area (used on its own and inside grids).
pub fn draw_chart<DB: DrawingBackend>(chart: &Chart, area: &DrawingArea<DB, Shift>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let ((x0, x1), (y0, y1)) = chart.ranges();
    let mut context = ChartBuilder::on(area)
        .caption(&chart.title, caption_font())
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let (log_x, log_y) = (chart.log_x, chart.log_y);
    let format = |v: &f64| format!("{}", trim(*v));
    let mut mesh = context.configure_mesh();
    mesh.x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&format)
        .y_label_formatter(&format)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225));
    // Log axes get their labels below (or left of) the axis at 1, 2 and 5 times each power of
    // ten, drawn here rather than by the mesh, whose ticks fall at even steps of the exponent.
    if log_x {
        mesh.x_labels(0);
    }
    if log_y {
        mesh.y_labels(0);
    }
    mesh.draw()?;
    let (base_x, base_y) = area.get_base_pixel();
    let label_font = ("sans-serif", 13).into_font().color(&BLACK);
    let guide = RGBColor(225, 225, 225);
    if log_x {
        for x in log_guides(x0, x1) {
            context.draw_series(std::iter::once(PathElement::new(
                vec![(x, y0), (x, y1)],
                guide,
            )))?;
            let (px, py) = context.backend_coord(&(x, y0));
            area.draw(&Text::new(
                trim(10f64.powf(x)).to_string(),
                (px - base_x, py - base_y + 6),
                label_font.pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
    }
    if log_y {
        for y in log_guides(y0, y1) {
            context.draw_series(std::iter::once(PathElement::new(
                vec![(x0, y), (x1, y)],
                guide,
            )))?;
            let (px, py) = context.backend_coord(&(x0, y));
            area.draw(&Text::new(
                trim(10f64.powf(y)).to_string(),
                (px - base_x - 6, py - base_y),
                label_font.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
    }

    for band in &chart.bands {
        let c = colour(band.colour);
        let mut outline: Vec<(f64, f64)> = band
            .points
            .iter()
            .map(|&(x, lo, _)| (chart.tx(x), chart.ty(lo)))
            .collect();
        outline.extend(
            band.points
                .iter()
                .rev()
                .map(|&(x, _, hi)| (chart.tx(x), chart.ty(hi))),
        );
        let drawn =
            context.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
        if !band.label.is_empty() {
            drawn.label(band.label.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 20, y + 6)], c.mix(0.25).filled())
            });
        }
    }
    for reference in &chart.references {
        let c = colour(reference.colour);
        let y = chart.ty(reference.y);
        let drawn = context.draw_series(DashedLineSeries::new(
            vec![(x0, y), (x1, y)],
            8,
            5,
            c.stroke_width(2),
        ))?;
        if !reference.label.is_empty() {
            drawn
                .label(reference.label.as_str())
                .legend(move |(x, y)| legend_dashes((x, y), c, 2));
        }
    }
    for series in &chart.series {
        let c = colour(series.colour);
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|&(x, y)| (chart.tx(x), chart.ty(y)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let size = series.size;
        let label = series.label.as_str();
        let legend_line = move |(x, y): (i32, i32)| {
            PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(size))
        };
        let legend_point = move |(x, y): (i32, i32)| Circle::new((x + 10, y), size + 1, c.filled());
        match series.style {
            Style::Line | Style::LinePoints => {
                let drawn =
                    context.draw_series(LineSeries::new(points.clone(), c.stroke_width(size)))?;
                if !label.is_empty() {
                    drawn.label(label).legend(legend_line);
                }
                if series.style == Style::LinePoints {
                    context.draw_series(
                        points.iter().map(|&p| Circle::new(p, size + 2, c.filled())),
                    )?;
                }
            }
            Style::Dashed => {
                let drawn = context.draw_series(DashedLineSeries::new(
                    points,
                    10,
                    6,
                    c.stroke_width(size),
                ))?;
                if !label.is_empty() {
                    drawn
                        .label(label)
                        .legend(move |at| legend_dashes(at, c, size));
                }
            }
            Style::Points => {
                let drawn = context.draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, size, c.mix(0.6).filled())),
                )?;
                if !label.is_empty() {
                    drawn.label(label).legend(legend_point);
                }
            }
            Style::PointsWithErrors => {
                let bars = series
                    .points
                    .iter()
                    .zip(&series.errors)
                    .map(|(&(x, y), &(lo, hi))| {
                        ErrorBar::new_vertical(
                            chart.tx(x),
                            chart.ty(lo),
                            chart.ty(y),
                            chart.ty(hi),
                            c.stroke_width(2),
                            8,
                        )
                    });
                context.draw_series(bars)?;
                let drawn = context
                    .draw_series(points.iter().map(|&p| Circle::new(p, size + 2, c.filled())))?;
                if !label.is_empty() {
                    drawn.label(label).legend(legend_point);
                }
            }
        }
    }
    let has_legend = chart.series.iter().any(|s| !s.label.is_empty())
        || chart.bands.iter().any(|b| !b.label.is_empty())
        || chart.references.iter().any(|r| !r.label.is_empty());
    if has_legend {
        context
            .configure_series_labels()
            .position(if chart.legend_left {
                SeriesLabelPosition::UpperLeft
            } else {
                SeriesLabelPosition::UpperRight
            })
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()?;
    }
    Ok(())
}

/// A tick value without float noise (`0.30000000000000004` → `0.3`).
pub(crate) fn trim(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let digits = 6 - v.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits.clamp(0, 15));
    (v * scale).round() / scale
}
