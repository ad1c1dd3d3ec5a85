//! The calls workload on the generic driver: its generator, its planner sized to the target, and
//! the plan's units handed to [`super::write_facts`].

use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use serde::Serialize;

use super::summary::{RunSummary, Totals, cents};
use super::{
    DayDone, DayWritten, GenerateOptions, Generation, PILOT_ROWS, Tally, UNIT_ROWS, rows_for_bytes, run_days,
    summarize, write_facts,
};
use crate::batch::calls::{CallBatchBuilder, UNIQUE_COLUMNS, column_names, projected_schema};
use crate::config::{CallsConfig, SizeTarget};
use crate::sim::calendar::Window;
use crate::sim::calls::plan::{CallSpan, GenerationPlan, PlanCohort, Planner, sample_calls};
use crate::sim::calls::scenarios::{CohortInfo, CohortScenario};
use crate::sim::calls::traffic::{Call, TrafficGenerator};
use crate::sim::units::Unit;
use crate::sink::csv::{csv_bytes, csv_header};
use crate::sink::dataset::DatasetPaths;
use crate::sink::layout;
use crate::sink::parquet::Provenance;
use crate::sink::table::write_labels;

/// Rows and cost one cohort contributed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CohortSummary {
    pub name: String,
    pub scenario: String,
    pub customers: u32,
    /// Calls its customers make in the window; `rows` of them are kept (even thinning).
    pub simulated_calls: u64,
    pub rows: u64,
    pub cost_usd: f64,
}

/// The calls run's total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallsTotals {
    pub cost_usd: f64,
}

impl Totals for CallsTotals {
    fn phrase(&self) -> String {
        format!("${:.2} of simulated spend", self.cost_usd)
    }
}

/// What `trafficsim generate` reports for a calls run.
pub type CallsSummary = RunSummary<CallsTotals, CohortSummary>;

/// Builds the generator for a config: catalogue, traffic model, window and the cohorts'
/// scenarios, compiled.
pub fn traffic_generator(config: &CallsConfig) -> TrafficGenerator {
    let zones: Vec<_> = config.traffic.timezones.iter().map(|t| t.tz).collect();
    let window = Window::new(config.run.start_date, config.run.days, &zones);
    let mut generator = TrafficGenerator::new(
        config.run.seed,
        config.catalogue.clone(),
        config.traffic.clone(),
        window,
    );
    // Cohorts with their own organizations number them after the shared ones.
    let mut organization_base = config.traffic.organizations;
    let cohorts = config
        .run
        .cohorts
        .iter()
        .zip(config.cohort_scenarios())
        .enumerate()
        .map(|(i, (cohort, def))| {
            let info = CohortInfo {
                index: i as u16,
                name: cohort.name.clone(),
                scenario: def.name.clone(),
                organization_base,
            };
            organization_base += def.own_organizations();
            CohortScenario::new(def, info, &generator.env(), config.run.seed)
        })
        .collect();
    generator.set_cohorts(cohorts);
    generator
}

/// Plans a run: the population and units that give exactly the rows (or CSV size) asked for.
pub fn plan_run(config: &CallsConfig, generator: &TrafficGenerator) -> Result<GenerationPlan> {
    let cohorts = config
        .run
        .cohorts
        .iter()
        .map(|c| PlanCohort {
            name: c.name.clone(),
            scenario: c.scenario.clone(),
            share: c.share,
        })
        .collect();
    let mut planner = Planner::new(generator, cohorts)?;
    let rows = match config.run.size {
        SizeTarget::Rows(n) => n,
        SizeTarget::Natural => anyhow::bail!(
            "{}: `run.target_size`: \"natural\" is not allowed for the calls workload: give a size such as \"50MiB\" or `rows`",
            config.path.display()
        ),
        SizeTarget::CsvBytes(target) => {
            let header = csv_header(&projected_schema(&config.run.columns))?.len() as u64;
            rows_for_bytes(target, header, |rows| {
                planner.ensure(rows)?;
                pilot_bytes_per_row(config, generator, &planner, rows)
            })?
        }
    };
    planner.ensure(rows)?;
    Ok(planner.finish(rows, UNIT_ROWS))
}

/// Measures CSV bytes per row on a sample of the hours of the customers a run of `rows` uses.
fn pilot_bytes_per_row(
    config: &CallsConfig,
    generator: &TrafficGenerator,
    planner: &Planner,
    rows: u64,
) -> Result<f64> {
    let (customers, calls) = planner.customers_for(rows);
    let stride = sample_stride(calls / PILOT_ROWS);
    let calls = sample_calls(generator, &customers, stride);
    anyhow::ensure!(
        !calls.is_empty(),
        "the size pilot found no calls to measure; set `rows` instead of `target_size`"
    );
    let population: Vec<_> = customers.into_iter().cloned().collect();
    let builder = CallBatchBuilder::new(generator, &population, &config.run.columns);
    let bytes = csv_bytes(&builder.build(&calls), false)?.len();
    Ok(bytes as f64 / calls.len() as f64)
}

