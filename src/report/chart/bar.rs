//! Bars: horizontal for ranked categories with long names (models, customers), vertical groups
//! for a few series per category (revenue vs cost per tier).

use plotters::element::{Rectangle, Text};
use plotters::style::Color;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Axis, finite_extent};
use super::canvas::{self, Frame, LegendEntry, Root, TICK_SIZE};
use super::palette::TEXT;
use super::{ChartError, ChartSize, Colour, Unit, check_len};

/// Category labels longer than this are cut with "…".
const MAX_LABEL_CHARS: usize = 28;

/// One horizontal bar. A non-finite value drops the bar (and its label).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// `None`: the chart's colour.
    pub colour: Option<Colour>,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: f64) -> Self {
        Bar {
            label: label.into(),
            value,
            colour: None,
        }
    }

    pub fn colour(mut self, colour: Colour) -> Self {
        self.colour = Some(colour);
        self
    }
}

/// Horizontal bars, drawn top to bottom in the given order (rank them first), each with its value
/// printed in `unit` at the bar's end. Negative values extend left of zero. The default 400 px
/// height keeps about 15 bars readable; allow ~24 px per bar beyond that (or show the top N).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarChart {
    pub title: String,
    /// Title of the value (x) axis.
    pub value_label: String,
    pub unit: Unit,
    pub bars: Vec<Bar>,
    /// `None`: [`Colour::PRIMARY`].
    pub colour: Option<Colour>,
    pub size: ChartSize,
}

/// Renders a [`BarChart`]: one `<rect>` per finite bar, plus its category and value `<text>`.
pub fn render_bar_chart(spec: &BarChart) -> Result<String, ChartError> {
    let bars: Vec<&Bar> = spec.bars.iter().filter(|b| b.value.is_finite()).collect();
    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        let Some((min, max)) = finite_extent(bars.iter().map(|b| b.value)) else {
            return canvas::no_data(&area);
        };
        let tick_style = canvas::text_style(TICK_SIZE, TEXT);
        let labels: Vec<String> = bars
            .iter()
            .map(|b| canvas::truncate(&b.label, MAX_LABEL_CHARS))
            .collect();
        let values: Vec<String> = bars.iter().map(|b| spec.unit.format(b.value)).collect();
        let mut label_w = 0;
        for label in &labels {
            label_w = label_w.max(area.estimate_text_size(label, &tick_style)?.0);
        }
        let mut value_w = 0;
        for value in &values {
            value_w = value_w.max(area.estimate_text_size(value, &tick_style)?.0);
        }

        let mut x_axis = Axis::linear(min, max, true, spec.unit, 6);
        if min < 0.0 {
            // Room for the value labels printed left of negative bars.
            x_axis = Axis::linear(min - 0.12 * (max.max(0.0) - min), max, true, spec.unit, 6);
        }
        let n = bars.len() as f64;
        let y_axis = Axis::bare(0.0, n);
        let plot = canvas::cartesian(
            &area,
            &Frame {
                x_label: &spec.value_label,
                y_label: "",
                x: &x_axis,
                y: &y_axis,
                left_extra: label_w + 4,
                bottom_extra: 0,
                right: value_w + 8,
                x_grid: true,
            },
        )?;
        let (x_pixels, _) = plot.plotting_area().get_pixel_range();
        let default_colour = spec.colour.unwrap_or(Colour::PRIMARY);
        for (i, bar) in bars.iter().enumerate() {
            let top = n - i as f64;
            let (y0, y1) = (top - 0.15, top - 0.85);
            let colour = bar.colour.unwrap_or(default_colour);
            plot.plotting_area()
                .draw(&Rectangle::new([(0.0, y0), (bar.value, y1)], colour.rgb().filled()))?;
            let (end_x, centre_y) = plot.backend_coord(&(bar.value, top - 0.5));
            let (label_pos, anchor) = if bar.value < 0.0 {
                (end_x - 4, HPos::Right)
            } else {
                (end_x + 4, HPos::Left)
            };
            draw_text(root, &values[i], (label_pos, centre_y), anchor)?;
            draw_text(root, &labels[i], (x_pixels.start - 8, centre_y), HPos::Right)?;
        }
        Ok(())
    })
}

