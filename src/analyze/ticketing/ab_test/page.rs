//! The A/B page: a pure function of the result and the settings.

use anyhow::Result;
use maud::{Markup, html};

use super::super::super::Analyzer;
use super::super::super::checks;
use super::super::super::stats::Interval;
use super::{AbTest, AbTestResult, AbTestSettings, Experiment};
use crate::report::chart::{
    BarSeries, Colour, GroupedBarChart, LineChart, LineSeries, Unit, X, render_grouped_bar_chart, render_line_chart,
};
use crate::report::html::{self as h, Cell, cards, chart_grid, section, table};

const DEFINITIONS: &str = "Rows: the attempts with an ab_variant inside each labelled experiment's window. Fraud attempts (is_fraud) are not people and are left out of every figure but the plain completed ÷ attempts. Conversion follows the label: eligible attempts are the legitimate ones that were not turned away sold out or rate-limited (429); converted means not abandoned (completed, failed or blocked at payment), so it measures the price's effect on the buyer, not on stock or payments. Revenue is the total_amount of legitimate completed attempts, summed in integer cents, in the dataset's currency. Revenue per user divides it by the users with a legitimate attempt in the arm (a user's variant never changes); revenue per attempt by the eligible attempts, the label's revenue figure. Users, not attempts, were randomized, and one user's attempts go together (a persona that rarely abandons does so every time), so the intervals of the per-attempt rates use the delta method over users (Deng et al. 2018): Var(R) = Σ(yᵢ − R·nᵢ)²·N/((N − 1)(Σn)²) over the N users, and the relative uplift's interval is exp(ln(R_t/R_c) ± z·√(Var R_c/R_c² + Var R_t/R_t²)) − 1, which is not symmetric and stays above −100%. The design effect is how much larger that variance is than if the attempts were independent. The two-proportion z-test over attempts is shown too (its relative interval is the same log-ratio method with the binomial variance); it is narrower because it ignores that clustering. Revenue per user is compared by Welch's t-test, its relative interval by the delta method on the ratio of means.";

pub fn render(r: &AbTestResult, s: &AbTestSettings) -> Result<Markup> {
    let checks = AbTest::checks(r, s);
    let experiments = r
        .experiments
        .iter()
        .map(|e| experiment(e, r.confidence))
        .collect::<Result<Vec<Markup>>>()?;
    Ok(html! {
        (section("Experiments", None, html! {
            (cards(&AbTest::headline(r)))
            @if r.experiments.is_empty() {
                p.note { "The labels hold no ab_test experiment: there is nothing to measure, and no A/B checks." }
            } @else {
                p.note {
                    (r.experiments.len()) " labelled experiment(s). Each is measured on its own window and compared with the true effects its label states (the label's magnitude is the true relative uplift of conversion; its detail gives the true revenue-per-attempt uplift). Intervals are at "
                    (h::percent(r.confidence)) " confidence (" code { "[ticketing.ab_test]" } ")."
                }
            }
            @if r.unlabelled_attempts > 0 {
                p.note { (h::count(r.unlabelled_attempts as f64)) " attempts of " (h::count(r.unlabelled_users as f64)) " users carry a variant outside every labelled experiment window: no experiment measures them." }
            }
            @if r.other_variant_attempts > 0 {
                p.note { (h::count(r.other_variant_attempts as f64)) " attempts inside an experiment have a variant other than control and treatment: left out." }
            }
        }))
        (section("Checks", Some("Per experiment: document 004's pricing revenue uplift (0.08) on the measured relative uplift of revenue per user, and whether each arm had the users needed to detect the minimum detectable effect on conversion. Whether an interval covers the label's true uplift is shown below, not checked: the labels are for judging the analysis, not the platform."),
            checks::table(&checks)))
        @for m in &experiments { (m) }
        (section("Definitions", Some(DEFINITIONS), html! {}))
    })
}

fn pct(v: f64) -> String {
    format!("{:+.2}%", v * 100.0)
}

