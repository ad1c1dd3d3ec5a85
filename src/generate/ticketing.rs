//! The ticketing workload on the generic driver: the plan sized to the target, the units handed
//! to [`super::write_facts`] with the inventory and the users' recent attempts carried between
//! them, then the `events`, `users` and `labels` tables.

use std::ops::{ControlFlow, Range};
use std::time::Instant;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rayon::prelude::*;
use serde::Serialize;

use super::summary::{RunSummary, Totals, cents};
use super::{
    DayDone, DayWritten, GenerateOptions, Generation, PILOT_ROWS, Tally, UNIT_ROWS, rows_for_bytes, run_days,
    summarize, write_facts,
};

/// Most attempts in a ticketing unit (a Parquet row group): twice the calls' units. A row group
/// of 32 columns costs a compression context per column, and the larger groups halve those
/// (10M rows: 11.4 s → 10.4 s) at 40 MiB more in flight, the same at any size.
const TICKETING_UNIT_ROWS: u64 = 2 * UNIT_ROWS;
use crate::batch::ticketing::events::{EVENTS_SCHEMA, EventRow, events_batch};
use crate::batch::ticketing::transactions::{
    TransactionBatchBuilder, UNIQUE_COLUMNS, column_names, total_amount, transaction_columns,
};
use crate::batch::ticketing::users::{USERS_SCHEMA, UserContext, users_batch};
use crate::config::{SizeTarget, TicketingConfig};
use crate::sim::label::Label;
use crate::sim::ticketing::attempt::{Attempt, PaymentStatus};
use crate::sim::ticketing::carry::Carry;
use crate::sim::ticketing::plan::{PlanCohort, Rows, TicketPlan, TicketSpan, plan};
use crate::sim::ticketing::scenarios::{CohortInfo, DayTerms, Env, LabelNames, PersonaTerms, UpliftTerms};
use crate::sim::ticketing::traffic::TicketGenerator;
use crate::sim::ticketing::users::generate_user_with;
use crate::sim::units::Unit;
use crate::sink::csv::{csv_bytes, csv_header};
use crate::sink::dataset::DatasetPaths;
use crate::sink::layout;
use crate::sink::parquet::Provenance;
use crate::sink::table::{write_labels, write_table};

/// Users written per batch of the `users` table.
const USER_BATCH: u32 = 65_536;

/// Rows and sales one cohort contributed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CohortSummary {
    pub name: String,
    pub scenario: String,
    pub users: u32,
    pub events: usize,
    /// Users ÷ the scenario's natural users.
    pub scale: f64,
    /// Attempts simulated; `rows` of them are kept (even thinning).
    pub simulated_attempts: u64,
    pub rows: u64,
    /// Completed sales, SAR.
    pub revenue_sar: f64,
}

/// The ticketing run's total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TicketingTotals {
    pub revenue_sar: f64,
}

impl Totals for TicketingTotals {
    fn phrase(&self) -> String {
        format!("SAR {:.2} of completed sales", self.revenue_sar)
    }
}

/// What `trafficsim generate` reports for a ticketing run.
pub type TicketingSummary = RunSummary<TicketingTotals, CohortSummary>;

/// The cohorts of a config, for the planner.
fn plan_cohorts(config: &TicketingConfig) -> Vec<PlanCohort> {
    config
        .run
        .cohorts
        .iter()
        .zip(config.cohort_scenarios())
        .enumerate()
        .map(|(i, (c, def))| PlanCohort {
            info: CohortInfo {
                index: i as u16,
                name: c.name.clone(),
                scenario: def.name.clone(),
            },
            share: c.share,
            def: def.clone(),
        })
        .collect()
}

/// Plans a run: the cohorts at the scale that gives exactly the rows (or CSV size) asked for.
pub fn plan_run<'a>(config: &'a TicketingConfig, env: &'a Env<'a>) -> Result<(TicketGenerator<'a>, TicketPlan)> {
    let rows = match config.run.size {
        SizeTarget::Rows(n) => Rows::Exact(n),
        SizeTarget::Natural => Rows::Natural,
        SizeTarget::CsvBytes(target) => {
            let header = csv_header(&crate::batch::columns::schema(
                &transaction_columns(),
                &config.run.columns,
            ))?
            .len() as u64;
            Rows::Exact(rows_for_bytes(target, header, |rows| {
                pilot_bytes_per_row(config, env, rows)
            })?)
        }
    };
    Ok(plan(
        env,
        &config.model,
        plan_cohorts(config),
        rows,
        TICKETING_UNIT_ROWS,
    )?)
}

