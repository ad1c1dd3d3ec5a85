//! The token economics page: pure, result → markup.

use anyhow::Result;
use maud::{Markup, html};

use super::{TokenEconomics, TokenEconomicsResult, TokenGroup, TokenSettings};
use crate::analyze::Analyzer;
use crate::report::chart::{Bar, BarChart, Unit, render_bar_chart};
use crate::report::html::{
    self as h, Cell, bars_size, capped_note, cards, chart, chart_grid, recommendations, section, table,
};

fn price(v: Option<f64>) -> Cell {
    v.map_or_else(|| Cell::text("not listed"), Cell::usd)
}

fn group_rows(groups: &[TokenGroup], top: usize) -> Vec<Vec<Cell>> {
    groups
        .iter()
        .take(top)
        .map(|g| {
            vec![
                Cell::text(&g.name),
                Cell::count(g.calls),
                Cell::count(g.input_tokens.max(0) as u64),
                Cell::count(g.output_tokens.max(0) as u64),
                Cell::number(g.input_output_ratio, 2),
                Cell::usd(g.cost_usd),
                Cell::count(g.tokens_per_usd.round() as u64),
                Cell::usd(g.cost_per_1m_tokens),
            ]
        })
        .collect()
}

const GROUP_HEAD: [&str; 8] = [
    "Group",
    "Calls",
    "Input tokens",
    "Output tokens",
    "Input:output",
    "Cost",
    "Tokens per $",
    "Per 1M tokens",
];

