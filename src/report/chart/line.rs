//! Lines over dates or numbers: daily cost, latency percentiles, a forecast (dashed) with its
//! interval (a shaded band) drawn after the history.

use chrono::{Datelike, NaiveDate};
use plotters::element::Polygon;
use plotters::series::{DashedLineSeries, LineSeries as PlottersLine};
use plotters::style::{Color, ShapeStyle};

use super::axis::{Axis, finite_extent};
use super::canvas::{self, Frame, LegendEntry, Swatch};
use super::{ChartError, ChartSize, Colour, Unit};

/// An x value: a day or a number. One chart uses one kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum X {
    Date(NaiveDate),
    Num(f64),
}

impl From<NaiveDate> for X {
    fn from(d: NaiveDate) -> Self {
        X::Date(d)
    }
}

impl From<f64> for X {
    fn from(v: f64) -> Self {
        X::Num(v)
    }
}

impl X {
    /// Position on the axis: days since 0001-01-01 for dates.
    fn position(self) -> f64 {
        match self {
            X::Date(d) => f64::from(d.num_days_from_ce()),
            X::Num(v) => v,
        }
    }

    fn is_date(self) -> bool {
        matches!(self, X::Date(_))
    }
}

/// One line. Points are drawn in x order; non-finite y values are skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineSeries {
    pub name: String,
    pub points: Vec<(X, f64)>,
    /// Dashed, e.g. a forecast.
    pub dashed: bool,
    /// `None`: the palette colour of this series' index.
    pub colour: Option<Colour>,
}

impl LineSeries {
    pub fn new(name: impl Into<String>, points: Vec<(X, f64)>) -> Self {
        LineSeries {
            name: name.into(),
            points,
            dashed: false,
            colour: None,
        }
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    pub fn colour(mut self, colour: Colour) -> Self {
        self.colour = Some(colour);
        self
    }
}

/// A shaded interval (lower, upper) over x, e.g. a forecast's prediction interval. Drawn under
/// the lines, translucent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    pub name: String,
    pub points: Vec<(X, f64, f64)>,
    /// `None`: [`Colour::PRIMARY`].
    pub colour: Option<Colour>,
}

impl Band {
    pub fn new(name: impl Into<String>, points: Vec<(X, f64, f64)>) -> Self {
        Band {
            name: name.into(),
            points,
            colour: None,
        }
    }
}

/// A line chart. The y axis starts at 0 unless `y_range` is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Tick format for a numeric x axis (date axes always read "Jan 06").
    pub x_unit: Unit,
    pub y_unit: Unit,
    pub series: Vec<LineSeries>,
    pub bands: Vec<Band>,
    /// Fixed y range instead of 0..max (e.g. 95..100 for an availability line).
    pub y_range: Option<(f64, f64)>,
    pub size: ChartSize,
}

