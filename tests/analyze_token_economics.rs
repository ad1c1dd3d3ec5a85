//! The token economics analyzer against independent folds over the rows (read with arrow, prices
//! read from `config/catalogue.toml` here): totals, per-model cost per 1M tokens and list prices,
//! input:output ratios, failed calls' waste, the oversize thresholds and excess, the retry
//! estimate — and a derived dataset with a retry after every failure, which it must find.

mod analyze_derived;
mod analyze_support;
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use analyze_derived::setting;
use analyze_support::{analyze, assert_close, close, fixture, process_dir};
use arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use common::{floats, ints, strings, timestamps_us};
use trafficsim::analyze::token_economics::TokenEconomicsResult;

/// (input, output) list prices per 1K tokens, by model.
fn prices() -> BTreeMap<String, (f64, f64)> {
    let text = std::fs::read_to_string(common::repo().join("config/catalogue.toml")).unwrap();
    let file: toml::Table = text.parse().unwrap();
    file["prices"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(m, p)| {
            let f = |k: &str| p[k].as_float().unwrap();
            (m.clone(), (f("input"), f("output")))
        })
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Sums {
    calls: u64,
    input: i64,
    output: i64,
    cost_micros: i64,
}

impl Sums {
    fn add(&mut self, input: i64, output: i64, cost: f64) {
        self.calls += 1;
        self.input += input;
        self.output += output;
        self.cost_micros += (cost * 1e6).round() as i64;
    }
    fn cost(&self) -> f64 {
        self.cost_micros as f64 / 1e6
    }
    fn tokens(&self) -> f64 {
        (self.input + self.output) as f64
    }
}

fn rel(got: f64, want: f64, what: &str) {
    assert!(close(got, want, 1e-9), "{what}: got {got}, want {want}");
}

#[test]
fn totals_models_and_ratios_match_a_fold_over_the_successful_calls() {
    let f = fixture();
    let r: TokenEconomicsResult = f.typed("token_economics");
    let b = &f.rows;
    let (status, model, task) = (strings(b, "status"), strings(b, "model"), strings(b, "task_type"));
    let (input, output, cost) = (ints(b, "input_tokens"), ints(b, "output_tokens"), floats(b, "cost_usd"));
    let mut all = Sums::default();
    let mut by_model: BTreeMap<&str, Sums> = BTreeMap::new();
    let mut by_task: BTreeMap<&str, Sums> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if status[i] != "success" {
            continue;
        }
        all.add(input[i], output[i], cost[i]);
        by_model.entry(model[i]).or_default().add(input[i], output[i], cost[i]);
        by_task.entry(task[i]).or_default().add(input[i], output[i], cost[i]);
    }
    let t = &r.totals;
    assert_eq!(t.calls, b.num_rows() as u64);
    assert_eq!(t.successful_calls, all.calls);
    assert_eq!((t.input_tokens, t.output_tokens), (all.input, all.output));
    assert_close(t.cost_usd, all.cost(), "cost");
    rel(t.tokens_per_usd, all.tokens() / all.cost(), "tokens per $");
    rel(t.cost_per_1m_tokens, all.cost() * 1e6 / all.tokens(), "cost per 1M");
    rel(
        t.input_output_ratio,
        all.input as f64 / all.output as f64,
        "input:output",
    );

    let prices = prices();
    assert_eq!(r.by_model.len(), by_model.len());
    for m in &r.by_model {
        let w = by_model[m.model.as_str()];
        assert_eq!(
            (m.calls, m.input_tokens, m.output_tokens),
            (w.calls, w.input, w.output),
            "{}",
            m.model
        );
        assert_close(m.cost_usd, w.cost(), &m.model);
        rel(m.cost_per_1m_tokens, w.cost() * 1e6 / w.tokens(), &m.model);
        let (pin, pout) = prices[&m.model];
        rel(m.list_input_per_1m.unwrap(), pin * 1000.0, &m.model);
        rel(m.list_output_per_1m.unwrap(), pout * 1000.0, &m.model);
        // No prompt caching in the default profile: an input token costs its list price (to the
        // rounding of each call's cost to 6 decimals).
        let paid = m.paid_input_per_1m.unwrap();
        assert!(
            (paid - pin * 1000.0).abs() <= 1e6 * 0.5e-6 * w.calls as f64 / w.input as f64 + 1e-9,
            "{} paid {paid}",
            m.model
        );
    }
    assert!(
        r.by_model
            .windows(2)
            .all(|w| w[0].input_tokens + w[0].output_tokens >= w[1].input_tokens + w[1].output_tokens),
        "most tokens first"
    );
    assert_eq!(r.by_task.len(), by_task.len());
    for g in &r.by_task {
        let w = by_task[g.name.as_str()];
        rel(g.input_output_ratio, w.input as f64 / w.output as f64, &g.name);
        rel(g.tokens_per_usd, w.tokens() / w.cost(), &g.name);
    }
    let pairs: u64 = r.by_task_model.iter().map(|g| g.calls).sum();
    assert_eq!(pairs, all.calls, "task × model covers every successful call once");
}

