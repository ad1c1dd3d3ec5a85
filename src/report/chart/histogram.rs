//! Distributions: latency, margin per customer. Takes raw values (binned here) or bins an
//! analyzer already made, and marks thresholds such as an SLA with a dashed vertical line.

use plotters::element::{Rectangle, Text};
use plotters::series::DashedLineSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, ShapeStyle};

use super::axis::{Axis, finite_extent};
use super::canvas::{self, Frame, TICK_SIZE};
use super::{ChartError, ChartSize, Colour, Unit};

/// One bin: values in `lower..upper` and how many (or how much) fell in it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
}

impl Bin {
    /// `bins` equal-width bins over the finite `values` (the last bin includes the maximum).
    /// Empty when no value is finite.
    pub fn from_values(values: &[f64], bins: usize) -> Vec<Bin> {
        let Some((min, max)) = finite_extent(values.iter().copied()) else {
            return Vec::new();
        };
        let bins = bins.max(1);
        let (min, max) = if max > min { (min, max) } else { (min - 0.5, max + 0.5) };
        let width = (max - min) / bins as f64;
        let mut out: Vec<Bin> = (0..bins)
            .map(|i| Bin {
                lower: min + i as f64 * width,
                upper: if i + 1 == bins {
                    max
                } else {
                    min + (i + 1) as f64 * width
                },
                count: 0.0,
            })
            .collect();
        for v in values.iter().filter(|v| v.is_finite()) {
            let i = (((v - min) / width).floor() as usize).min(bins - 1);
            out[i].count += 1.0;
        }
        out
    }
}

/// What to draw: raw values to bin here, or ready bins.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramData {
    Raw { values: Vec<f64>, bins: usize },
    Binned(Vec<Bin>),
}

impl Default for HistogramData {
    fn default() -> Self {
        HistogramData::Binned(Vec::new())
    }
}

/// A vertical reference line, e.g. "SLA 2,000 ms" or "break-even 0%".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Marker {
    pub value: f64,
    pub label: String,
    /// `None`: [`Colour::DANGER`].
    pub colour: Option<Colour>,
}

impl Marker {
    pub fn new(value: f64, label: impl Into<String>) -> Self {
        Marker {
            value,
            label: label.into(),
            colour: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_unit: Unit,
    pub y_unit: Unit,
    pub data: HistogramData,
    pub markers: Vec<Marker>,
    /// `None`: [`Colour::PRIMARY`].
    pub colour: Option<Colour>,
    pub size: ChartSize,
}

/// Renders a [`Histogram`]: one `<rect>` per bin with a finite, positive count; markers as dashed
/// lines with their label.
pub fn render_histogram(spec: &Histogram) -> Result<String, ChartError> {
    let bins: Vec<Bin> = match &spec.data {
        HistogramData::Raw { values, bins } => Bin::from_values(values, *bins),
        HistogramData::Binned(bins) => bins
            .iter()
            .filter(|b| b.lower.is_finite() && b.upper.is_finite() && b.count.is_finite())
            .copied()
            .collect(),
    };
    let markers: Vec<&Marker> = spec.markers.iter().filter(|m| m.value.is_finite()).collect();
    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        let x_extent = finite_extent(
            bins.iter()
                .flat_map(|b| [b.lower, b.upper])
                .chain(markers.iter().map(|m| m.value)),
        );
        let (Some((x_min, x_max)), Some((y_min, y_max))) = (x_extent, finite_extent(bins.iter().map(|b| b.count)))
        else {
            return canvas::no_data(&area);
        };
        let x_axis = Axis::linear(x_min, x_max, false, spec.x_unit, 8);
        // Headroom for marker labels.
        let y_axis = Axis::linear(y_min.min(0.0), y_max * 1.1, true, spec.y_unit, 6);
        let mut plot = canvas::cartesian(&area, &Frame::plain(&spec.x_label, &spec.y_label, &x_axis, &y_axis))?;
        let colour = spec.colour.unwrap_or(Colour::PRIMARY).rgb().mix(0.9).filled();
        for bin in bins.iter().filter(|b| b.count > 0.0) {
            let gap = (bin.upper - bin.lower).abs() * 0.02;
            plot.plotting_area().draw(&Rectangle::new(
                [(bin.lower + gap, bin.count), (bin.upper - gap, 0.0)],
                colour,
            ))?;
        }
        for m in &markers {
            let c = m.colour.unwrap_or(Colour::DANGER);
            let style = ShapeStyle::from(c.rgb()).stroke_width(2);
            plot.draw_series(DashedLineSeries::new(
                [(m.value, y_axis.lo), (m.value, y_axis.hi)],
                6,
                4,
                style,
            ))?;
            if !m.label.is_empty() {
                // Right of the line, or left of it in the right quarter so it stays inside.
                let (x, y) = plot.backend_coord(&(m.value, y_axis.hi));
                let right_quarter = x_axis.lo + 0.75 * (x_axis.hi - x_axis.lo);
                let (x, h) = if m.value > right_quarter {
                    (x - 4, HPos::Right)
                } else {
                    (x + 4, HPos::Left)
                };
                root.draw(&Text::new(
                    m.label.clone(),
                    (x, y + 2),
                    canvas::bold_style(TICK_SIZE, c).pos(Pos::new(h, VPos::Top)),
                ))?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_fill_equal_bins_and_skip_nan() {
        let bins = Bin::from_values(&[0.0, 1.0, 2.0, 3.0, 4.0, f64::NAN, f64::INFINITY], 2);
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[0].lower, bins[0].upper, bins[0].count), (0.0, 2.0, 2.0));
        assert_eq!((bins[1].lower, bins[1].upper, bins[1].count), (2.0, 4.0, 3.0));
        assert!(Bin::from_values(&[f64::NAN], 5).is_empty());
        assert_eq!(
            Bin::from_values(&[7.0, 7.0], 3).iter().map(|b| b.count).sum::<f64>(),
            2.0
        );
    }
}
