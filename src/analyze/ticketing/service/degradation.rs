//! The labelled degradation windows against everything outside them: the acceptance's "the
//! service-level check fails inside the degradation windows and passes outside them".
//!
//! - **Inside** a window: every attempt whose time lies in it, whatever its scenario. The
//!   decision service is one service, and a reader of the data cannot tell which attempts a
//!   degradation spared. The attempts of the label's own scenario are shown beside them. On the
//!   default run the generator degrades only those (a degradation is compiled per cohort), so
//!   the other scenarios' attempts in the window dilute its figures.
//! - **Outside**: every attempt in no window, with its UTC minutes counted by their start. Its
//!   percentiles are those of the worst busy hour, as the `service.*` checks take them.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::super::Context;
use super::super::super::frame::ints;
use super::super::labels::{self, Label};
use super::ServiceSettings;
use super::levels::{Levels, Tally, TimePoint, Verdict, WorstHours};
use super::queries::{HOUR_US, MINUTE_US, bucket, grouped, in_ranges, levels, range_index, tallies_named, time_points};
use crate::config::TicketingConfig;

/// A labelled degradation window: its levels and verdict, and its minutes with a margin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DegradationWindow {
    pub label: Label,
    /// The window's checks are `degradation.<key>.*`: its start as `YYYY-MM-DDTHH:MM` (UTC).
    pub key: String,
    /// Every attempt inside the window.
    pub levels: Levels,
    /// The attempts of the label's own scenario inside the window.
    pub own: Levels,
    /// The window's checks (`degradation.<key>.*`): met when all pass.
    pub verdict: Verdict,
    /// Every minute with requests from `zoom_margin_minutes` before the start to as many after
    /// the end.
    pub minutes: Vec<TimePoint>,
}

/// Every attempt outside all labelled degradation windows: what the `service.*` checks measure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outside {
    /// How many labelled windows were left out.
    pub windows: u64,
    pub levels: Levels,
    /// The outside attempts per UTC hour (every hour with some), in time order.
    pub hours: Vec<TimePoint>,
    /// The worst busy hour of each percentile among `hours`.
    pub worst: WorstHours,
    /// The `service.*` checks: met when all pass.
    pub verdict: Verdict,
}

fn inside(m: i64, &(a, b): &(i64, i64)) -> bool {
    (a..b).contains(&m)
}

/// Each labelled degradation window and everything outside them, from `minute_counts` (per
/// scenario and UTC minute) and three queries: the levels per window (one pass), the outside
/// attempts per hour, and the minutes around the windows.
pub fn analyze(
    ctx: &Context<'_, TicketingConfig>,
    s: &ServiceSettings,
    labels: &[Label],
    minute_counts: &BTreeMap<(String, i64), Tally>,
    minutes: &BTreeMap<i64, Tally>,
) -> Result<(Vec<DegradationWindow>, Outside)> {
    let windows: Vec<&Label> = labels::of_kind(labels, "degradation").collect();
    let ranges: Vec<(i64, i64)> = windows
        .iter()
        .map(|l| (l.start.timestamp_micros(), l.end.timestamp_micros()))
        .collect();

    // Per window (-1: outside every window): every attempt, and the label's own scenario's.
    let window = || col("window");
    let own = windows.iter().enumerate().fold(lit(false), |acc, (i, l)| {
        acc.or(window()
            .eq(lit(i as i64))
            .and(col("scenario").eq(lit(l.scenario.clone()))))
    });
    let df = levels(
        ctx,
        ctx.rows()
            .with_column(range_index(&ranges).alias("window"))
            .with_column(own.alias("own")),
        &["window"],
        &[(None, ""), (Some("own"), "own_")],
    )?;
    let by_window: BTreeMap<i64, (Tally, Tally)> = ints(&df, "window")?
        .into_iter()
        .zip(tallies_named(&df, "")?.into_iter().zip(tallies_named(&df, "own_")?))
        .collect();

    let hours = time_points(&grouped(
        ctx,
        ctx.rows().filter(in_ranges(&ranges).not()),
        "at",
        bucket(HOUR_US),
    )?)?;

    let margin = s.zoom_margin_minutes as i64 * MINUTE_US;
    let zooms: Vec<(i64, i64)> = ranges.iter().map(|&(a, b)| (a - margin, b + margin)).collect();
    let zoom_minutes = if zooms.is_empty() {
        Vec::new()
    } else {
        time_points(&grouped(
            ctx,
            ctx.rows().filter(in_ranges(&zooms)),
            "at",
            bucket(MINUTE_US),
        )?)?
    };

    let out = windows
        .iter()
        .zip(&ranges)
        .zip(&zooms)
        .enumerate()
        .map(|(i, ((label, range), zoom))| {
            let (all, own) = by_window.get(&(i as i64)).copied().unwrap_or_default();
            let own_minutes = minute_counts
                .iter()
                .filter(|((sc, m), _)| *sc == label.scenario && inside(*m, range))
                .map(|(_, t)| t);
            DegradationWindow {
                label: (*label).clone(),
                key: label.start.format("%Y-%m-%dT%H:%M").to_string(),
                levels: Levels::new(
                    all,
                    minutes.iter().filter(|(m, _)| inside(**m, range)).map(|(_, t)| t),
                    s,
                ),
                own: Levels::new(own, own_minutes, s),
                verdict: Verdict::of(&[]),
                minutes: zoom_minutes
                    .iter()
                    .filter(|p| inside(p.at.timestamp_micros(), zoom))
                    .cloned()
                    .collect(),
            }
        })
        .collect();

    let levels = Levels::new(
        by_window.get(&-1).map(|t| t.0).unwrap_or_default(),
        minutes
            .iter()
            .filter(|(m, _)| !ranges.iter().any(|r| inside(**m, r)))
            .map(|(_, t)| t),
        s,
    );
    let outside = Outside {
        windows: windows.len() as u64,
        levels,
        worst: WorstHours::of(&hours, s.min_requests_per_hour),
        hours,
        verdict: Verdict::of(&[]),
    };
    Ok((out, outside))
}
