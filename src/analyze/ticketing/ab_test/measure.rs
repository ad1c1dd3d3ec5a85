//! The A/B page's one query and the fold over its result: the attempts of each labelled
//! experiment, grouped by (experiment, arm, user) in Polars into one row per user, then added up
//! per arm in Rust with exact integer sums (squares of money in cents overflow i64 on large data,
//! so they are summed in i128), which makes the figures independent of row order and threads.

use anyhow::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::super::Context;
use super::super::super::frame::ints;
use super::super::super::stats::{ClusterSums, Interval, Moments, two_sided_z};
use super::super::service::queries::range_index;
use crate::config::TicketingConfig;

/// The arms as the query numbers them; any other variant is 2.
pub const CONTROL: i64 = 0;
pub const TREATMENT: i64 = 1;
const OTHER: i64 = 2;

/// One arm's counts and per-user sums, as added up from the per-user rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ArmSums {
    /// Every attempt of the arm in the window, fraud included.
    pub attempts: u64,
    /// Attempts with is_fraud: not people, left out of every figure below but `completed`.
    pub fraud: u64,
    /// Legitimate attempts turned away sold out, or rate-limited (429, and not sold out).
    pub sold_out: u64,
    pub rate_limited: u64,
    /// Legitimate attempts neither sold out nor rate-limited: the conversion's denominator.
    pub eligible: u64,
    /// Eligible attempts not abandoned: the conversion's numerator.
    pub converted: u64,
    /// Completed attempts of any kind (the plain completed ÷ attempts).
    pub completed: u64,
    /// Revenue of the legitimate completed attempts, in cents.
    pub cents: i64,
    /// Users with a legitimate attempt (revenue per user), and with an eligible one (the
    /// clusters of the per-attempt rates).
    pub users: u64,
    pub eligible_users: u64,
    /// Σn², Σx², Σx·n over users (n eligible attempts, x conversions).
    pub eligible_sq: i128,
    pub converted_sq: i128,
    pub converted_eligible: i128,
    /// Σr², Σr·n over users (r revenue in cents).
    pub cents_sq: i128,
    pub cents_eligible: i128,
}

impl ArmSums {
    /// Adds one user's row.
    fn add(&mut self, u: &UserRow) {
        self.attempts += u.attempts;
        self.fraud += u.fraud;
        self.sold_out += u.sold_out;
        self.rate_limited += u.rate_limited;
        self.eligible += u.eligible;
        self.converted += u.converted;
        self.completed += u.completed;
        self.cents += u.cents;
        self.users += u64::from(u.attempts > u.fraud);
        self.eligible_users += u64::from(u.eligible > 0);
        let (n, x, r) = (i128::from(u.eligible), i128::from(u.converted), i128::from(u.cents));
        self.eligible_sq += n * n;
        self.converted_sq += x * x;
        self.converted_eligible += x * n;
        self.cents_sq += r * r;
        self.cents_eligible += r * n;
    }

    /// Conversion per eligible attempt, users as clusters.
    pub fn conversion_sums(&self) -> ClusterSums {
        ClusterSums {
            clusters: self.eligible_users,
            num: self.converted as f64,
            den: self.eligible as f64,
            num_sq: self.converted_sq as f64,
            den_sq: self.eligible_sq as f64,
            num_den: self.converted_eligible as f64,
        }
    }

    /// Revenue (in the dataset's currency) per eligible attempt, users as clusters.
    pub fn revenue_sums(&self) -> ClusterSums {
        ClusterSums {
            clusters: self.eligible_users,
            num: self.cents as f64 / 100.0,
            den: self.eligible as f64,
            num_sq: self.cents_sq as f64 / 1e4,
            den_sq: self.eligible_sq as f64,
            num_den: self.cents_eligible as f64 / 100.0,
        }
    }

    /// Revenue per user (in the dataset's currency): its mean and variance over the users.
    pub fn revenue_moments(&self) -> Moments {
        let m = Moments::from_sums(self.users, self.cents as f64, self.cents_sq as f64);
        Moments {
            n: m.n,
            mean: m.mean / 100.0,
            variance: m.variance / 1e4,
        }
    }
}

/// One arm as the page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Arm {
    pub variant: String,
    pub attempts: u64,
    pub fraud: u64,
    pub sold_out: u64,
    pub rate_limited: u64,
    pub eligible: u64,
    pub converted: u64,
    /// converted ÷ eligible: the label's definition.
    pub conversion: f64,
    /// conversion ± z·SE, the SE by the delta method over users; `None` with fewer than two users.
    pub conversion_interval: Option<Interval>,
    /// The conversion's variance over that of independent attempts (1 = independent).
    pub design_effect: Option<f64>,
    /// completed ÷ attempts, every attempt (the sales page's conversion).
    pub completed: u64,
    pub completion_rate: f64,
    pub users: u64,
    pub eligible_users: u64,
    /// Eligible attempts per user with one.
    pub attempts_per_user: f64,
    pub revenue_cents: i64,
    pub revenue: f64,
    /// Revenue ÷ users, and the standard deviation of a user's revenue.
    pub revenue_per_user: f64,
    pub revenue_per_user_sd: f64,
    /// Revenue ÷ eligible attempts: the label's revenue-per-attempt figure.
    pub revenue_per_attempt: f64,
}

