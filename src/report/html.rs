//! Page components shared by every report page: headline figures, metric cards, tables,
//! recommendation boxes, embedded charts, and number formatting. maud escapes every string it
//! is given, so data and config text is always HTML-escaped; only chart SVG (built by our own
//! renderers, which escape their text) is inserted as is.

use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

/// How a figure's value reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Usd,
    /// Saudi riyals: the ticketing workload's prices.
    Sar,
    /// A fraction shown as a percentage (0.25 → 25.0%).
    Percent,
    Count,
    Ms,
    /// A plain number with two decimals, e.g. a ratio or a score.
    Number,
}

/// A headline figure: on the page, on the index and in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: f64,
    pub unit: Unit,
    /// The value as shown.
    pub display: String,
}

impl Figure {
    pub fn new(label: impl Into<String>, value: f64, unit: Unit) -> Figure {
        Figure {
            label: label.into(),
            value,
            unit,
            display: format_value(value, unit),
        }
    }

    pub fn usd(label: impl Into<String>, value: f64) -> Figure {
        Figure::new(label, value, Unit::Usd)
    }

    pub fn sar(label: impl Into<String>, value: f64) -> Figure {
        Figure::new(label, value, Unit::Sar)
    }

    pub fn percent(label: impl Into<String>, value: f64) -> Figure {
        Figure::new(label, value, Unit::Percent)
    }

    pub fn count(label: impl Into<String>, value: u64) -> Figure {
        Figure::new(label, value as f64, Unit::Count)
    }

    pub fn ms(label: impl Into<String>, value: f64) -> Figure {
        Figure::new(label, value, Unit::Ms)
    }

    pub fn number(label: impl Into<String>, value: f64) -> Figure {
        Figure::new(label, value, Unit::Number)
    }
}

/// Formats a value in its unit.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Usd => usd(value),
        Unit::Sar => sar(value),
        Unit::Percent => percent(value),
        Unit::Count => count(value),
        Unit::Ms => format!("{} ms", count(value)),
        Unit::Number => number(value, 2),
    }
}

/// `$1,234.56`; amounts under a dollar keep four decimals (`$0.0042`).
pub fn usd(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a > 0.0 && a < 1.0 {
        format!("{sign}${a:.4}")
    } else {
        format!("{sign}${}", number(a, 2))
    }
}

/// `SAR 1,234.56`, always two decimals (halalas), the sign before the code.
pub fn sar(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}SAR {}", number(v.abs(), 2))
}

/// A fraction as a percentage with one decimal.
pub fn percent(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    format!("{:.1}%", v * 100.0)
}

/// A whole number with thousands separators.
pub fn count(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    number(v.round(), 0)
}

/// A number with `decimals` decimals and thousands separators.
pub fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A grid of metric cards.
pub fn cards(figures: &[Figure]) -> Markup {
    html! {
        div.cards {
            @for f in figures {
                div.card {
                    div.card-value { (f.display) }
                    div.card-label { (f.label) }
                }
            }
        }
    }
}

/// A titled section of a page with an optional short explanation; its id is [`section_id`] of
/// the title, so other pages (the executive summary) can link to it.
pub fn section(title: &str, note: Option<&str>, content: Markup) -> Markup {
    html! {
        section id=(section_id(title)) {
            h2 { (title) }
            @if let Some(n) = note { p.note { (n) } }
            (content)
        }
    }
}

/// The id of a section titled `title`: lower case, runs of other characters as one `-`
/// ("Top 10 spenders" → `top-10-spenders`).
pub fn section_id(title: &str) -> String {
    let mut id = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

/// A table cell: text (left-aligned) or a number (right-aligned).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(String),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    pub fn usd(v: f64) -> Cell {
        Cell::Num(usd(v))
    }
    pub fn sar(v: f64) -> Cell {
        Cell::Num(sar(v))
    }
    pub fn percent(v: f64) -> Cell {
        Cell::Num(percent(v))
    }
    pub fn count(v: u64) -> Cell {
        Cell::Num(count(v as f64))
    }
    pub fn number(v: f64, decimals: usize) -> Cell {
        Cell::Num(number(v, decimals))
    }
    pub fn ms(v: f64) -> Cell {
        Cell::Num(format_value(v, Unit::Ms))
    }
}

