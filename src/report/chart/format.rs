//! Number and date formatting for value labels and axis ticks.
//!
//! Value labels show the figure a reader would quote ("$1,234.56", "12.3%"); axis ticks are
//! compact ("$12.5k", "1.2M") so they fit under narrow charts.

use chrono::NaiveDate;

/// How a chart's values read. `Percent` takes values already in percent (12.3 → "12.3%").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    /// Plain number with thousands separators ("1,234.5", "0.042").
    #[default]
    Number,
    /// Whole count ("12,345"); ticks compact ("12.3k").
    Count,
    /// US dollars ("$1,234.56"; sub-cent amounts keep 4 decimals: "$0.0012").
    Dollars,
    /// Saudi riyals, the ticketing prices ("SAR 1,234.56").
    Riyals,
    /// Percent of 100 ("12.3%").
    Percent,
    /// Milliseconds ("1,234 ms"); ticks at ten seconds and above in seconds ("12.5 s").
    Millis,
}

impl Unit {
    /// The full value, for bar and cell labels.
    pub fn format(self, v: f64) -> String {
        let v = clean(v);
        match self {
            Unit::Number => format_thousands(v, magnitude_decimals(v)),
            Unit::Count => format_thousands(v, 0),
            Unit::Dollars => {
                let decimals = if v != 0.0 && v.abs() < 0.01 { 4 } else { 2 };
                dollars(format_thousands(v, decimals))
            }
            Unit::Riyals => riyals(format_thousands(v, 2)),
            Unit::Percent => format!("{}%", format_thousands(v, 1)),
            Unit::Millis => format!("{} ms", format_thousands(v, if v.abs() < 10.0 { 1 } else { 0 })),
        }
    }

    /// A compact value for axis ticks: SI suffixes from ten thousand up ("$12.5k").
    pub fn format_tick(self, v: f64) -> String {
        self.format_tick_scaled(v, v.abs() >= 10_000.0)
    }

    /// Tick text with SI suffixes on or off, so one axis does not mix "$5,000" and "$10k".
    pub(crate) fn format_tick_scaled(self, v: f64, si: bool) -> String {
        let v = clean(v);
        let number = |v: f64| {
            if si {
                format_si(v)
            } else {
                trim_zeros(format_thousands(v, magnitude_decimals(v)))
            }
        };
        match self {
            Unit::Number | Unit::Count => number(v),
            Unit::Dollars => dollars(number(v)),
            Unit::Riyals => riyals(number(v)),
            Unit::Percent => format!("{}%", number(v)),
            Unit::Millis if si => format!(
                "{} s",
                trim_zeros(format_thousands(v / 1000.0, magnitude_decimals(v / 1000.0)))
            ),
            Unit::Millis => format!("{} ms", number(v)),
        }
    }
}

/// `v` with `decimals` decimals and a comma every three integer digits: 1234567.891 → "1,234,567.89".
pub fn format_thousands(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let text = format!("{:.*}", decimals, clean(v).abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(text.len() + text.len() / 3 + 1);
    if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// SI-style short form: 1234 → "1.2k", 3_400_000 → "3.4M", 2.5e9 → "2.5B" (trailing ".0" dropped).
pub fn format_si(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        return trim_zeros(format_thousands(v, magnitude_decimals(v)));
    };
    format!("{}{suffix}", trim_zeros(format!("{scaled:.1}")))
}

/// A day as axis ticks show it: "Jan 06".
pub fn format_date(d: NaiveDate) -> String {
    d.format("%b %d").to_string()
}

/// Enough decimals to show two significant digits of small values, none for large ones.
fn magnitude_decimals(v: f64) -> usize {
    let a = v.abs();
    if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        ((-a.log10()).floor() as usize + 2).min(6)
    }
}

fn dollars(number: String) -> String {
    match number.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${number}"),
    }
}

fn riyals(number: String) -> String {
    match number.strip_prefix('-') {
        Some(rest) => format!("-SAR {rest}"),
        None => format!("SAR {number}"),
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Turns -0.0 into 0.0 so it never prints as "-0".
fn clean(v: f64) -> f64 {
    if v == 0.0 { 0.0 } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators_and_sign() {
        assert_eq!(format_thousands(1234567.891, 2), "1,234,567.89");
        assert_eq!(format_thousands(-1234.5, 1), "-1,234.5");
        assert_eq!(format_thousands(999.0, 0), "999");
        assert_eq!(format_thousands(-0.001, 2), "0.00");
        assert_eq!(format_thousands(f64::NAN, 2), "–");
    }

    #[test]
    fn units_read_as_quoted() {
        assert_eq!(Unit::Dollars.format(1234.56), "$1,234.56");
        assert_eq!(Unit::Dollars.format(-12.5), "-$12.50");
        assert_eq!(Unit::Dollars.format(0.0012), "$0.0012");
        assert_eq!(Unit::Riyals.format(-1234.5), "-SAR 1,234.50");
        assert_eq!(Unit::Riyals.format_tick(25_000.0), "SAR 25k");
        assert_eq!(Unit::Percent.format(12.345), "12.3%");
        assert_eq!(Unit::Count.format(12345.4), "12,345");
        assert_eq!(Unit::Millis.format(1234.4), "1,234 ms");
        assert_eq!(Unit::Number.format(0.0423), "0.042");
    }

    #[test]
    fn ticks_are_compact() {
        assert_eq!(Unit::Dollars.format_tick(12_500.0), "$12.5k");
        assert_eq!(Unit::Dollars.format_tick(2_000.0), "$2,000");
        assert_eq!(Unit::Dollars.format_tick(0.05), "$0.05");
        assert_eq!(Unit::Count.format_tick(3_000_000.0), "3M");
        assert_eq!(Unit::Percent.format_tick(12.5), "12.5%");
        assert_eq!(Unit::Millis.format_tick(15_000.0), "15 s");
        assert_eq!(Unit::Number.format_tick(-0.0), "0");
        assert_eq!(format_si(2.5e9), "2.5B");
        assert_eq!(Unit::Dollars.format_tick_scaled(5_000.0, true), "$5k");
        assert_eq!(Unit::Millis.format_tick_scaled(5_000.0, true), "5 s");
    }

    #[test]
    fn dates_read_month_day() {
        assert_eq!(format_date(NaiveDate::from_ymd_opt(2025, 1, 6).unwrap()), "Jan 06");
    }
}
