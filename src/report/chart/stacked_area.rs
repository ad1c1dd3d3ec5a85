//! Series stacked over days: cost per provider per day, whose top edge is the daily total.

use chrono::{Datelike, NaiveDate};
use plotters::element::Polygon;
use plotters::style::Color;

use super::axis::Axis;
use super::canvas::{self, Frame, LegendEntry};
use super::{ChartError, ChartSize, Colour, Unit, check_len};

/// One layer: a value per date of the chart. Non-finite and negative values count as 0 (a stack
/// of shares has no negative layer).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AreaSeries {
    pub name: String,
    pub values: Vec<f64>,
    /// `None`: the palette colour of this series' index.
    pub colour: Option<Colour>,
}

impl AreaSeries {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        AreaSeries {
            name: name.into(),
            values,
            colour: None,
        }
    }
}

/// Layers stacked bottom-up in the given order over `dates` (any order; drawn sorted).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StackedAreaChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub unit: Unit,
    pub dates: Vec<NaiveDate>,
    /// Each series has exactly one value per date.
    pub series: Vec<AreaSeries>,
    pub size: ChartSize,
}

/// Renders a [`StackedAreaChart`]: one `<polygon>` per series, a legend row of the series.
pub fn render_stacked_area_chart(spec: &StackedAreaChart) -> Result<String, ChartError> {
    for s in &spec.series {
        check_len(&spec.title, &s.name, "date", spec.dates.len(), s.values.len())?;
    }
    let mut order: Vec<usize> = (0..spec.dates.len()).collect();
    order.sort_by_key(|&i| spec.dates[i]);
    let days: Vec<f64> = order
        .iter()
        .map(|&i| f64::from(spec.dates[i].num_days_from_ce()))
        .collect();
    // Cumulative tops, layer by layer: tops[k][j] is the top of layer k on day j.
    let mut tops: Vec<Vec<f64>> = Vec::with_capacity(spec.series.len());
    let mut below = vec![0.0; days.len()];
    for s in &spec.series {
        let top: Vec<f64> = order
            .iter()
            .zip(&below)
            .map(|(&i, b)| {
                b + if s.values[i].is_finite() {
                    s.values[i].max(0.0)
                } else {
                    0.0
                }
            })
            .collect();
        below = top.clone();
        tops.push(top);
    }
    let total_max = below.iter().copied().fold(0.0, f64::max);

    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        if days.is_empty() || spec.series.is_empty() {
            return canvas::no_data(&area);
        }
        let legend = LegendEntry::boxes(spec.series.iter().map(|s| (s.name.as_str(), s.colour)));
        let area = canvas::legend_row(&area, &legend)?;
        let x_axis = Axis::dates(days[0] as i32, days[days.len() - 1] as i32, 8);
        let y_axis = Axis::linear(0.0, total_max, true, spec.unit, 6);
        let mut plot = canvas::cartesian(&area, &Frame::plain(&spec.x_label, &spec.y_label, &x_axis, &y_axis))?;
        let zero = vec![0.0; days.len()];
        for (k, s) in spec.series.iter().enumerate() {
            let lower = if k == 0 { &zero } else { &tops[k - 1] };
            let outline: Vec<(f64, f64)> = days
                .iter()
                .zip(&tops[k])
                .map(|(&x, &y)| (x, y))
                .chain(days.iter().zip(lower).rev().map(|(&x, &y)| (x, y)))
                .collect();
            let colour = s.colour.unwrap_or(Colour::series(k));
            plot.draw_series(std::iter::once(Polygon::new(outline, colour.rgb().mix(0.85).filled())))?;
        }
        Ok(())
    })
}