#[test]
fn failed_calls_waste_their_prompts() {
    let f = fixture();
    let r: TokenEconomicsResult = f.typed("token_economics");
    let b = &f.rows;
    let (status, model) = (strings(b, "status"), strings(b, "model"));
    let (input, cost) = (ints(b, "input_tokens"), floats(b, "cost_usd"));
    let prices = prices();
    let mut by_status: BTreeMap<&str, (u64, i64, f64, f64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if status[i] == "success" {
            continue;
        }
        let e = by_status.entry(status[i]).or_default();
        e.0 += 1;
        e.1 += input[i];
        e.2 += cost[i];
        e.3 += input[i] as f64 * prices[model[i]].0 / 1000.0;
    }
    let w = &r.failures;
    assert!(w.calls > 0, "the fixture has failures");
    assert_eq!(w.calls, by_status.values().map(|e| e.0).sum::<u64>());
    assert_eq!(w.input_tokens, by_status.values().map(|e| e.1).sum::<i64>());
    rel(w.share, w.calls as f64 / b.num_rows() as f64, "failure share");
    assert_eq!(w.by_status.len(), by_status.len());
    for s in &w.by_status {
        let e = by_status[s.status.as_str()];
        assert_eq!((s.calls, s.input_tokens), (e.0, e.1), "{}", s.status);
        assert_close(s.billed_usd, e.2, &s.status);
        rel(s.input_at_list_usd, e.3, &s.status);
    }
    assert_eq!(w.billed_usd, 0.0, "the simulator bills successes only");
    assert!(w.input_at_list_usd > 0.0);
}

#[test]
fn oversized_prompts_are_those_above_their_task_p95_priced_at_list_input() {
    let f = fixture();
    let r: TokenEconomicsResult = f.typed("token_economics");
    let q = setting("token_economics", "oversized_quantile");
    let b = &f.rows;
    let (status, model, task) = (strings(b, "status"), strings(b, "model"), strings(b, "task_type"));
    let input = ints(b, "input_tokens");
    let mut inputs: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for i in 0..b.num_rows() {
        if status[i] == "success" {
            inputs.entry(task[i]).or_default().push(input[i]);
        }
    }
    // Nearest rank: the ⌈q·n⌉-th smallest.
    let thresholds: BTreeMap<&str, i64> = inputs
        .iter_mut()
        .map(|(t, v)| {
            v.sort_unstable();
            let rank = ((q * v.len() as f64) - 1e-9).ceil() as usize;
            (*t, v[rank.max(1) - 1])
        })
        .collect();
    let o = &r.oversized;
    assert_eq!(o.thresholds.len(), thresholds.len());
    for t in &o.thresholds {
        assert_eq!(
            t.threshold_input_tokens,
            thresholds[t.task_type.as_str()],
            "{}",
            t.task_type
        );
    }
    let prices = prices();
    let mut groups: BTreeMap<(&str, &str), (u64, i64)> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let limit = thresholds[task[i]];
        if status[i] == "success" && input[i] > limit {
            let e = groups.entry((task[i], model[i])).or_default();
            e.0 += 1;
            e.1 += input[i] - limit;
        }
    }
    assert_eq!(o.by_task_model.len(), groups.len());
    let mut excess_cost = 0.0;
    for g in &o.by_task_model {
        let (calls, excess) = groups[&(g.task_type.as_str(), g.model.as_str())];
        assert_eq!(
            (g.calls, g.excess_input_tokens),
            (calls, excess),
            "{} {}",
            g.task_type,
            g.model
        );
        rel(g.excess_cost_usd, excess as f64 * prices[&g.model].0 / 1000.0, &g.model);
        excess_cost += g.excess_cost_usd;
    }
    assert_eq!(o.calls, groups.values().map(|g| g.0).sum::<u64>());
    rel(o.excess_cost_usd, excess_cost, "excess cost");
    // At most 1 − q of each task's calls lie strictly above its q-quantile.
    assert!(o.share <= 1.0 - q + 1e-9, "share {}", o.share);
}