/// One series of a grouped bar chart: a value per category (non-finite: no bar).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
    /// `None`: the palette colour of this series' index.
    pub colour: Option<Colour>,
}

impl BarSeries {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        BarSeries {
            name: name.into(),
            values,
            colour: None,
        }
    }

    pub fn colour(mut self, colour: Colour) -> Self {
        self.colour = Some(colour);
        self
    }
}

/// Vertical bars, one group per category, one bar per series in each group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupedBarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub unit: Unit,
    pub categories: Vec<String>,
    /// Each series has exactly one value per category.
    pub series: Vec<BarSeries>,
    /// Print each bar's value above it.
    pub show_values: bool,
    pub size: ChartSize,
}

/// Renders a [`GroupedBarChart`]: one `<rect>` per finite value, a legend row of the series.
pub fn render_grouped_bar_chart(spec: &GroupedBarChart) -> Result<String, ChartError> {
    for s in &spec.series {
        check_len(&spec.title, &s.name, "category", spec.categories.len(), s.values.len())?;
    }
    let extent = finite_extent(spec.series.iter().flat_map(|s| s.values.iter().copied()));
    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        let Some((min, max)) = extent else {
            return canvas::no_data(&area);
        };
        let legend = LegendEntry::boxes(spec.series.iter().map(|s| (s.name.as_str(), s.colour)));
        let area = canvas::legend_row(&area, &legend)?;
        let n_cat = spec.categories.len();
        let x_axis = Axis::bare(0.0, n_cat as f64);
        // Headroom for the value labels.
        let top = if spec.show_values {
            max + 0.08 * (max - min.min(0.0))
        } else {
            max
        };
        let y_axis = Axis::linear(min, top, true, spec.unit, 6);
        let plot = canvas::cartesian(
            &area,
            &Frame {
                x_label: &spec.x_label,
                y_label: &spec.y_label,
                x: &x_axis,
                y: &y_axis,
                left_extra: 0,
                bottom_extra: 20,
                right: 0,
                x_grid: false,
            },
        )?;
        let (x_pixels, y_pixels) = plot.plotting_area().get_pixel_range();
        let slot_px = (x_pixels.end - x_pixels.start) as f64 / n_cat.max(1) as f64;
        let max_chars = ((slot_px / 7.0) as usize).max(4);
        let n_series = spec.series.len().max(1) as f64;
        let width = 0.8 / n_series;
        for (c, category) in spec.categories.iter().enumerate() {
            for (i, s) in spec.series.iter().enumerate() {
                let value = s.values[c];
                if !value.is_finite() {
                    continue;
                }
                let x0 = c as f64 + 0.1 + i as f64 * width;
                let colour = s.colour.unwrap_or(Colour::series(i));
                plot.plotting_area()
                    .draw(&Rectangle::new([(x0, 0.0), (x0 + width, value)], colour.rgb().filled()))?;
                if spec.show_values {
                    let (px, py) = plot.backend_coord(&(x0 + width / 2.0, value));
                    let (anchor_y, v) = if value < 0.0 {
                        (py + 4, VPos::Top)
                    } else {
                        (py - 3, VPos::Bottom)
                    };
                    root.draw(&Text::new(
                        spec.unit.format_tick(value),
                        (px, anchor_y),
                        canvas::text_style(TICK_SIZE - 1.0, TEXT).pos(Pos::new(HPos::Center, v)),
                    ))?;
                }
            }
            let (px, _) = plot.backend_coord(&(c as f64 + 0.5, 0.0));
            root.draw(&Text::new(
                canvas::truncate(category, max_chars),
                (px, y_pixels.end + 6),
                canvas::text_style(TICK_SIZE, TEXT).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        Ok(())
    })
}

fn draw_text(root: &Root<'_>, text: &str, at: (i32, i32), h: HPos) -> Result<(), canvas::DrawFailure> {
    root.draw(&Text::new(
        text.to_string(),
        at,
        canvas::text_style(TICK_SIZE, TEXT).pos(Pos::new(h, VPos::Center)),
    ))?;
    Ok(())
}