pub fn render(r: &TokenEconomicsResult, s: &TokenSettings) -> Result<Markup> {
    let top = s.top_rows as usize;
    let model_rows: Vec<Vec<Cell>> = r
        .by_model
        .iter()
        .take(top)
        .map(|m| {
            vec![
                Cell::text(format!("{} ({})", m.model, m.provider)),
                Cell::count(m.calls),
                Cell::count((m.input_tokens + m.output_tokens).max(0) as u64),
                Cell::usd(m.cost_usd),
                Cell::count(m.tokens_per_usd.round() as u64),
                Cell::usd(m.cost_per_1m_tokens),
                price(m.list_input_per_1m),
                price(m.paid_input_per_1m),
                price(m.list_output_per_1m),
                Cell::number(m.input_output_ratio, 2),
            ]
        })
        .collect();
    let mut per_1m: Vec<Bar> = r
        .by_model
        .iter()
        .take(top)
        .map(|m| Bar::new(&m.model, m.cost_per_1m_tokens))
        .collect();
    per_1m.sort_by(|a, b| crate::analyze::frame::desc(a.value, b.value).then_with(|| a.label.cmp(&b.label)));
    let cost_chart = render_bar_chart(&BarChart {
        title: format!("Cost per 1M tokens, the {} models with most tokens", per_1m.len()),
        value_label: "USD per 1M tokens (input and output)".into(),
        unit: Unit::Dollars,
        size: bars_size(per_1m.len()),
        bars: per_1m,
        ..BarChart::default()
    })?;
    let ratio_chart = render_bar_chart(&BarChart {
        title: "Input:output ratio by task type".into(),
        value_label: "input tokens per output token".into(),
        unit: Unit::Number,
        size: bars_size(r.by_task.len()),
        bars: r
            .by_task
            .iter()
            .map(|g| Bar::new(&g.name, g.input_output_ratio))
            .collect(),
        ..BarChart::default()
    })?;
    let f = &r.failures;
    let status_rows: Vec<Vec<Cell>> = f
        .by_status
        .iter()
        .map(|st| {
            vec![
                Cell::text(&st.status),
                Cell::count(st.calls),
                Cell::count(st.input_tokens.max(0) as u64),
                Cell::usd(st.billed_usd),
                Cell::usd(st.input_at_list_usd),
            ]
        })
        .collect();
    let o = &r.oversized;
    let threshold_rows: Vec<Vec<Cell>> = o
        .thresholds
        .iter()
        .map(|t| {
            vec![
                Cell::text(&t.task_type),
                Cell::count(t.successful_calls),
                Cell::count(t.threshold_input_tokens.max(0) as u64),
            ]
        })
        .collect();
    let oversized_rows: Vec<Vec<Cell>> = o
        .by_task_model
        .iter()
        .take(top)
        .map(|g| {
            vec![
                Cell::text(&g.task_type),
                Cell::text(&g.model),
                Cell::count(g.calls),
                Cell::count(g.excess_input_tokens.max(0) as u64),
                Cell::usd(g.excess_cost_usd),
            ]
        })
        .collect();
    let t = &r.retries;
    let pct = format!("p{}", h::number(o.quantile * 100.0, 1).trim_end_matches(".0"));
    Ok(html! {
        (section("Summary", Some("Successful calls (the billed ones); tokens are input plus output."), html! {
            (cards(&TokenEconomics::headline(r)))
        }))
        (section("Recommendations", None, recommendations(&r.recommendations)))
        (section("Cost per 1M tokens by model", Some(
            "What the calls cost per 1M tokens, and the catalogue's list prices. \"Paid input\" is the cost less the \
             output at list price, over the input tokens: below the list price where the prompt cache served part \
             of the input."), html! {
            (chart(&cost_chart))
            (table(&["Model", "Calls", "Tokens", "Cost", "Tokens per $", "Per 1M tokens", "List input / 1M",
                     "Paid input / 1M", "List output / 1M", "Input:output"], &model_rows))
            (capped_note(model_rows.len(), r.by_model.len()))
        }))
        (section("Input:output ratios", Some("Σ input tokens ÷ Σ output tokens (a ratio of sums)."), html! {
            (chart_grid(&[ratio_chart]))
            (table(&GROUP_HEAD, &group_rows(&r.by_task, r.by_task.len())))
            h3 { "By task type and model" }
            (table(&GROUP_HEAD, &group_rows(&r.by_task_model, top)))
            (capped_note(top.min(r.by_task_model.len()), r.by_task_model.len()))
        }))
        (section("Failed calls", Some(&format!(
            "{} calls failed ({} of all): their prompts were sent and no answer came back.",
            h::count(f.calls as f64), h::percent(f.share))), html! {
            (cards(&[
                h::Figure::count("Input tokens sent", f.input_tokens.max(0) as u64),
                h::Figure::usd("Billed", f.billed_usd),
                h::Figure::usd("At list input price", f.input_at_list_usd),
            ]))
            (table(&["Status", "Calls", "Input tokens", "Billed", "At list input price"], &status_rows))
        }))
        (section("Oversized prompts", Some(&format!(
            "A successful call's prompt is oversized above its task type's {pct} input (nearest rank); the excess \
             above it is priced at the model's list input price: what trimming to the usual length would save. \
             {} calls ({}), {} excess tokens, {} over the window, {} a month.",
            h::count(o.calls as f64), h::percent(o.share), h::count(o.excess_input_tokens as f64),
            h::usd(o.excess_cost_usd), h::usd(o.monthly_excess_cost_usd))), html! {
            (table(&["Task type", "Successful calls", &format!("{pct} input tokens")], &threshold_rows))
            (table(&["Task type", "Model", "Oversized calls", "Excess input tokens", "Excess cost"], &oversized_rows))
            (capped_note(oversized_rows.len(), o.by_task_model.len()))
        }))
        (section("Retries", Some(&t.method), html! {
            @if let Some(why) = &t.unavailable {
                p.note { "Not computed: " (why) }
            } @else {
                (table(&["", "Calls", "Followed within the window", "Rate"], &[
                    vec![Cell::text("After a failure"), Cell::count(t.failures), Cell::count(t.followed_failures),
                         Cell::percent(t.follow_rate_after_failure)],
                    vec![Cell::text("After a success"), Cell::count(t.successes), Cell::count(t.followed_successes),
                         Cell::percent(t.follow_rate_after_success)],
                ]))
                p {
                    @if t.excess_is_significant {
                        "About " strong { (h::count(t.estimated_retries)) } " retries, costing about "
                        (h::usd(t.estimated_retry_cost_usd)) " (p = " (h::number(t.p_value, 4)) ")."
                    } @else {
                        "No retries detected: a failure is not followed more often than a success (p = "
                        (h::number(t.p_value, 4)) "), so the pairs after failures are chance."
                    }
                    @if t.out_of_order_pairs > 0 {
                        " " (h::count(t.out_of_order_pairs as f64)) " pairs were out of time order and not counted."
                    }
                }
            }
        }))
    })
}
