//! x-y charts: lines, dashed lines, points with error bars, shaded bands, reference lines.
//!
//! Log axes are drawn by plotting `log10` of the values, with guides and labels at 1, 2 and 5
//! times each power of ten, so one code path serves every combination of linear and log axes.
//!
//! With a fixed y range ([`Chart::y_range`]), lines are cut where they leave it and points
//! outside it are not drawn: the caller says so in the series' label ([`outside_y_range`]
//! finds such series).

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figure::{DrawResult, Figure};
use crate::style::{caption_font, Colour};

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

/// How the points of a series are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Marker {
    /// Filled discs.
    #[default]
    Disc,
    /// Rings (hollow discs), e.g. for runs that did not converge.
    Ring,
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
    /// Its colour.
    pub colour: Colour,
    /// Point radius or line width.
    pub size: u32,
    /// How its points are marked.
    pub marker: Marker,
}

impl Series {
    /// A series with no error bars, its points marked by discs.
    pub fn new(label: &str, points: Vec<(f64, f64)>, style: Style, colour: Colour) -> Series {
        Series {
            label: label.into(),
            points,
            errors: Vec::new(),
            style,
            colour,
            size: 2,
            marker: Marker::Disc,
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
    /// Its colour.
    pub colour: Colour,
}

/// A horizontal reference line.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Where.
    pub y: f64,
    /// Legend text.
    pub label: String,
    /// Its colour.
    pub colour: Colour,
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

/// The labels of the series with points outside the chart's fixed y range (not drawn there).
pub fn outside_y_range(chart: &Chart) -> Vec<&str> {
    let Some((lo, hi)) = chart.y_range else {
        return Vec::new();
    };
    chart
        .series
        .iter()
        .filter(|s| s.points.iter().any(|&(_, y)| y < lo || y > hi))
        .map(|s| s.label.as_str())
        .collect()
}

/// A polyline cut to the band `lo <= y <= hi`: the pieces inside it, each ending where the line
/// crosses the band's edge (interpolated linearly between the points on either side).
pub fn clip_to_band(points: &[(f64, f64)], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
    let inside = |y: f64| (lo..=hi).contains(&y);
    // Where the segment from `a` to `b` crosses the edge at height `edge`.
    let cross = |a: (f64, f64), b: (f64, f64), edge: f64| {
        let f = (edge - a.1) / (b.1 - a.1);
        (a.0 + f * (b.0 - a.0), edge)
    };
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let previous = i.checked_sub(1).map(|j| points[j]);
        match (previous, inside(p.1)) {
            (None, true) => current.push(p),
            (None, false) => {}
            (Some(a), true) => {
                if !inside(a.1) {
                    let edge = if a.1 > hi { hi } else { lo };
                    current.push(cross(a, p, edge));
                }
                current.push(p);
            }
            (Some(a), false) => {
                if inside(a.1) {
                    let edge = if p.1 > hi { hi } else { lo };
                    current.push(cross(a, p, edge));
                    pieces.push(std::mem::take(&mut current));
                } else if (a.1 > hi && p.1 < lo) || (a.1 < lo && p.1 > hi) {
                    // Straight across the band.
                    let (first, second) = if a.1 > hi { (hi, lo) } else { (lo, hi) };
                    pieces.push(vec![cross(a, p, first), cross(a, p, second)]);
                }
            }
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces.retain(|piece| !piece.is_empty());
    pieces
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
        let c = band.colour.rgb();
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
        let c = reference.colour.rgb();
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
        draw_series(chart, &mut context, series, (y0, y1))?;
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

/// A marker of radius `size` at a point: a disc, or a ring on white (so that error bars and
/// lines do not show through it).
fn marker<C>(at: C, size: u32, c: RGBColor, marker: Marker) -> Vec<Circle<C, u32>>
where
    C: Clone,
{
    match marker {
        Marker::Disc => vec![Circle::new(at, size, c.filled())],
        Marker::Ring => vec![
            Circle::new(at.clone(), size, WHITE.filled()),
            Circle::new(at, size, c.stroke_width(2)),
        ],
    }
}

type Context<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws one series, its lines cut and its points dropped outside the plotted y range.
fn draw_series<'a, DB: DrawingBackend + 'a>(
    chart: &Chart,
    context: &mut Context<'a, DB>,
    series: &Series,
    (y0, y1): (f64, f64),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let c = series.colour.rgb();
    let points: Vec<(f64, f64)> = series
        .points
        .iter()
        .map(|&(x, y)| (chart.tx(x), chart.ty(y)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let pieces = clip_to_band(&points, y0, y1);
    let shown: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|&(_, y)| (y0..=y1).contains(&y))
        .collect();
    let size = series.size;
    let label = series.label.as_str();
    let kind = series.marker;
    let legend_line =
        move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(size));
    let legend_point = move |(x, y): (i32, i32)| {
        let (fill, edge) = match kind {
            Marker::Disc => (c.filled(), c.filled()),
            Marker::Ring => (WHITE.filled(), c.stroke_width(2)),
        };
        EmptyElement::at((x + 10, y))
            + Circle::new((0, 0), size + 1, fill)
            + Circle::new((0, 0), size + 1, edge)
    };
    // The legend entry goes with the first drawn element (a series may have no points left).
    match series.style {
        Style::Line | Style::LinePoints => {
            let drawn = context.draw_series(
                pieces
                    .iter()
                    .map(|piece| PathElement::new(piece.clone(), c.stroke_width(size))),
            )?;
            if !label.is_empty() {
                drawn.label(label).legend(legend_line);
            }
            if series.style == Style::LinePoints {
                context.draw_series(shown.iter().flat_map(|&p| marker(p, size + 2, c, kind)))?;
            }
        }
        Style::Dashed => {
            let drawn =
                context.draw_series(pieces.iter().map(|piece| {
                    DashedPathElement::new(piece.clone(), 10, 6, c.stroke_width(size))
                }))?;
            if !label.is_empty() {
                drawn
                    .label(label)
                    .legend(move |at| legend_dashes(at, c, size));
            }
        }
        Style::Points => {
            let drawn = context.draw_series(shown.iter().flat_map(|&p| match kind {
                Marker::Disc => vec![Circle::new(p, size, c.mix(0.6).filled())],
                Marker::Ring => marker(p, size, c, kind),
            }))?;
            if !label.is_empty() {
                drawn.label(label).legend(legend_point);
            }
        }
        Style::PointsWithErrors => {
            let bars = series
                .points
                .iter()
                .zip(&series.errors)
                .filter(|(point, _)| (y0..=y1).contains(&chart.ty(point.1)))
                .map(|(&(x, y), &(lo, hi))| {
                    ErrorBar::new_vertical(
                        chart.tx(x),
                        chart.ty(lo).max(y0),
                        chart.ty(y),
                        chart.ty(hi).min(y1),
                        c.stroke_width(2),
                        8,
                    )
                });
            context.draw_series(bars)?;
            let drawn =
                context.draw_series(shown.iter().flat_map(|&p| marker(p, size + 2, c, kind)))?;
            if !label.is_empty() {
                drawn.label(label).legend(legend_point);
            }
        }
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