/// A stride near `want` that is coprime with the 168 hours of a week, so the sample visits every
/// hour of the day and every weekday.
fn sample_stride(want: u64) -> u32 {
    let mut s = want.clamp(1, 9973) as u32;
    while s > 1 && (s.is_multiple_of(2) || s.is_multiple_of(3) || s.is_multiple_of(7)) {
        s -= 1;
    }
    s
}

/// A planned calls run, for the driver.
struct CallsGeneration<'a> {
    generator: &'a TrafficGenerator,
    plan: &'a GenerationPlan,
    builder: CallBatchBuilder<'a>,
}

impl Generation for CallsGeneration<'_> {
    type Span = CallSpan;
    type Raw = Vec<Call>;
    type Slice = Vec<Call>;
    type Carry = ();

    const CARRIES_STATE: bool = false;

    fn units(&self) -> &[Unit<CallSpan>] {
        &self.plan.units
    }

    fn cohorts(&self) -> usize {
        self.plan.cohorts.len()
    }

    fn generate(&self, unit: &Unit<CallSpan>) -> Vec<Call> {
        self.plan.generate_unit(self.generator, unit)
    }

    fn new_carry(&self) {}

    fn carry(&self, _: &mut (), _: &Unit<CallSpan>, raw: Vec<Call>) -> Vec<Call> {
        raw
    }

    fn schema(&self) -> &SchemaRef {
        self.builder.schema()
    }

    fn build(&self, slice: &Vec<Call>) -> RecordBatch {
        self.builder.build(slice)
    }

    fn tally(&self, slice: &Vec<Call>, per_cohort: &mut [Tally]) {
        for c in slice {
            let t = &mut per_cohort[self.plan.population[c.customer as usize].cohort as usize];
            t.rows += 1;
            t.value += c.cost_usd;
        }
    }

    const WORKLOAD: &'static str = "calls";
    type Totals = CallsTotals;
    type CohortSummary = CohortSummary;

    fn totals(&self, per_cohort: &[Tally]) -> CallsTotals {
        CallsTotals {
            cost_usd: cents(per_cohort.iter().map(|c| c.value).sum::<f64>()),
        }
    }

    fn cohort_summaries(&self, per_cohort: &[Tally]) -> Vec<CohortSummary> {
        self.plan
            .cohorts
            .iter()
            .zip(per_cohort)
            .map(|(c, t)| CohortSummary {
                name: c.name.clone(),
                scenario: c.scenario.clone(),
                customers: c.customers.len() as u32,
                simulated_calls: c.calls,
                rows: t.rows,
                cost_usd: cents(t.value),
            })
            .collect()
    }

    fn column_names(&self) -> Vec<&'static str> {
        column_names()
    }
}

/// Runs the whole generate stage of a calls run (with `options.days`, only those days, day by
/// day); returns the summary it also writes.
pub fn generate(config: &CallsConfig, options: &GenerateOptions) -> Result<CallsSummary> {
    generate_with(config, options, &mut |_| ControlFlow::Continue(()))
}

/// [`generate`], calling `after_day` after each day of a day-by-day run (`serve --live` shows
/// progress, paces and stops through it).
pub fn generate_with(
    config: &CallsConfig,
    options: &GenerateOptions,
    after_day: &mut dyn FnMut(&DayDone) -> ControlFlow<()>,
) -> Result<CallsSummary> {
    let started = Instant::now();
    let pool = options.pool()?;
    let generator = traffic_generator(config);
    let plan = pool.install(|| plan_run(config, &generator))?;
    let run = &config.run;
    let paths = DatasetPaths::new(&run.out, &layout::CALLS, options.shard);
    let generation = CallsGeneration {
        generator: &generator,
        plan: &plan,
        builder: CallBatchBuilder::new(&generator, &plan.population, &run.columns),
    };
    let provenance = Provenance {
        seed: run.seed,
        plan_hash: config.plan_hash(),
    };
    let labels = plan.labels(&generator);
    if let Some(days) = options.days.clone() {
        // The labels belong to the whole plan: written once, with the first day.
        let side = |_: &DayWritten<'_, ()>, first: bool| match first {
            true => write_labels(&paths.data, run.formats, &labels, &provenance),
            false => Ok(Vec::new()),
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
    // The labels belong to the whole plan: a full run writes them, and of shards the first.
    if options.shard.is_none_or(|(k, _)| k == 1) {
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