/// Renders a [`LineChart`]: one `<polyline>` per solid series, dash segments for dashed ones, one
/// `<polygon>` per band, a legend row above the plot.
pub fn render_line_chart(spec: &LineChart) -> Result<String, ChartError> {
    let kind = check_x_kind(spec)?;
    let series: Vec<Vec<(f64, f64)>> = spec.series.iter().map(|s| clean_points(&s.points)).collect();
    let bands: Vec<Vec<(f64, f64, f64)>> = spec.bands.iter().map(|b| clean_band(&b.points)).collect();

    let xs = series
        .iter()
        .flatten()
        .map(|p| p.0)
        .chain(bands.iter().flatten().map(|p| p.0));
    let ys = series
        .iter()
        .flatten()
        .map(|p| p.1)
        .chain(bands.iter().flatten().flat_map(|p| [p.1, p.2]));
    let (x_extent, y_extent) = (finite_extent(xs), finite_extent(ys));

    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        let (Some((x_min, x_max)), Some((y_min, y_max))) = (x_extent, y_extent) else {
            return canvas::no_data(&area);
        };
        let mut legend = Vec::new();
        for (i, s) in spec.series.iter().enumerate() {
            if !series[i].is_empty() && !s.name.is_empty() {
                let colour = s.colour.unwrap_or(Colour::series(i));
                legend.push(LegendEntry {
                    name: s.name.clone(),
                    colour,
                    swatch: Swatch::Line,
                });
            }
        }
        for (b, points) in spec.bands.iter().zip(&bands) {
            if !points.is_empty() && !b.name.is_empty() {
                let colour = b.colour.unwrap_or(Colour::PRIMARY).mix(Colour::WHITE, 0.7);
                legend.push(LegendEntry {
                    name: b.name.clone(),
                    colour,
                    swatch: Swatch::Box,
                });
            }
        }
        let area = canvas::legend_row(&area, &legend)?;

        let x_axis = if kind == Some(true) {
            Axis::dates(x_min.round() as i32, x_max.round() as i32, 8)
        } else {
            Axis::linear(x_min, x_max, false, spec.x_unit, 8)
        };
        let y_axis = match spec.y_range {
            Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => {
                Axis::linear(lo, hi, false, spec.y_unit, 6)
            }
            _ => Axis::linear(y_min, y_max, true, spec.y_unit, 6),
        };
        let mut plot = canvas::cartesian(&area, &Frame::plain(&spec.x_label, &spec.y_label, &x_axis, &y_axis))?;
        let clamp = |y: f64| y.clamp(y_axis.lo, y_axis.hi);
        for (b, points) in spec.bands.iter().zip(&bands) {
            if points.len() < 2 {
                continue;
            }
            let colour = b.colour.unwrap_or(Colour::PRIMARY);
            let outline: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.0, clamp(p.2)))
                .chain(points.iter().rev().map(|p| (p.0, clamp(p.1))))
                .collect();
            plot.draw_series(std::iter::once(Polygon::new(outline, colour.rgb().mix(0.18).filled())))?;
        }
        for (i, (s, points)) in spec.series.iter().zip(&series).enumerate() {
            let colour = s.colour.unwrap_or(Colour::series(i));
            let style = ShapeStyle::from(colour.rgb()).stroke_width(2);
            let points = points.iter().map(|&(x, y)| (x, clamp(y)));
            if s.dashed {
                plot.draw_series(DashedLineSeries::new(points, 6, 4, style))?;
            } else {
                plot.draw_series(PlottersLine::new(points, style))?;
            }
        }
        Ok(())
    })
}

/// `Some(true)` for a date axis, `Some(false)` numeric, `None` without points; mixing is an error.
fn check_x_kind(spec: &LineChart) -> Result<Option<bool>, ChartError> {
    let mut kind = None;
    let named = spec
        .series
        .iter()
        .map(|s| (&s.name, s.points.iter().map(|p| p.0).collect::<Vec<_>>()))
        .chain(
            spec.bands
                .iter()
                .map(|b| (&b.name, b.points.iter().map(|p| p.0).collect())),
        );
    for (name, xs) in named {
        for x in xs {
            match kind {
                None => kind = Some(x.is_date()),
                Some(k) if k != x.is_date() => {
                    return Err(ChartError::MixedX {
                        title: spec.title.clone(),
                        series: name.clone(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(kind)
}

/// Finite points sorted by x (stable, so equal x keep their order).
fn clean_points(points: &[(X, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = points
        .iter()
        .map(|&(x, y)| (x.position(), y))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn clean_band(points: &[(X, f64, f64)]) -> Vec<(f64, f64, f64)> {
    let mut out: Vec<(f64, f64, f64)> = points
        .iter()
        .map(|&(x, lo, hi)| (x.position(), lo, hi))
        .filter(|(x, lo, hi)| x.is_finite() && lo.is_finite() && hi.is_finite())
        .map(|(x, lo, hi)| (x, lo.min(hi), lo.max(hi)))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}
