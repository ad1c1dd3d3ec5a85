//! `trafficsim check`: the CI gate. Runs the analyzers of the dataset's workload, prints every
//! named one-sided check as a table, and exits 1 when one fails (document 004's CI job: run
//! them all, write a summary, fail the job).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::analyze::{DatasetArgs, Prepared, analysis_path};
use std::io::Write as _;

use anyhow::Context as _;

use crate::sink::atomic::AtomicFile;

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub dataset: DatasetArgs,
    /// Also write the checks as JSON to this file (as `results/checks.json` of the reports).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn run(args: &CheckArgs) -> Result<()> {
    let (plan, input) = args.dataset.resolve()?;
    let analysis = analysis_path(plan.path(), args.dataset.analysis.as_deref());
    let prepared = Prepared::new(plan, &analysis, None)?;
    let map = args.dataset.columns_map()?;
    let result = prepared.analyze(&input, &args.dataset.inputs(map.as_ref()))?;
    super::analyze::note_not_run(&result);
    let report = &result.checks;
    if report.checks.is_empty() {
        bail!(
            "{}: the {} workload's analyzers define no checks: nothing to gate on",
            input.display(),
            prepared.spec().dataset.table.name
        );
    }
    if let Some(path) = &args.json {
        let write = || -> std::io::Result<()> {
            let mut f = AtomicFile::create(path)?;
            f.write_all((serde_json::to_string_pretty(report)? + "\n").as_bytes())?;
            f.commit()
        };
        write().with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{}", report.render_text());
    if !report.all_passed() {
        bail!("{}: {} check(s) failed", input.display(), report.failed);
    }
    Ok(())
}
