//! What every chart shares: the SVG document, title, legend row, axes frame and "No data" note.

use std::error::Error;

use plotters::chart::{ChartBuilder, ChartContext};
use plotters::coord::Shift;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::{Rectangle, Text};
use plotters::prelude::SVGBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontStyle, IntoFont, ShapeStyle, TextStyle, WHITE};

use super::axis::Axis;
use super::font::{self, FAMILY};
use super::palette::{AXIS, Colour, GRID, TEXT};
use super::{ChartError, ChartSize};

pub(crate) type Root<'b> = DrawingArea<SVGBackend<'b>, Shift>;
pub(crate) type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticked, Ticked>>;

/// A linear f64 coordinate whose grid lines and labels sit exactly on our ticks. (plotters'
/// `WithKeyPoints<RangedCoordf64>` cannot take a label formatter: no `ValueFormatter` impl.)
#[derive(Debug, Clone)]
pub(crate) struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        if self.hi == self.lo {
            return (limit.0 + limit.1) / 2;
        }
        let share = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * share + 1e-3).floor() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

impl From<&Axis> for Ticked {
    fn from(axis: &Axis) -> Self {
        Ticked {
            lo: axis.lo,
            hi: axis.hi,
            ticks: axis.ticks.clone(),
        }
    }
}

pub(crate) const TITLE_SIZE: f64 = 20.0;
pub(crate) const LABEL_SIZE: f64 = 15.0;
pub(crate) const TICK_SIZE: f64 = 13.5;

/// A plotters error while drawing; `render` names the chart in the final `ChartError`.
pub(crate) struct DrawFailure(String);

impl<E: Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawFailure {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawFailure(e.to_string())
    }
}

/// Text in the charts' font. plotters sizes fonts in its own unit (SVG font-size = size / 1.24).
pub(crate) fn text_style(size: f64, colour: Colour) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&colour.rgb())
}

pub(crate) fn bold_style(size: f64, colour: Colour) -> TextStyle<'static> {
    (FAMILY, size).into_font().style(FontStyle::Bold).color(&colour.rgb())
}

/// Draws a chart into an SVG string: checks the size, registers the font, fills the background,
/// runs `draw`, then makes the root element scalable and accessible.
pub(crate) fn render(
    title: &str,
    size: ChartSize,
    draw: impl FnOnce(&Root<'_>) -> Result<(), DrawFailure>,
) -> Result<String, ChartError> {
    if size.width < 200 || size.height < 120 {
        return Err(ChartError::TooSmall {
            title: title.to_string(),
            width: size.width,
            height: size.height,
        });
    }
    font::ensure_registered()?;
    let mut svg = String::new();
    let drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (size.width, size.height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })();
    drawn.map_err(|DrawFailure(message)| ChartError::Draw {
        title: title.to_string(),
        message,
    })?;
    finish(svg, title)
}

/// plotters writes `<svg width height viewBox xmlns>`; add a `<title>`, `role="img"` and a style that
/// lets the chart shrink with its container.
fn finish(svg: String, title: &str) -> Result<String, ChartError> {
    const ROOT_END: &str = "xmlns=\"http://www.w3.org/2000/svg\">\n";
    let Some(at) = svg.find(ROOT_END) else {
        return Err(ChartError::Draw {
            title: title.to_string(),
            message: "unexpected SVG root element from plotters".to_string(),
        });
    };
    let head = &svg[..at];
    let tail = &svg[at + ROOT_END.len()..];
    Ok(format!(
        "{head}xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" style=\"max-width:100%;height:auto\">\n<title>{}</title>\n{tail}",
        html_escape::encode_text(title)
    ))
}

/// Draws the title centred at the top and returns the area below it.
pub(crate) fn titled<'b>(root: &Root<'b>, title: &str) -> Result<Root<'b>, DrawFailure> {
    Ok(root.margin(6, 0, 0, 0).titled(title, bold_style(TITLE_SIZE, TEXT))?)
}

/// The note drawn where data would be.
pub(crate) fn no_data(area: &Root<'_>) -> Result<(), DrawFailure> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(10, 4), (w as i32 - 10, h as i32 - 10)],
        ShapeStyle::from(&GRID.rgb()).stroke_width(1),
    ))?;
    area.draw(&Text::new(
        "No data",
        (w as i32 / 2, h as i32 / 2),
        text_style(LABEL_SIZE + 2.0, AXIS).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// How a legend entry's swatch looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    Box,
    Line,
}

pub(crate) struct LegendEntry {
    pub name: String,
    pub colour: Colour,
    pub swatch: Swatch,
}

impl LegendEntry {
    /// Box swatches for named series, coloured by their own colour or the palette by position;
    /// unnamed series get no entry.
    pub(crate) fn boxes<'a>(series: impl IntoIterator<Item = (&'a str, Option<Colour>)>) -> Vec<LegendEntry> {
        series
            .into_iter()
            .enumerate()
            .filter(|(_, (name, _))| !name.is_empty())
            .map(|(i, (name, colour))| LegendEntry {
                name: name.to_string(),
                colour: colour.unwrap_or(Colour::series(i)),
                swatch: Swatch::Box,
            })
            .collect()
    }
}

