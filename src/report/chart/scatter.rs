//! Points on two measures: features by adoption × cost with invest / maintain / optimize / sunset
//! quadrants, customers by revenue × margin.

use plotters::element::{Circle, Text};
use plotters::series::DashedLineSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, ShapeStyle};

use super::axis::{Axis, finite_extent};
use super::canvas::{self, Frame, LegendEntry, Swatch, TICK_SIZE};
use super::palette::TEXT;
use super::{ChartError, ChartSize, Colour, Unit};

/// One point; a non-finite coordinate drops it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    /// Points of one category share a colour and a legend entry (colours by first appearance).
    pub category: Option<String>,
    /// Text printed next to the point; keep it to a few points.
    pub label: Option<String>,
}

impl ScatterPoint {
    pub fn new(x: f64, y: f64) -> Self {
        ScatterPoint {
            x,
            y,
            category: None,
            label: None,
        }
    }

    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
}

/// Dashed lines at `x` and `y` splitting the plot, with a name in each corner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quadrants {
    pub x: f64,
    pub y: f64,
    /// Top-left, top-right, bottom-left, bottom-right; empty strings print nothing.
    pub labels: [String; 4],
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScatterChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_unit: Unit,
    pub y_unit: Unit,
    pub points: Vec<ScatterPoint>,
    pub quadrants: Option<Quadrants>,
    pub size: ChartSize,
}

/// Renders a [`ScatterChart`]: one `<circle>` per finite point, a legend row (`<rect>` swatches)
/// when points have categories, quadrant lines dashed.
pub fn render_scatter_chart(spec: &ScatterChart) -> Result<String, ChartError> {
    let points: Vec<&ScatterPoint> = spec
        .points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let mut categories: Vec<&str> = Vec::new();
    for p in &points {
        if let Some(c) = p.category.as_deref()
            && !categories.contains(&c)
        {
            categories.push(c);
        }
    }
    let colour_of = |p: &ScatterPoint| match p.category.as_deref() {
        Some(c) => Colour::series(categories.iter().position(|k| *k == c).unwrap_or(0)),
        None if categories.is_empty() => Colour::PRIMARY,
        None => Colour::MUTED,
    };
    let quadrants = spec.quadrants.as_ref().filter(|q| q.x.is_finite() && q.y.is_finite());

    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        if points.is_empty() {
            return canvas::no_data(&area);
        }
        let legend: Vec<LegendEntry> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| LegendEntry {
                name: c.to_string(),
                colour: Colour::series(i),
                swatch: Swatch::Box,
            })
            .collect();
        let area = canvas::legend_row(&area, &legend)?;
        let xs = points.iter().map(|p| p.x).chain(quadrants.map(|q| q.x));
        let ys = points.iter().map(|p| p.y).chain(quadrants.map(|q| q.y));
        let (x_min, x_max) = finite_extent(xs).unwrap_or((0.0, 1.0));
        let (y_min, y_max) = finite_extent(ys).unwrap_or((0.0, 1.0));
        let x_axis = Axis::padded(x_min, x_max, spec.x_unit, 8);
        let y_axis = Axis::padded(y_min, y_max, spec.y_unit, 6);
        let mut plot = canvas::cartesian(
            &area,
            &Frame {
                x_grid: true,
                ..Frame::plain(&spec.x_label, &spec.y_label, &x_axis, &y_axis)
            },
        )?;
        if let Some(q) = quadrants {
            let style = ShapeStyle::from(Colour::MUTED.rgb()).stroke_width(1);
            plot.draw_series(DashedLineSeries::new([(q.x, y_axis.lo), (q.x, y_axis.hi)], 5, 4, style))?;
            plot.draw_series(DashedLineSeries::new([(x_axis.lo, q.y), (x_axis.hi, q.y)], 5, 4, style))?;
            let corners = [
                ((x_axis.lo, y_axis.hi), HPos::Left, VPos::Top, (6, 4)),
                ((x_axis.hi, y_axis.hi), HPos::Right, VPos::Top, (-6, 4)),
                ((x_axis.lo, y_axis.lo), HPos::Left, VPos::Bottom, (6, -4)),
                ((x_axis.hi, y_axis.lo), HPos::Right, VPos::Bottom, (-6, -4)),
            ];
            for (label, (at, h, v, (dx, dy))) in q.labels.iter().zip(corners) {
                if label.is_empty() {
                    continue;
                }
                let (x, y) = plot.backend_coord(&at);
                root.draw(&Text::new(
                    label.clone(),
                    (x + dx, y + dy),
                    canvas::bold_style(TICK_SIZE + 1.0, Colour::MUTED).pos(Pos::new(h, v)),
                ))?;
            }
        }
        for p in &points {
            let colour = colour_of(p);
            plot.plotting_area()
                .draw(&Circle::new((p.x, p.y), 5, colour.rgb().mix(0.8).filled()))?;
        }
        // Labels go left of points in the right quarter, so they stay inside the chart.
        let right_quarter = x_axis.lo + 0.75 * (x_axis.hi - x_axis.lo);
        for p in &points {
            if let Some(label) = p.label.as_deref().filter(|l| !l.is_empty()) {
                let (x, y) = plot.backend_coord(&(p.x, p.y));
                let (x, h) = if p.x > right_quarter {
                    (x - 8, HPos::Right)
                } else {
                    (x + 8, HPos::Left)
                };
                root.draw(&Text::new(
                    canvas::truncate(label, 28),
                    (x, y),
                    canvas::text_style(TICK_SIZE, TEXT).pos(Pos::new(h, VPos::Center)),
                ))?;
            }
        }
        Ok(())
    })
}