/// Measures CSV bytes per row on units spread over a run of `rows` rows.
fn pilot_bytes_per_row(config: &TicketingConfig, env: &Env, rows: u64) -> Result<f64> {
    let (g, plan) = plan(
        env,
        &config.model,
        plan_cohorts(config),
        Rows::Exact(rows),
        TICKETING_UNIT_ROWS,
    )?;
    let full: Vec<&Unit<TicketSpan>> = plan.units.iter().filter(|u| u.rows > 0).collect();
    // About PILOT_ROWS rows, and at least eight units spread over the window (days differ:
    // a flash sale's day is all sold-out attempts).
    let wanted = (full.len() as u64 * PILOT_ROWS / rows.max(1)).max(8) as usize;
    let stride = (full.len() / wanted.max(1)).max(1);
    // One carry through the sampled units, in order, so that velocity, sessions and sell-outs
    // look as they will in the run (their digits and words are part of a row's bytes).
    let mut carry = Carry::new(&g);
    let mut sample: Vec<Attempt> = Vec::new();
    for u in full.iter().step_by(stride) {
        sample.extend(carry.slice(&g, plan.generate_unit(&g, u), u.span.end_ms));
    }
    anyhow::ensure!(
        !sample.is_empty(),
        "the size pilot found no attempts to measure; set `rows` instead of `target_size`"
    );
    let builder = TransactionBatchBuilder::new(&g, &config.run.columns);
    let bytes = csv_bytes(&builder.build(&sample), false)?.len();
    Ok(bytes as f64 / sample.len() as f64)
}

/// A planned ticketing run, for the driver.
struct TicketingGeneration<'a> {
    g: &'a TicketGenerator<'a>,
    plan: &'a TicketPlan,
    builder: TransactionBatchBuilder<'a>,
}

impl Generation for TicketingGeneration<'_> {
    type Span = TicketSpan;
    type Raw = Vec<Attempt>;
    type Slice = Vec<Attempt>;
    type Carry = Carry;

    const CARRIES_STATE: bool = true;

    fn units(&self) -> &[Unit<TicketSpan>] {
        &self.plan.units
    }

    fn cohorts(&self) -> usize {
        self.plan.cohorts.len()
    }

    fn generate(&self, unit: &Unit<TicketSpan>) -> Vec<Attempt> {
        self.plan.generate_unit(self.g, unit)
    }

    fn new_carry(&self) -> Carry {
        Carry::new(self.g)
    }

    fn carry(&self, carry: &mut Carry, unit: &Unit<TicketSpan>, raw: Vec<Attempt>) -> Vec<Attempt> {
        carry.slice(self.g, raw, unit.span.end_ms)
    }

    fn schema(&self) -> &SchemaRef {
        self.builder.schema()
    }

    fn build(&self, slice: &Vec<Attempt>) -> RecordBatch {
        self.builder.build(slice)
    }

    fn tally(&self, slice: &Vec<Attempt>, per_cohort: &mut [Tally]) {
        for a in slice {
            let t = &mut per_cohort[usize::from(a.cohort)];
            t.rows += 1;
            if a.status == PaymentStatus::Completed {
                t.value += total_amount(a);
            }
        }
    }

    const WORKLOAD: &'static str = "ticketing";
    type Totals = TicketingTotals;
    type CohortSummary = CohortSummary;

    fn totals(&self, per_cohort: &[Tally]) -> TicketingTotals {
        TicketingTotals {
            revenue_sar: cents(per_cohort.iter().map(|c| c.value).sum::<f64>()),
        }
    }

    fn cohort_summaries(&self, per_cohort: &[Tally]) -> Vec<CohortSummary> {
        self.plan
            .cohorts
            .iter()
            .zip(per_cohort)
            .zip(&self.g.cohorts)
            .map(|((c, t), cohort)| CohortSummary {
                name: c.name.clone(),
                scenario: c.scenario.clone(),
                users: cohort.layout.total,
                events: cohort.events.len(),
                scale: (cohort.scale * 1e6).round() / 1e6,
                simulated_attempts: c.simulated,
                rows: t.rows,
                revenue_sar: cents(t.value),
            })
            .collect()
    }

    fn column_names(&self) -> Vec<&'static str> {
        column_names()
    }
}