impl Arm {
    pub fn new(variant: &str, s: &ArmSums, confidence: f64) -> Arm {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let conversion = s.conversion_sums();
        let moments = s.revenue_moments();
        let z = two_sided_z(confidence);
        Arm {
            variant: variant.to_string(),
            attempts: s.attempts,
            fraud: s.fraud,
            sold_out: s.sold_out,
            rate_limited: s.rate_limited,
            eligible: s.eligible,
            converted: s.converted,
            conversion: ratio(s.converted, s.eligible),
            conversion_interval: conversion
                .ratio()
                .zip(conversion.ratio_variance())
                .map(|(p, v)| Interval {
                    lo: (p - z * v.sqrt()).max(0.0),
                    hi: (p + z * v.sqrt()).min(1.0),
                }),
            design_effect: conversion.design_effect(),
            completed: s.completed,
            completion_rate: ratio(s.completed, s.attempts),
            users: s.users,
            eligible_users: s.eligible_users,
            attempts_per_user: ratio(s.eligible, s.eligible_users),
            revenue_cents: s.cents,
            revenue: s.cents as f64 / 100.0,
            revenue_per_user: moments.mean,
            revenue_per_user_sd: moments.variance.sqrt(),
            revenue_per_attempt: if s.eligible == 0 {
                0.0
            } else {
                s.cents as f64 / 100.0 / s.eligible as f64
            },
        }
    }
}

/// What the query found: each experiment's two arms, and the attempts it could not place.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Per experiment (in the order of the windows given): control, treatment.
    pub arms: Vec<[ArmSums; 2]>,
    /// Attempts with a variant outside every labelled window, and their users.
    pub unlabelled_attempts: u64,
    pub unlabelled_users: u64,
    /// Attempts in a window whose variant is neither control nor treatment.
    pub other_variant_attempts: u64,
}

/// One user's row of the query.
struct UserRow {
    attempts: u64,
    fraud: u64,
    sold_out: u64,
    rate_limited: u64,
    eligible: u64,
    converted: u64,
    completed: u64,
    cents: i64,
}

/// Revenue in cents, half up (amounts are positive, so the cast's truncation floors).
fn cents() -> Expr {
    (col("total_amount").cast(DataType::Float64) * lit(100.0) + lit(0.5)).cast(DataType::Int64)
}

/// The experiment's attempts in each of `windows` (`[start, end)` in µs; a row in two windows
/// goes to the first), per (experiment, arm, user): one group-by, one row per user.
pub fn measure(ctx: &Context<'_, TicketingConfig>, windows: &[(i64, i64)]) -> Result<Measured> {
    let status = || col("payment_status");
    let legit = || col("is_fraud").fill_null(lit(false)).not();
    let sold_out = || status().eq(lit("sold_out"));
    let limited = || col("api_status").eq(lit(429));
    let eligible = || legit().and(sold_out().not()).and(limited().not());
    let completed = || status().eq(lit("completed"));
    let count = |e: Expr, name: &str| e.cast(DataType::Int64).sum().alias(name);
    let variant = || col("ab_variant");
    let arm = when(variant().eq(lit("control")))
        .then(lit(CONTROL))
        .when(variant().eq(lit("treatment")))
        .then(lit(TREATMENT))
        .otherwise(lit(OTHER));
    let query = ctx
        .rows()
        .filter(variant().is_not_null())
        .with_columns([range_index(windows).alias("experiment"), arm.alias("arm")])
        .group_by([col("experiment"), col("arm"), col("user_id")])
        .agg([
            len().cast(DataType::Int64).alias("attempts"),
            count(legit().not(), "fraud"),
            count(legit().and(sold_out()), "sold_out"),
            count(legit().and(sold_out().not()).and(limited()), "rate_limited"),
            count(eligible(), "eligible"),
            count(eligible().and(status().neq(lit("abandoned"))), "converted"),
            count(completed(), "completed"),
            when(legit().and(completed()))
                .then(cents())
                .otherwise(lit(0i64))
                .sum()
                .alias("cents"),
        ])
        .drop(cols(["user_id"]));
    let df = ctx.collect(query)?;
    let column = |name: &str| ints(&df, name);
    let (experiment, arm) = (column("experiment")?, column("arm")?);
    let [
        attempts,
        fraud,
        sold_out,
        rate_limited,
        eligible,
        converted,
        completed,
        cents,
    ] = [
        "attempts",
        "fraud",
        "sold_out",
        "rate_limited",
        "eligible",
        "converted",
        "completed",
        "cents",
    ]
    .map(column);
    let (attempts, fraud, sold_out, rate_limited) = (attempts?, fraud?, sold_out?, rate_limited?);
    let (eligible, converted, completed, cents) = (eligible?, converted?, completed?, cents?);
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut out = Measured {
        arms: vec![[ArmSums::default(); 2]; windows.len()],
        ..Measured::default()
    };
    for i in 0..df.height() {
        let row = UserRow {
            attempts: count(attempts[i]),
            fraud: count(fraud[i]),
            sold_out: count(sold_out[i]),
            rate_limited: count(rate_limited[i]),
            eligible: count(eligible[i]),
            converted: count(converted[i]),
            completed: count(completed[i]),
            cents: cents[i],
        };
        let Some(arms) = usize::try_from(experiment[i]).ok().and_then(|e| out.arms.get_mut(e)) else {
            out.unlabelled_attempts += row.attempts;
            out.unlabelled_users += 1;
            continue;
        };
        match arm[i] {
            CONTROL => arms[0].add(&row),
            TREATMENT => arms[1].add(&row),
            _ => out.other_variant_attempts += row.attempts,
        }
    }
    Ok(out)
}