fn interval_pct(i: Option<Interval>) -> Cell {
    i.map_or_else(
        || Cell::text("–"),
        |i| Cell::Num(format!("{} to {}", pct(i.lo), pct(i.hi))),
    )
}

fn interval_num(i: Option<Interval>, decimals: usize) -> Cell {
    i.map_or_else(
        || Cell::text("–"),
        |i| {
            Cell::Num(format!(
                "{} to {}",
                h::number(i.lo, decimals),
                h::number(i.hi, decimals)
            ))
        },
    )
}

fn covered(c: Option<bool>) -> Cell {
    Cell::text(match c {
        Some(true) => "yes",
        Some(false) => "no",
        None => "–",
    })
}

/// `z = −13.39, p < 0.0001`.
fn test(statistic: String, p: f64) -> Cell {
    let p = if p < 1e-4 {
        "p < 0.0001".to_string()
    } else {
        format!("p = {}", h::number(p, 4))
    };
    Cell::Num(format!("{statistic}, {p}"))
}

fn z_test(z: f64, p: f64) -> Cell {
    test(format!("z = {}", h::number(z, 2)), p)
}

fn opt_pct(v: Option<f64>) -> Cell {
    v.map_or_else(|| Cell::text("–"), |v| Cell::Num(pct(v)))
}