/// Runs the whole generate stage of a ticketing run (with `options.days`, only those days, day
/// by day); returns the summary it also writes.
pub fn generate(config: &TicketingConfig, options: &GenerateOptions) -> Result<TicketingSummary> {
    generate_with(config, options, &mut |_| ControlFlow::Continue(()))
}

/// [`generate`], calling `after_day` after each day of a day-by-day run (`serve --live` shows
/// progress, paces and stops through it).
pub fn generate_with(
    config: &TicketingConfig,
    options: &GenerateOptions,
    after_day: &mut dyn FnMut(&DayDone) -> ControlFlow<()>,
) -> Result<TicketingSummary> {
    let started = Instant::now();
    let pool = options.pool()?;
    let env = config.env();
    let (g, plan) = pool.install(|| plan_run(config, &env))?;
    let run = &config.run;
    let paths = DatasetPaths::new(&run.out, &layout::TRANSACTIONS, options.shard);
    let generation = TicketingGeneration {
        g: &g,
        plan: &plan,
        builder: TransactionBatchBuilder::new(&g, &run.columns),
    };
    let provenance = Provenance {
        seed: run.seed,
        plan_hash: config.plan_hash(),
    };
    let labels = labels(&g, &env);
    if let Some(days) = options.days.clone() {
        // Users and labels belong to the whole plan: written once, with the first day. The
        // events' sales are the inventory carried to the end of the last day written, so after
        // the window's last day they are the whole run's.
        let side = |d: &DayWritten<'_, Carry>, first: bool| -> Result<Vec<std::path::PathBuf>> {
            let mut files = write_events(&g, d.carry, run, &paths, &provenance)?;
            if first {
                files.extend(pool.install(|| write_users(&g, run, &paths, &provenance))?);
                files.extend(write_labels(&paths.data, run.formats, &labels, &provenance)?);
            }
            Ok(files)
        };
        return run_days(
            &generation,
            &config.path,
            run,
            &paths,
            &UNIQUE_COLUMNS,
            &provenance,
            options,
            &pool,
            days,
            labels.len(),
            started,
            side,
            after_day,
        );
    }
    let facts = write_facts(&generation, run, &paths, &UNIQUE_COLUMNS, &provenance, options, &pool)?;
    let mut written = facts.written;
    let carry = facts.carry;
    // The dimension tables and labels belong to the whole plan; of shards, the last writes them:
    // only it has carried the sale to its end.
    if options.shard.is_none_or(|(k, n)| k == n) {
        written
            .files
            .extend(write_events(&g, &carry, run, &paths, &provenance)?);
        written
            .files
            .extend(pool.install(|| write_users(&g, run, &paths, &provenance))?);
        written
            .files
            .extend(write_labels(&paths.data, run.formats, &labels, &provenance)?);
    }
    summarize(
        &generation,
        &config.path,
        run,
        options,
        written,
        &facts.per_cohort,
        labels.len(),
        started,
        &paths.summary,
        &provenance,
    )
}

/// Writes `events`, with each tier's sales from the carried inventory.
fn write_events(
    g: &TicketGenerator,
    carry: &Carry,
    run: &crate::config::RunSettings,
    paths: &DatasetPaths,
    provenance: &Provenance,
) -> Result<Vec<std::path::PathBuf>> {
    let mut rows = Vec::new();
    for (c, cohort) in g.cohorts.iter().enumerate() {
        for (e, event) in cohort.events.iter().enumerate() {
            rows.push(EventRow {
                id: event.event_id_string(),
                event,
                sales: carry.sales[c][e],
                cohort: &cohort.scenario.info.name,
                scenario: &cohort.scenario.info.scenario,
            });
        }
    }
    let batch = events_batch(g.catalogue, &rows);
    write_table(
        &paths.data,
        layout::EVENTS,
        run.formats,
        &EVENTS_SCHEMA,
        provenance,
        [Ok(batch)],
    )
}

