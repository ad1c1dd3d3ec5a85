//! The simulated window in UTC hours, and what each hour is in every customer time zone.
//!
//! Calls are generated per UTC hour, so that a UTC day's calls form one work unit and land in
//! one `date=` partition. Each UTC hour is split where a local hour starts (zones with a
//! half-hour offset such as Asia/Kolkata), and each piece knows its local hour, local day and
//! whether that day is a weekend. Daylight saving comes from the time-zone database.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

pub const MS_PER_HOUR: i64 = 3_600_000;

/// A piece of a UTC hour that falls in one local hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Offset of the piece from the start of the UTC hour, ms.
    pub start_ms: u32,
    pub len_ms: u32,
    pub local_hour: u8,
    /// Local calendar day, as days since the window's first date (may be -1 or `days`).
    pub local_day: i32,
    pub weekend: bool,
    /// Local weekday, 0 = Monday.
    pub weekday: u8,
    /// Local day of the month (1-based) and the month's length.
    pub month_day: u8,
    pub month_len: u8,
}

impl Segment {
    /// Fraction of an hour this piece covers.
    pub fn fraction(&self) -> f64 {
        f64::from(self.len_ms) / MS_PER_HOUR as f64
    }
}

/// The window: `days` whole UTC days from `start` (midnight UTC).
#[derive(Debug, Clone)]
pub struct Window {
    pub start_date: NaiveDate,
    pub days: u32,
    /// Per time zone (indexed like the traffic model's), per UTC hour: one or two segments.
    zones: Vec<Vec<[Option<Segment>; 2]>>,
}

impl Window {
    pub fn new(start_date: NaiveDate, days: u32, zones: &[Tz]) -> Window {
        let start = start_utc(start_date);
        let hours = days as i64 * 24;
        let zones = zones
            .iter()
            .map(|tz| {
                (0..hours)
                    .map(|h| split_hour(tz, start + TimeDelta::hours(h), start_date))
                    .collect()
            })
            .collect();
        Window {
            start_date,
            days,
            zones,
        }
    }

    pub fn hours(&self) -> u32 {
        self.days * 24
    }

    /// Epoch milliseconds at the start of UTC hour `hour` of the window.
    pub fn hour_start_ms(&self, hour: u32) -> i64 {
        start_utc(self.start_date).timestamp_millis() + i64::from(hour) * MS_PER_HOUR
    }

    /// The pieces of UTC hour `hour` in time zone `zone`.
    #[inline]
    pub fn segments(&self, zone: usize, hour: u32) -> impl Iterator<Item = &Segment> {
        self.zones[zone][hour as usize].iter().flatten()
    }
}

/// Midnight UTC of a date.
pub fn start_utc(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// Days in the month of `date`.
fn month_len(date: NaiveDate) -> u8 {
    let first = date.with_day(1).expect("day 1 exists");
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("within chrono's range");
    (next - first).num_days() as u8
}

fn split_hour(tz: &Tz, utc: DateTime<Utc>, start_date: NaiveDate) -> [Option<Segment>; 2] {
    let local = utc.with_timezone(tz);
    let minute = local.minute();
    let second = local.second();
    let into_hour_ms = (minute * 60 + second) * 1000;
    let segment = |start_ms: u32, len_ms: u32, at: DateTime<Tz>| Segment {
        start_ms,
        len_ms,
        local_hour: at.hour() as u8,
        local_day: (at.date_naive() - start_date).num_days() as i32,
        weekend: matches!(at.weekday(), Weekday::Sat | Weekday::Sun),
        weekday: at.weekday().num_days_from_monday() as u8,
        month_day: at.day() as u8,
        month_len: month_len(at.date_naive()),
    };
    if into_hour_ms == 0 {
        return [Some(segment(0, MS_PER_HOUR as u32, local)), None];
    }
    let first_len = MS_PER_HOUR as u32 - into_hour_ms;
    let next_local = (utc + TimeDelta::milliseconds(i64::from(first_len))).with_timezone(tz);
    [
        Some(segment(0, first_len, local)),
        Some(segment(first_len, into_hour_ms, next_local)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn new_york_hours_follow_daylight_saving() {
        // 2025-03-09: US clocks go forward at 02:00 local (07:00 UTC).
        let w = Window::new(date("2025-03-08"), 3, &[chrono_tz::US::Eastern]);
        // 2025-03-08 14:00 UTC is 09:00 EST (UTC-5).
        let s: Vec<_> = w.segments(0, 14).collect();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].local_hour, 9);
        assert!(s[0].weekend, "Saturday");
        // 2025-03-10 14:00 UTC is 10:00 EDT (UTC-4).
        let s: Vec<_> = w.segments(0, 48 + 14).collect();
        assert_eq!(s[0].local_hour, 10);
        assert!(!s[0].weekend, "Monday");
        assert_eq!(s[0].local_day, 2);
        // 2025-03-08 03:00 UTC is 22:00 on the previous local day.
        let s: Vec<_> = w.segments(0, 3).collect();
        assert_eq!((s[0].local_hour, s[0].local_day), (22, -1));
    }

    #[test]
    fn kolkata_hours_split_at_the_half_hour() {
        let w = Window::new(date("2025-01-06"), 1, &[chrono_tz::Asia::Kolkata]);
        // 03:00 UTC is 08:30 IST: 30 minutes of local hour 8, then 30 of hour 9.
        let s: Vec<_> = w.segments(0, 3).collect();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].local_hour, s[0].len_ms), (8, 1_800_000));
        assert_eq!((s[1].local_hour, s[1].start_ms, s[1].len_ms), (9, 1_800_000, 1_800_000));
        let total: u32 = (0..24).flat_map(|h| w.segments(0, h)).map(|s| s.len_ms).sum();
        assert_eq!(i64::from(total), 24 * MS_PER_HOUR);
    }
}
