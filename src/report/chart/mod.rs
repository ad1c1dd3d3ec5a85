//! Charts for the report pages: pure functions from plain data to a self-contained SVG string.
//!
//! Each chart kind has a spec struct (plain data, `Default` for everything but the data) and one
//! `render_*` function returning `Result<String, ChartError>`:
//!
//! | kind | spec | function |
//! | --- | --- | --- |
//! | lines over dates or numbers, optional interval band, dashed forecast | [`LineChart`] | [`render_line_chart`] |
//! | horizontal bars for ranked categories | [`BarChart`] | [`render_bar_chart`] |
//! | vertical grouped bars (several series per category) | [`GroupedBarChart`] | [`render_grouped_bar_chart`] |
//! | series stacked over dates | [`StackedAreaChart`] | [`render_stacked_area_chart`] |
//! | rows × columns matrix with a colour scale | [`Heatmap`] | [`render_heatmap`] |
//! | histogram of raw values or pre-made bins, threshold markers | [`Histogram`] | [`render_histogram`] |
//! | scatter with categories, labels, quadrant lines | [`ScatterChart`] | [`render_scatter_chart`] |
//!
//! Why this shape: renderers stay pure (data in, bytes out) so pages can snapshot-test them, and
//! the same spec always gives the same bytes. Text is measured with DejaVu Sans embedded in the
//! binary (no fontconfig, works on hosts without fonts); the SVG names the `sans-serif` family, so
//! browsers draw it with their own sans font. The root `<svg>` has a `viewBox`, `role="img"`, a
//! `<title>` and `style="max-width:100%;height:auto"`, so it scales down on narrow screens.
//!
//! Non-finite values (NaN, ±inf) are skipped (in a stacked area they count as 0). A chart with
//! nothing to draw renders its title and a "No data" note instead of failing. Colours come from a
//! fixed palette by series index ([`Colour::series`]) unless a series sets its own.
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use trafficsim::report::chart::{
//!     render_bar_chart, render_line_chart, Bar, BarChart, Band, LineChart, LineSeries, Unit, X,
//! };
//!
//! let day = |d| X::Date(NaiveDate::from_ymd_opt(2025, 1, d).unwrap());
//! let history = LineSeries::new("Daily cost", vec![(day(1), 120.0), (day(2), 135.5), (day(3), 128.0)]);
//! let forecast = LineSeries::new("Forecast", vec![(day(3), 128.0), (day(4), 131.0), (day(5), 133.0)]).dashed();
//! let svg = render_line_chart(&LineChart {
//!     title: "Daily cost and forecast".into(),
//!     y_label: "Cost".into(),
//!     y_unit: Unit::Dollars,
//!     series: vec![history, forecast],
//!     bands: vec![Band::new("80% interval", vec![(day(4), 120.0, 142.0), (day(5), 118.0, 148.0)])],
//!     ..Default::default()
//! })
//! .unwrap();
//! assert!(svg.starts_with("<svg"));
//!
//! let svg = render_bar_chart(&BarChart {
//!     title: "Cost by model".into(),
//!     unit: Unit::Dollars,
//!     bars: vec![Bar::new("gpt-4o", 1234.56), Bar::new("claude-3-5-sonnet", 987.0)],
//!     ..Default::default()
//! })
//! .unwrap();
//! assert!(svg.contains("$1,234.56"));
//! ```

mod axis;
mod bar;
mod canvas;
mod font;
mod format;
mod heatmap;
mod histogram;
mod line;
mod palette;
mod scatter;
mod stacked_area;

pub use bar::{Bar, BarChart, BarSeries, GroupedBarChart, render_bar_chart, render_grouped_bar_chart};
pub use format::{Unit, format_date, format_si, format_thousands};
pub use heatmap::{Heatmap, render_heatmap};
pub use histogram::{Bin, Histogram, HistogramData, Marker, render_histogram};
pub use line::{Band, LineChart, LineSeries, X, render_line_chart};
pub use palette::Colour;
pub use scatter::{Quadrants, ScatterChart, ScatterPoint, render_scatter_chart};
pub use stacked_area::{AreaSeries, StackedAreaChart, render_stacked_area_chart};

/// Fails unless `got == expected`: series `series` must have one value per `per`.
pub(crate) fn check_len(
    title: &str,
    series: impl Into<String>,
    per: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), ChartError> {
    if got == expected {
        return Ok(());
    }
    Err(ChartError::LengthMismatch {
        title: title.to_string(),
        series: series.into(),
        per,
        expected,
        got,
    })
}

/// Pixel size of a chart; the SVG scales down from it (it has a `viewBox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartSize {
    pub width: u32,
    pub height: u32,
}

impl ChartSize {
    pub const fn new(width: u32, height: u32) -> Self {
        ChartSize { width, height }
    }
}

impl Default for ChartSize {
    /// 800 × 400: two charts side by side in the 1400 px page grid, one per row on a phone.
    fn default() -> Self {
        ChartSize::new(800, 400)
    }
}

/// Why a chart could not be drawn. Data problems name the chart and the series.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The chart is too small to hold its axes and labels.
    #[error("chart `{title}`: size {width}×{height} is too small (at least 200×120)")]
    TooSmall { title: String, width: u32, height: u32 },
    /// A series has a different number of values than the chart has categories / dates.
    #[error("chart `{title}`: series `{series}` has {got} values, expected {expected} (one per {per})")]
    LengthMismatch {
        title: String,
        series: String,
        per: &'static str,
        expected: usize,
        got: usize,
    },
    /// A line chart mixes date and numeric x values.
    #[error("chart `{title}`: series `{series}` mixes date and numeric x values; use one kind per chart")]
    MixedX { title: String, series: String },
    /// The embedded font could not be loaded (a build problem, not a data problem).
    #[error("the embedded chart font could not be loaded")]
    Font,
    /// plotters failed while drawing.
    #[error("chart `{title}`: drawing failed: {message}")]
    Draw { title: String, message: String },
}
