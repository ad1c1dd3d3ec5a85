//! A rows × columns matrix coloured by value: calls by weekday × hour, model switches from → to.

use plotters::element::{Rectangle, Text};
use plotters::style::Color;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Axis, finite_extent};
use super::canvas::{self, Frame, TICK_SIZE};
use super::palette::{TEXT, heat};
use super::{ChartError, ChartSize, Colour, Unit, check_len};

/// Steps in the colour legend (one `<rect>` each).
pub(crate) const LEGEND_STEPS: usize = 10;
const LEGEND_ROOM: u32 = 80;

/// `values[row][column]`; a non-finite cell is left blank. Rows are drawn top-down in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Format of the legend and cell values.
    pub unit: Unit,
    pub columns: Vec<String>,
    pub rows: Vec<String>,
    pub values: Vec<Vec<f64>>,
    /// Print each cell's value (skipped where cells are too small to hold it).
    pub show_values: bool,
    pub size: ChartSize,
}

/// Renders a [`Heatmap`]: one `<rect>` per finite cell, then a legend of `LEGEND_STEPS` (10)
/// `<rect>`s with the min and max value.
pub fn render_heatmap(spec: &Heatmap) -> Result<String, ChartError> {
    check_len(&spec.title, "values", "row", spec.rows.len(), spec.values.len())?;
    for (row, values) in spec.rows.iter().zip(&spec.values) {
        check_len(
            &spec.title,
            format!("row {row}"),
            "column",
            spec.columns.len(),
            values.len(),
        )?;
    }
    let extent = finite_extent(spec.values.iter().flatten().copied());
    canvas::render(&spec.title, spec.size, |root| {
        let area = canvas::titled(root, &spec.title)?;
        let Some((min, max)) = extent else {
            return canvas::no_data(&area);
        };
        let tick_style = canvas::text_style(TICK_SIZE, TEXT);
        let row_labels: Vec<String> = spec.rows.iter().map(|r| canvas::truncate(r, 24)).collect();
        let mut label_w = 0;
        for label in &row_labels {
            label_w = label_w.max(area.estimate_text_size(label, &tick_style)?.0);
        }
        let (n_rows, n_cols) = (spec.rows.len() as f64, spec.columns.len() as f64);
        let plot = canvas::cartesian(
            &area,
            &Frame {
                x_label: &spec.x_label,
                y_label: &spec.y_label,
                x: &Axis::bare(0.0, n_cols),
                y: &Axis::bare(0.0, n_rows),
                left_extra: label_w + 4,
                bottom_extra: 18,
                right: LEGEND_ROOM,
                x_grid: false,
            },
        )?;
        let (x_pixels, y_pixels) = plot.plotting_area().get_pixel_range();
        let cell_w = (x_pixels.end - x_pixels.start) as f64 / n_cols;
        let cell_h = (y_pixels.end - y_pixels.start) as f64 / n_rows;
        let scale = |v: f64| if max > min { (v - min) / (max - min) } else { 1.0 };

        for (r, values) in spec.values.iter().enumerate() {
            let top = n_rows - r as f64;
            for (c, &v) in values.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                let colour = heat(scale(v));
                let cell = [(c as f64, top), (c as f64 + 1.0, top - 1.0)];
                plot.plotting_area()
                    .draw(&Rectangle::new(cell, colour.rgb().filled()))?;
                if spec.show_values && cell_w >= 30.0 && cell_h >= 14.0 {
                    let text_colour = if colour.luminance() > 0.6 { TEXT } else { Colour::WHITE };
                    let at = plot.backend_coord(&(c as f64 + 0.5, top - 0.5));
                    root.draw(&Text::new(
                        spec.unit.format_tick(v),
                        at,
                        canvas::text_style(TICK_SIZE - 1.0, text_colour).pos(Pos::new(HPos::Center, VPos::Center)),
                    ))?;
                }
            }
            let (_, y) = plot.backend_coord(&(0.0, top - 0.5));
            root.draw(&Text::new(
                row_labels[r].clone(),
                (x_pixels.start - 6, y),
                tick_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }

        // Column labels: every k-th when cells are narrower than a short label.
        let max_chars = ((cell_w / 7.0) as usize).max(3);
        let every = if cell_w >= 18.0 {
            1
        } else {
            (18.0 / cell_w).ceil() as usize
        };
        for (c, column) in spec.columns.iter().enumerate().step_by(every) {
            let (x, _) = plot.backend_coord(&(c as f64 + 0.5, 0.0));
            root.draw(&Text::new(
                canvas::truncate(column, max_chars),
                (x, y_pixels.end + 5),
                tick_style.pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }

        // Colour legend right of the plot, max at the top.
        let legend_x = x_pixels.end + 14;
        let legend_h = ((y_pixels.end - y_pixels.start) as f64).min(200.0);
        let step_h = legend_h / LEGEND_STEPS as f64;
        for i in 0..LEGEND_STEPS {
            let t = 1.0 - (i as f64 + 0.5) / LEGEND_STEPS as f64;
            let y0 = y_pixels.start + (i as f64 * step_h).round() as i32;
            let y1 = y_pixels.start + ((i + 1) as f64 * step_h).round() as i32;
            root.draw(&Rectangle::new(
                [(legend_x, y0), (legend_x + 14, y1)],
                heat(t).rgb().filled(),
            ))?;
        }
        let label_style = tick_style.pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(
            spec.unit.format_tick(max),
            (legend_x + 18, y_pixels.start + 4),
            label_style.clone(),
        ))?;
        let bottom = y_pixels.start + legend_h.round() as i32;
        root.draw(&Text::new(
            spec.unit.format_tick(min),
            (legend_x + 18, bottom - 4),
            label_style,
        ))?;
        Ok(())
    })
}