/// Draws legend entries in rows across the top of `area` (so they never cover data) and returns
/// the area left below them. Swatches are `<rect>`s, so they do not count as series lines.
pub(crate) fn legend_row<'b>(area: &Root<'b>, entries: &[LegendEntry]) -> Result<Root<'b>, DrawFailure> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let (width, _) = area.dim_in_pixel();
    let style = text_style(LABEL_SIZE - 1.0, TEXT);
    let row_height = 20;
    let (mut x, mut y) = (60i32, 6i32);
    let mut placed = Vec::with_capacity(entries.len());
    for entry in entries {
        let (text_w, _) = area.estimate_text_size(&entry.name, &style)?;
        let entry_w = 18 + text_w as i32 + 18;
        if x + entry_w > width as i32 - 10 && x > 60 {
            x = 60;
            y += row_height;
        }
        placed.push((x, y));
        x += entry_w;
    }
    for (entry, &(x, y)) in entries.iter().zip(&placed) {
        let centre = y + 7;
        let fill = entry.colour.rgb().filled();
        match entry.swatch {
            Swatch::Box => area.draw(&Rectangle::new([(x, y + 1), (x + 12, y + 13)], fill))?,
            Swatch::Line => area.draw(&Rectangle::new([(x - 2, centre - 1), (x + 14, centre + 2)], fill))?,
        }
        area.draw(&Text::new(
            entry.name.clone(),
            (x + 18, centre),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    let used = placed.last().map_or(0, |p| p.1) + row_height + 4;
    Ok(area.split_vertically(used as u32).1)
}

/// Axis titles and the room reserved around the plot.
pub(crate) struct Frame<'s> {
    pub x_label: &'s str,
    pub y_label: &'s str,
    pub x: &'s Axis,
    pub y: &'s Axis,
    /// Extra width left of the plot for category labels drawn by the chart (0 for numeric y).
    pub left_extra: u32,
    /// Extra height under the plot for category labels drawn by the chart.
    pub bottom_extra: u32,
    /// Room right of the plot (for a colour legend or value labels).
    pub right: u32,
    /// Vertical grid lines (off for horizontal bars and categories).
    pub x_grid: bool,
}

impl<'s> Frame<'s> {
    /// A plain frame: numeric axes, no extra room, no vertical grid lines.
    pub(crate) fn plain(x_label: &'s str, y_label: &'s str, x: &'s Axis, y: &'s Axis) -> Frame<'s> {
        Frame {
            x_label,
            y_label,
            x,
            y,
            left_extra: 0,
            bottom_extra: 0,
            right: 0,
            x_grid: false,
        }
    }
}

/// Builds the cartesian plot with round-number ticks from `frame` and draws its mesh.
pub(crate) fn cartesian<'a, 'b>(area: &'a Root<'b>, frame: &Frame<'_>) -> Result<Plot<'a, 'b>, DrawFailure> {
    let tick_style = text_style(TICK_SIZE, TEXT);
    let mut widest = 0;
    for &t in &frame.y.ticks {
        widest = widest.max(area.estimate_text_size(&frame.y.label(t), &tick_style)?.0);
    }
    let y_desc_room = if frame.y_label.is_empty() { 0 } else { 22 };
    let left = widest + 12 + y_desc_room + frame.left_extra;
    let x_desc_room = if frame.x_label.is_empty() { 0 } else { 20 };
    let bottom = if frame.x.ticks.is_empty() { 4 } else { 22 } + x_desc_room + frame.bottom_extra;

    // Half the last x tick label hangs past the plot's right edge.
    let last_tick_w = match frame.x.ticks.last() {
        Some(&t) => area.estimate_text_size(&frame.x.label(t), &tick_style)?.0,
        None => 0,
    };
    let mut plot = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right((last_tick_w / 2 + 6).max(16) + frame.right)
        .margin_left(8)
        .x_label_area_size(bottom)
        .y_label_area_size(left)
        .build_cartesian_2d(Ticked::from(frame.x), Ticked::from(frame.y))?;
    let x_fmt = |v: &f64| frame.x.label(*v);
    let y_fmt = |v: &f64| frame.y.label(*v);
    let mut mesh = plot.configure_mesh();
    mesh.x_labels(frame.x.ticks.len())
        .y_labels(frame.y.ticks.len())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(tick_style.clone())
        .axis_desc_style(text_style(LABEL_SIZE, TEXT))
        .bold_line_style(GRID.rgb())
        .light_line_style(WHITE.mix(0.0))
        .axis_style(AXIS.rgb());
    if !frame.x_label.is_empty() {
        mesh.x_desc(frame.x_label);
    }
    if !frame.y_label.is_empty() {
        mesh.y_desc(frame.y_label);
    }
    if !frame.x_grid {
        mesh.disable_x_mesh();
    }
    mesh.draw()?;
    Ok(plot)
}

/// Shortens a label to `max_chars` characters with an ellipsis, so long ids do not eat the plot.
pub(crate) fn truncate(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        let mut short: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}