fn experiment(e: &Experiment, confidence: f64) -> Result<Markup> {
    let title = format!("{} ({}, {})", e.name, e.window, e.cohort);
    let (c, t) = (&e.control, &e.treatment);
    let row = |name: &str, f: &dyn Fn(&super::Arm) -> Cell| vec![Cell::text(name), f(c), f(t)];
    let arms = table(
        &["Figure", "Control", "Treatment"],
        &[
            row("Users with a legitimate attempt", &|a| Cell::count(a.users)),
            row("Attempts (all)", &|a| Cell::count(a.attempts)),
            row("Fraud attempts (left out)", &|a| Cell::count(a.fraud)),
            row("Sold out (left out of conversion)", &|a| Cell::count(a.sold_out)),
            row("Rate-limited, 429 (left out of conversion)", &|a| {
                Cell::count(a.rate_limited)
            }),
            row("Eligible attempts", &|a| Cell::count(a.eligible)),
            row("Converted (not abandoned)", &|a| Cell::count(a.converted)),
            row("Conversion", &|a| Cell::number(a.conversion, 4)),
            row("Conversion, interval (users as unit)", &|a| {
                interval_num(a.conversion_interval, 4)
            }),
            row("Design effect of the conversion", &|a| {
                a.design_effect.map_or_else(|| Cell::text("–"), |d| Cell::number(d, 2))
            }),
            row("Eligible attempts per user", &|a| Cell::number(a.attempts_per_user, 2)),
            row("Completed ÷ attempts (plain, all attempts)", &|a| {
                Cell::number(a.completion_rate, 4)
            }),
            row("Revenue", &|a| Cell::number(a.revenue, 2)),
            row("Revenue per user", &|a| Cell::number(a.revenue_per_user, 2)),
            row("Standard deviation of a user's revenue", &|a| {
                Cell::number(a.revenue_per_user_sd, 2)
            }),
            row("Revenue per eligible attempt", &|a| {
                Cell::number(a.revenue_per_attempt, 2)
            }),
            vec![
                Cell::text("True conversion (label)"),
                e.truth
                    .control_conversion
                    .map_or_else(|| Cell::text("–"), |v| Cell::number(v, 4)),
                e.truth
                    .treatment_conversion
                    .map_or_else(|| Cell::text("–"), |v| Cell::number(v, 4)),
            ],
        ],
    );
    let z = &e.conversion_z_test;
    let uplifts = table(
        &[
            "Metric",
            "Relative uplift",
            "Interval",
            "Difference, interval",
            "Test, two-sided p",
            "True uplift (label)",
            "Covered",
        ],
        &[
            vec![
                Cell::text("Conversion, users as unit (delta method)"),
                opt_pct(e.conversion.relative_uplift),
                interval_pct(e.conversion.relative_interval),
                interval_num(e.conversion.difference_interval, 4),
                z_test(e.conversion.z, e.conversion.p_value),
                Cell::Num(pct(e.truth.conversion_uplift)),
                covered(e.coverage.conversion),
            ],
            vec![
                Cell::text("Conversion, attempts as unit (two-proportion z-test)"),
                opt_pct(z.relative_uplift),
                interval_pct(z.relative_interval),
                interval_num(Some(z.difference_interval), 4),
                z_test(z.z, z.p_value),
                Cell::Num(pct(e.truth.conversion_uplift)),
                covered(e.coverage.conversion_z_test),
            ],
            vec![
                Cell::text("Revenue per eligible attempt, users as unit (delta method)"),
                opt_pct(e.revenue_per_attempt.relative_uplift),
                interval_pct(e.revenue_per_attempt.relative_interval),
                interval_num(e.revenue_per_attempt.difference_interval, 2),
                z_test(e.revenue_per_attempt.z, e.revenue_per_attempt.p_value),
                opt_pct(e.truth.revenue_per_attempt_uplift),
                covered(e.coverage.revenue_per_attempt),
            ],
            vec![
                Cell::text("Revenue per user (Welch's t-test)"),
                opt_pct(e.revenue_per_user.relative_uplift),
                interval_pct(e.revenue_per_user.relative_interval),
                interval_num(e.revenue_per_user.difference_interval, 2),
                test(
                    format!(
                        "t = {} (df {})",
                        h::number(e.revenue_per_user.t, 2),
                        h::number(e.revenue_per_user.df, 0)
                    ),
                    e.revenue_per_user.p_value,
                ),
                Cell::text("–"),
                Cell::text("–"),
            ],
        ],
    );
    let uplift_note = format!(
        "Treatment over control, with {} intervals. The acceptance's statement is the first row: the conversion's interval {} the label's true uplift {}. The label's revenue truth is per attempt, so the revenue-per-attempt row is compared with it; revenue per user (the business figure the check uses) has the same expected uplift when the price does not change how often a user tries, but a wider interval, as users differ in how many attempts they make.",
        h::percent(confidence),
        match e.coverage.conversion {
            Some(true) => "covers",
            Some(false) => "does not cover",
            None => "cannot be compared with",
        },
        pct(e.truth.conversion_uplift),
    );
    let s = &e.sample;
    let sample_note = html! {
        p.note {
            "To detect a " (pct(s.min_detectable_effect).trim_start_matches('+')) " relative change of the control's conversion ("
            (h::number(c.conversion, 4)) ") either way at α " (h::number(s.alpha, 2)) " with power " (h::number(s.power, 2)) ", a two-proportion test needs "
            @match s.attempts_required { Some(n) => (h::count(n as f64)), None => "–" }
            " independent attempts per arm (Fleiss, without continuity correction). Attempts of one user are worth less than independent ones (design effect "
            (h::number(c.design_effect.unwrap_or(1.0).max(1.0), 2)) ", taken as at least 1), and a user makes "
            (h::number(c.attempts_per_user, 2)) " eligible attempts, so that is "
            @match s.users_required { Some(n) => (h::count(n as f64)), None => "–" }
            " users per arm; the smaller arm has " (h::count(s.users_per_arm as f64)) "."
        }
        p.note {
            "Revenue per user varies much more: to detect the target uplift of " (pct(s.revenue_uplift))
            " in revenue per user with the same α and power would take "
            @match s.revenue_users_required { Some(n) => (h::count(n as f64)), None => "–" }
            " users per arm (normal approximation with the arms' standard deviations)."
            @if s.revenue_users_required.is_some_and(|n| n > s.users_per_arm) {
                " This experiment is too small for that: a revenue-per-user interval this wide can neither confirm nor rule out the target."
            }
        }
    };
    Ok(section(
        &title,
        Some(&format!("The label: {}", e.detail)),
        html! {
            h3 { "Per arm" }
            (arms)
            h3 { "Uplift, tests and the label's truth" }
            p.note { (uplift_note) }
            (uplifts)
            (chart_grid(&charts(e)?))
            h3 { "Sample size" }
            (sample_note)
        },
    ))
}