/// Per call, in time order: whether a same (customer, feature, model) call follows within the
/// window; counted after failures and after successes.
fn follow_fold(b: &RecordBatch, window_s: i64) -> (u64, u64, u64, u64) {
    let (status, customer, feature, model) = (
        strings(b, "status"),
        strings(b, "customer_id"),
        strings(b, "feature_id"),
        strings(b, "model"),
    );
    let ts = timestamps_us(b);
    let mut order: Vec<usize> = (0..b.num_rows()).collect();
    order.sort_by_key(|&i| (customer[i], feature[i], model[i], ts[i], i));
    let (mut failures, mut successes, mut after_failure, mut after_success) = (0, 0, 0, 0);
    for (k, &i) in order.iter().enumerate() {
        let failed = status[i] != "success";
        if failed {
            failures += 1;
        } else {
            successes += 1;
        }
        let Some(&j) = order.get(k + 1) else { continue };
        if (customer[j], feature[j], model[j]) == (customer[i], feature[i], model[i])
            && ts[j] - ts[i] <= window_s * 1_000_000
        {
            if failed {
                after_failure += 1;
            } else {
                after_success += 1;
            }
        }
    }
    (failures, successes, after_failure, after_success)
}

#[test]
fn retries_are_chance_pairs_on_simulated_data() {
    let f = fixture();
    let r: TokenEconomicsResult = f.typed("token_economics");
    let t = &r.retries;
    let (failures, successes, after_failure, after_success) = follow_fold(&f.rows, t.window_s as i64);
    assert_eq!(t.unavailable, None);
    assert_eq!(
        (t.failures, t.successes, t.followed_failures, t.followed_successes),
        (failures, successes, after_failure, after_success)
    );
    assert_eq!(t.out_of_order_pairs, 0);
    // The simulator draws every call's status on its own and never retries.
    assert!(!t.excess_is_significant, "p = {}", t.p_value);
    assert_eq!(t.estimated_retries, 0.0);
}

/// The fixture with a retry 5 s after every failed call: a success with the same customer,
/// feature, model and tokens.
fn with_retries() -> (RecordBatch, u64) {
    let b = &fixture().rows;
    let status = strings(b, "status");
    let failed: Vec<u32> = (0..b.num_rows() as u32)
        .filter(|&i| status[i as usize] != "success")
        .collect();
    let retries = take_record_batch(b, &arrow::array::UInt32Array::from(failed.clone())).unwrap();
    let schema = retries.schema();
    let mut columns: Vec<ArrayRef> = retries.columns().to_vec();
    let ts: Vec<i64> = timestamps_us(&retries).iter().map(|t| t + 5_000_000).collect();
    let ts_index = schema.index_of("timestamp").unwrap();
    let tz = match schema.field(ts_index).data_type() {
        arrow::datatypes::DataType::Timestamp(_, tz) => tz.clone(),
        other => panic!("timestamp is {other}"),
    };
    columns[ts_index] = Arc::new(TimestampMicrosecondArray::from(ts).with_timezone_opt(tz));
    columns[schema.index_of("status").unwrap()] = Arc::new(StringArray::from(vec!["success"; failed.len()]));
    let retries = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let all = concat_batches(&schema, [b, &retries]).unwrap();
    let order = sort_to_indices(all.column(ts_index), None, None).unwrap();
    (take_record_batch(&all, &order).unwrap(), failed.len() as u64)
}

#[test]
fn a_retry_after_every_failure_is_found() {
    let (batch, injected) = with_retries();
    let root = process_dir("retries");
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("calls.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&data).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let reports = root.join("reports");
    analyze(&data, &reports, &["--only", "token_economics"]).success();
    let r: TokenEconomicsResult =
        serde_json::from_value(analyze_support::result_in(&reports, "token_economics")).unwrap();
    let t = &r.retries;
    let (failures, successes, after_failure, after_success) = follow_fold(&batch, t.window_s as i64);
    assert_eq!(
        (t.failures, t.successes, t.followed_failures, t.followed_successes),
        (failures, successes, after_failure, after_success)
    );
    assert!(t.excess_is_significant, "p = {}", t.p_value);
    // Every failure is followed; the chance rate after a success is subtracted.
    assert_eq!(t.followed_failures, injected);
    let want = injected as f64 - injected as f64 * t.follow_rate_after_success;
    rel(t.estimated_retries, want, "estimated retries");
    assert!(
        t.estimated_retries > 0.95 * injected as f64,
        "{} of {injected}",
        t.estimated_retries
    );
    assert!(r.recommendations.iter().any(|x| x.title == "Retries after failures"));
}