/// A table that scrolls sideways on a narrow screen rather than overflowing the page.
pub fn table(headers: &[&str], rows: &[Vec<Cell>]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { @for h in headers { th { (h) } } } }
                tbody {
                    @for row in rows {
                        tr {
                            @for c in row {
                                @match c {
                                    Cell::Text(t) => td { (t) },
                                    Cell::Num(n) => td.num { (n) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// "Showing the first N of M" under a capped table, when it is capped.
pub fn capped_note(shown: usize, total: usize) -> Markup {
    html! {
        @if shown < total { p.note { "Showing " (shown) " of " (count(total as f64)) "; the JSON result lists all." } }
    }
}

/// How urgent a finding is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A recommendation or alert: what was found, what to do, and what it is worth.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recommendation {
    pub severity: Severity,
    /// A short title, e.g. "Diversify providers".
    pub title: String,
    /// What was found, naming the customer, model or organization.
    pub message: String,
    /// What to do.
    pub action: String,
    /// The dollar amount at stake (a saving, a cost at risk), when there is one.
    pub amount_usd: Option<f64>,
}

/// Recommendation boxes, coloured by severity.
pub fn recommendations(items: &[Recommendation]) -> Markup {
    html! {
        @if items.is_empty() {
            p.note { "Nothing to recommend: no rule fired on this data." }
        }
        @for r in items {
            div class={ "alert alert-" (r.severity.as_str()) } {
                div.alert-title {
                    span.badge { (r.severity.as_str()) } " " (r.title)
                    @if let Some(a) = r.amount_usd { " — " strong { (usd(a)) } }
                }
                p { (r.message) }
                p.action { "Action: " (r.action) }
            }
        }
    }
}

/// A chart's SVG, embedded in the page. `svg` must come from `report::chart` (trusted markup).
pub fn chart(svg: &str) -> Markup {
    html! { figure.chart { (PreEscaped(svg)) } }
}

/// A chart size tall enough for `bars` horizontal bars (about 24 px each, 400 px at least).
pub fn bars_size(bars: usize) -> super::chart::ChartSize {
    super::chart::ChartSize::new(800, (80 + 24 * bars as u32).max(400))
}

/// Charts side by side on a wide screen, one per row on a narrow one.
pub fn chart_grid(svgs: &[String]) -> Markup {
    html! { div.chart-grid { @for s in svgs { (chart(s)) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_thousands() {
        assert_eq!(number(1234567.891, 2), "1,234,567.89");
        assert_eq!(number(-1234.5, 1), "-1,234.5");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(-0.001, 2), "0.00");
        assert_eq!(usd(2284.56), "$2,284.56");
        assert_eq!(usd(0.00421), "$0.0042");
        assert_eq!(usd(-12.0), "-$12.00");
        assert_eq!(sar(136_266_443.754), "SAR 136,266,443.75");
        assert_eq!(sar(-0.5), "-SAR 0.50");
        assert_eq!(percent(0.8934), "89.3%");
        assert_eq!(count(151906.0), "151,906");
        assert_eq!(format_value(2913.4, Unit::Ms), "2,913 ms");
    }

    #[test]
    fn data_strings_are_escaped() {
        let rows = vec![vec![Cell::text("<script>alert(1)</script>"), Cell::usd(1.0)]];
        let out = table(&["customer & org"], &rows).into_string();
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{out}");
        assert!(out.contains("customer &amp; org"), "{out}");
        assert!(!out.contains("<script>"));
    }
}