/// The conversion per arm against the label's, and the uplift intervals against the truths.
fn charts(e: &Experiment) -> Result<Vec<String>> {
    let mut series = vec![
        BarSeries::new(
            "Measured",
            vec![e.control.conversion * 100.0, e.treatment.conversion * 100.0],
        )
        .colour(Colour::PRIMARY),
    ];
    if let (Some(c), Some(t)) = (e.truth.control_conversion, e.truth.treatment_conversion) {
        series.push(BarSeries::new("True (label)", vec![c * 100.0, t * 100.0]).colour(Colour::MUTED));
    }
    let arms = render_grouped_bar_chart(&GroupedBarChart {
        title: format!("{}: conversion per arm", e.name),
        x_label: "Arm".into(),
        y_label: "Eligible attempts not abandoned".into(),
        unit: Unit::Percent,
        categories: vec!["Control".into(), "Treatment".into()],
        series,
        show_values: true,
        ..Default::default()
    })?;

    // A forest plot: one row per metric (3 conversion, 2 revenue per attempt, 1 revenue per
    // user), its interval as a bar, the estimate as a tick, the truths and the target dashed.
    let p = |v: f64| X::Num(v * 100.0);
    let mut lines = vec![LineSeries::new("No effect", vec![(p(0.0), 0.5), (p(0.0), 3.5)]).colour(Colour::MUTED)];
    let rows = [
        (
            "Conversion",
            e.conversion.relative_interval,
            e.conversion.relative_uplift,
            3.0,
            Colour::PRIMARY,
        ),
        (
            "Revenue per attempt",
            e.revenue_per_attempt.relative_interval,
            e.revenue_per_attempt.relative_uplift,
            2.0,
            Colour::SUCCESS,
        ),
        (
            "Revenue per user",
            e.revenue_per_user.relative_interval,
            e.revenue_per_user.relative_uplift,
            1.0,
            Colour::SECONDARY,
        ),
    ];
    for (name, interval, estimate, y, colour) in rows {
        if let Some(i) = interval {
            lines.push(LineSeries::new(format!("{name}, interval"), vec![(p(i.lo), y), (p(i.hi), y)]).colour(colour));
        }
        if let Some(m) = estimate {
            lines.push(LineSeries::new("", vec![(p(m), y - 0.2), (p(m), y + 0.2)]).colour(colour));
        }
    }
    let tick = |name: &str, x: f64, y: f64, colour: Colour| {
        LineSeries::new(name, vec![(p(x), y - 0.35), (p(x), y + 0.35)])
            .colour(colour)
            .dashed()
    };
    lines.push(tick(
        "True uplift (label)",
        e.truth.conversion_uplift,
        3.0,
        Colour::DANGER,
    ));
    if let Some(t) = e.truth.revenue_per_attempt_uplift {
        lines.push(tick("", t, 2.0, Colour::DANGER));
    }
    lines.push(tick("Revenue target", e.sample.revenue_uplift, 1.0, Colour::WARNING));
    let forest = render_line_chart(&LineChart {
        title: format!("{}: relative uplift, treatment over control", e.name),
        x_label: "Relative uplift".into(),
        y_label: "3 conversion · 2 revenue/attempt · 1 revenue/user".into(),
        x_unit: Unit::Percent,
        y_unit: Unit::Number,
        series: lines,
        y_range: Some((0.0, 4.0)),
        ..Default::default()
    })?;
    Ok(vec![arms, forest])
}
