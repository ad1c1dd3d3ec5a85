//! `trafficsim scenarios`: every declared scenario with its description and parameters, then
//! every modifier kind with its defaults, for writing new scenarios.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::common::DEFAULT_CONFIG;
use crate::config::{CallsConfig, RunPlan};
use crate::sim::calls::scenarios::Modifier;

#[derive(Debug, Clone, Args)]
pub struct ScenariosArgs {
    /// Run plan whose scenario directory and inline scenarios to list.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
}

pub fn run(args: &ScenariosArgs) -> Result<()> {
    match RunPlan::load(&args.config)? {
        RunPlan::Calls(config) => print!("{}", listing(&config)?),
        RunPlan::Ticketing(config) => print!("{}", crate::generate::ticketing::listing(&config)?),
    }
    Ok(())
}

/// `key = value` pairs of a modifier's parameters, on one line.
fn parameters(m: &Modifier) -> Result<String> {
    let value = toml::Value::try_from(m)?;
    let table = value.as_table().map(|t| {
        t.iter()
            .filter(|(k, _)| *k != "kind")
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    Ok(table.unwrap_or_default())
}

/// The listing, as printed.
pub fn listing(config: &CallsConfig) -> Result<String> {
    let mut out = String::new();
    let in_plan = |name: &str| config.run.cohorts.iter().filter(|c| c.scenario == name).count();
    writeln!(
        out,
        "Scenarios ({}), from {}:",
        config.scenarios.len(),
        config.path.display()
    )?;
    for s in &config.scenarios {
        let cohorts = in_plan(&s.def.name);
        let used = if cohorts > 0 {
            format!(" [in the run plan: {cohorts} cohort(s)]")
        } else {
            String::new()
        };
        writeln!(out, "\n  {}{used}", s.def.name)?;
        writeln!(out, "    {}", s.def.description)?;
        writeln!(out, "    declared in {}", s.path.display())?;
        if s.def.modifiers.is_empty() {
            writeln!(out, "    modifiers: none (the base traffic model)")?;
        }
        for m in &s.def.modifiers {
            writeln!(out, "    - {}: {}", m.kind(), parameters(m)?)?;
        }
        if let Err(e) = s.check(&config.env()) {
            writeln!(out, "    ! invalid: {e}")?;
        }
    }
    writeln!(
        out,
        "\nModifiers a scenario file can combine ([[modifiers]] kind = \"…\"), with their defaults:"
    )?;
    for m in Modifier::defaults() {
        writeln!(out, "\n  {}: {}", m.kind(), m.summary())?;
        writeln!(out, "    {}", parameters(&m)?)?;
    }
    Ok(out)
}