/// Writes `users`: every user of every cohort, generated batch by batch.
fn write_users(
    g: &TicketGenerator,
    run: &crate::config::RunSettings,
    paths: &DatasetPaths,
    provenance: &Provenance,
) -> Result<Vec<std::path::PathBuf>> {
    let start_day = (run.start_date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32;
    let ctx = UserContext {
        catalogue: g.catalogue,
        start_day,
        cohorts: g
            .cohorts
            .iter()
            .map(|c| (c.scenario.info.name.as_str(), c.scenario.info.scenario.as_str()))
            .collect(),
    };
    let chunks: Vec<(usize, Range<u32>)> = g
        .cohorts
        .iter()
        .enumerate()
        .flat_map(|(c, cohort)| {
            (0..cohort.layout.total.div_ceil(USER_BATCH))
                .map(move |i| (c, i * USER_BATCH..((i + 1) * USER_BATCH).min(cohort.layout.total)))
        })
        .collect();
    let batches = chunks.into_iter().map(|(c, range)| {
        let layout = &g.cohorts[c].layout;
        let users: Vec<_> = range
            .into_par_iter()
            .map(|i| generate_user_with(g.catalogue, &g.users, g.seed, layout, i))
            .collect();
        Ok(users_batch(&ctx, &users))
    });
    write_table(
        &paths.data,
        layout::USERS,
        run.formats,
        &USERS_SCHEMA,
        provenance,
        batches,
    )
}

/// Every cohort's injected events, cohort by cohort, inside the window.
pub fn labels(g: &TicketGenerator, env: &Env) -> Vec<Label> {
    let mut out = Vec::new();
    for cohort in &g.cohorts {
        let names = LabelNames {
            cohort: cohort.scenario.info.clone(),
            flash_event: cohort.flash_event.map(|e| cohort.events[e as usize].event_id_string()),
            scale: cohort.scale,
            uplift: uplift_terms(g, cohort),
        };
        cohort.scenario.labels(&names, &mut out);
    }
    // Labels describe what happened in the window: clip them to it.
    let (start, end) = (env.start_ms, env.end_ms());
    out.retain(|l| l.start_ms < end && l.end_ms > start);
    for l in &mut out {
        l.start_ms = l.start_ms.max(start);
        l.end_ms = l.end_ms.min(end);
    }
    out
}

/// The model's terms behind an A/B test's true effect in `cohort`.
fn uplift_terms(g: &TicketGenerator, cohort: &crate::sim::ticketing::cohort::Cohort) -> UpliftTerms {
    let cat = g.catalogue;
    let m = g.model;
    // Mean ticket price a persona pays: its tier preference over the events' prices, weighted by
    // the events' demand.
    let total_weight: f64 = cohort.weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let personas = cat
        .personas
        .iter()
        .map(|p| {
            let price: f64 = cohort
                .events
                .iter()
                .zip(&cohort.weights)
                .map(|(e, w)| w * (0..3).map(|t| p.tier_preference[t] * e.tier_price[t]).sum::<f64>())
                .sum::<f64>()
                / total_weight;
            PersonaTerms {
                abandonment: p.cart_abandonment,
                sensitivity: p.price_sensitivity,
                order_value: p.avg_tickets * price,
            }
        })
        .collect();
    let offset = crate::sim::ticketing::scenarios::platform_offset_ms() / 3_600_000;
    let days = cohort
        .days
        .iter()
        .enumerate()
        .map(|(d, shape)| {
            let mut attempts = vec![0.0; cat.personas.len()];
            for local_hour in 0..24 {
                let h = d as i64 * 24 + local_hour - offset;
                let Some(rates) = usize::try_from(h).ok().and_then(|h| cohort.everyday.get(h)) else {
                    continue;
                };
                for (p, (rate, persona)) in rates.iter().zip(&cat.personas).enumerate() {
                    // Only legitimate accounts: the test measures people.
                    let all = cohort.active_users(p, d as u32, cat).max(1);
                    let (regular, _) = cohort.active_ranges(p, d as u32, cat);
                    let legit = regular.len() as f64 / f64::from(all);
                    attempts[p] += rate * 3600.0 * persona.attempts_per_visit * legit;
                }
            }
            let (dynamic_share, dynamic_range) = match shape.discount {
                Some([lo, hi]) => (1.0, [lo - 1.0, hi - 1.0]),
                None => (m.orders.dynamic_share, m.orders.dynamic_range),
            };
            DayTerms {
                attempts,
                sensitivity: shape.sensitivity,
                dynamic_share,
                dynamic_range,
            }
        })
        .collect();
    UpliftTerms {
        personas,
        days,
        elasticity: m.orders.elasticity,
    }
}
