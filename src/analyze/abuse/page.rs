//! The abuse detection page: pure, result → markup.

use anyhow::Result;
use maud::{Markup, html};

use super::{Abuse, AbuseResult, AbuseSettings, FlaggedCustomer, RateTest};
use crate::analyze::Analyzer;
use crate::report::html::{self as h, Cell, capped_note, cards, recommendations, section, table};

fn flagged_rows(rows: &[FlaggedCustomer], top: usize) -> Vec<Vec<Cell>> {
    rows.iter()
        .take(top)
        .map(|f| {
            vec![
                Cell::text(&f.customer_id),
                Cell::text(&f.subscription_tier),
                Cell::text(&f.timezone),
                Cell::count(f.calls),
                Cell::count(f.events),
                Cell::percent(f.rate),
                Cell::percent(f.reference_rate),
                f.ratio.map_or_else(|| Cell::text("–"), |r| Cell::number(r, 1)),
                Cell::text(format!("{:.2e}", f.p_value)),
                Cell::usd(f.cost_usd),
            ]
        })
        .collect()
}

fn rate_section(title: &str, what: &str, t: &RateTest, top: usize) -> Markup {
    section(
        title,
        Some(&t.method),
        html! {
            p { (h::count(t.events as f64)) " " (what) " of " (h::count(t.calls as f64)) " calls ("
                (h::percent(t.overall_rate)) ") over " (h::count(t.customers_tested as f64)) " customers tested; "
                strong { (t.flagged.len()) } " flagged." }
            @if !t.flagged.is_empty() {
                (table(&["Customer", "Tier", "Time zone", "Calls", what, "Share", "Others' share", "× others",
                         "p-value", "Cost"], &flagged_rows(&t.flagged, top)))
                (capped_note(t.flagged.len().min(top), t.flagged.len()))
            }
        },
    )
}

pub fn render(r: &AbuseResult, s: &AbuseSettings) -> Result<Markup> {
    let top = s.table_rows as usize;
    let cc = &r.concurrency;
    let concurrency_rows: Vec<Vec<Cell>> = cc
        .customers
        .iter()
        .take(top)
        .map(|c| {
            vec![
                Cell::text(&c.customer_id),
                Cell::text(&c.subscription_tier),
                Cell::count(c.hours_flagged),
                Cell::text(&c.worst_hour),
                Cell::count(c.worst_hour_calls),
                Cell::count(c.peak_minute_calls),
                Cell::text(format!("{:.2e}", c.p_value)),
            ]
        })
        .collect();
    let cs = &r.cost_spikes;
    let spike_rows: Vec<Vec<Cell>> = cs
        .spikes
        .iter()
        .take(top)
        .map(|x| {
            vec![
                Cell::text(&x.customer_id),
                Cell::text(&x.subscription_tier),
                Cell::text(&x.start),
                Cell::count(u64::from(x.hours)),
                Cell::count(x.calls),
                Cell::number(x.expected_calls, 1),
                Cell::usd(x.excess_cost_usd),
                Cell::percent(x.share_of_price),
                Cell::text(&x.explained_by),
            ]
        })
        .collect();
    Ok(html! {
        (section("Summary", Some(&format!(
            "{} customers, {} calls over {} days. Every flag is a test at a false-discovery rate of {}: among the \
             flagged customers, at most that share are expected to be chance.",
            h::count(r.customers as f64), h::count(r.calls as f64), r.window_days, s.fdr)), html! {
            (cards(&Abuse::headline(r)))
        }))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (rate_section("Rate-limit abuse", "rate-limited", &r.rate_limits, top))
        (rate_section("Off-hours use", "at local night", &r.off_hours, top))
        @if !r.unknown_timezones.is_empty() {
            p.note { "Time zones not in the time-zone database (their customers are not tested for off-hours use): "
                (r.unknown_timezones.join(", ")) }
        }
        (section("Concurrency", Some(&cc.method), html! {
            p { (h::count(cc.hours_tested as f64)) " customer-hours tested; " strong { (h::count(cc.hours_flagged as f64)) }
                " flagged, of " (cc.customers.len()) " customers." }
            @if !concurrency_rows.is_empty() {
                (table(&["Customer", "Tier", "Hours flagged", "Worst hour (UTC)", "Calls that hour",
                         "Busiest minute", "p-value"], &concurrency_rows))
                (capped_note(concurrency_rows.len(), cc.customers.len()))
            }
        }))
        (section("Cost spikes", Some(&format!(
            "{}. The excess is the calls above the baseline at the customer's average cost per call, set against \
             its monthly plan price; {} spikes reach the {} materiality floor.",
            cs.method, cs.material, h::usd(s.materiality_usd))), html! {
            p { (h::count(cs.spikes.len() as f64)) " spikes over " (h::count(cs.hours_tested as f64))
                " customer-hours of " (h::count(cs.customers as f64)) " customers: " strong { (h::usd(cs.excess_cost_usd)) }
                " above baseline." }
            @if !spike_rows.is_empty() {
                (table(&["Customer", "Tier", "Start (UTC)", "Hours", "Calls", "Expected", "Excess cost",
                         "Of monthly price", "Explained by"], &spike_rows))
                (capped_note(spike_rows.len(), cs.spikes.len()))
            }
        }))
        (section("Scored against the labels", Some(
            "The cost spikes against the `burst` labels (a detected spike finds a labelled burst when they share an \
             hour of the same customer; precision over the customers of the scenarios that inject bursts), and \
             every spike against the injected events that explain it: a labelled burst, or a cohort that went \
             viral."), html! {
            @match (&cs.burst_score, &cs.explained) {
                (Some(b), Some(e)) => {
                    (table(&["", "Labelled", "Found", "Recall", "Flagged", "True", "Precision"], &[
                        vec![Cell::text("Bursts"), Cell::count(b.labelled), Cell::count(b.found),
                             Cell::percent(b.recall), Cell::count(b.flagged), Cell::count(b.true_positives),
                             Cell::percent(b.precision)],
                    ]))
                    (table(&["Spikes", "Labelled burst", "Viral cohort", "Unexplained", "Explained share",
                             "Viral customers with a spike"], &[vec![
                        Cell::count(cs.spikes.len() as u64), Cell::count(e.by_burst_label),
                        Cell::count(e.by_viral_cohort), Cell::count(e.unexplained), Cell::percent(e.share),
                        Cell::text(format!("{} of {}", e.viral_customers_spiking, e.viral_customers)),
                    ]]))
                    p.note { "Rate limits, off-hours use and concurrency have no labels: the generator injects none of them, \
                              so on its data any flag is a false alarm, expected at most at the false-discovery rate." }
                }
                _ => { p.note { "No labels beside the data: nothing to score." } }
            }
        }))
    })
}
