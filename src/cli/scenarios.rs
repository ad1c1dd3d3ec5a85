//! `trafficsim scenarios`: every declared scenario of the run plan's workload with its
//! description and parameters, then every modifier kind with its defaults, for writing new
//! scenarios.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use super::common::DEFAULT_CONFIG;
use crate::config::scenario_files::Declared;
use crate::config::{CallsConfig, ConfigError, RunPlan, RunSettings, TicketingConfig};
use crate::sim::calls::scenarios as calls;
use crate::sim::ticketing::scenarios as ticketing;

#[derive(Debug, Clone, Args)]
pub struct ScenariosArgs {
    /// Run plan whose scenario directory and inline scenarios to list.
    #[arg(long, default_value = DEFAULT_CONFIG, value_name = "FILE")]
    pub config: PathBuf,
}

pub fn run(args: &ScenariosArgs) -> Result<()> {
    match RunPlan::load(&args.config)? {
        RunPlan::Calls(config) => print!("{}", listing(&config)?),
        RunPlan::Ticketing(config) => print!("{}", ticketing_listing(&config)?),
    }
    Ok(())
}

/// What the listing needs of a modifier, whatever the workload.
trait ListedModifier: Serialize {
    fn kind(&self) -> &'static str;
    fn summary(&self) -> &'static str;
}

impl ListedModifier for calls::Modifier {
    fn kind(&self) -> &'static str {
        calls::Modifier::kind(self)
    }
    fn summary(&self) -> &'static str {
        calls::Modifier::summary(self)
    }
}

impl ListedModifier for ticketing::Modifier {
    fn kind(&self) -> &'static str {
        ticketing::Modifier::kind(self)
    }
    fn summary(&self) -> &'static str {
        ticketing::Modifier::summary(self)
    }
}

/// `key = value` pairs of a serializable table (a modifier's parameters), on one line.
fn parameters(m: &impl Serialize) -> Result<String> {
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

/// One scenario of a listing: its name, description, extra lines, modifiers and whether it checks.
struct Entry<'a, M> {
    name: &'a str,
    description: &'a str,
    extra: Vec<String>,
    modifiers: &'a [M],
    check: Result<(), ConfigError>,
}

/// The listing: every scenario, then the modifier kinds with their defaults.
fn render<M: ListedModifier, D>(
    path: &std::path::Path,
    run: &RunSettings,
    scenarios: &[Declared<D>],
    entry: impl Fn(&Declared<D>) -> Entry<'_, M>,
    defaults: Vec<M>,
    base: &str,
) -> Result<String> {
    let mut out = String::new();
    writeln!(out, "Scenarios ({}), from {}:", scenarios.len(), path.display())?;
    for s in scenarios {
        let e = entry(s);
        let cohorts = run.cohorts.iter().filter(|c| c.scenario == e.name).count();
        let used = if cohorts > 0 {
            format!(" [in the run plan: {cohorts} cohort(s)]")
        } else {
            String::new()
        };
        writeln!(out, "\n  {}{used}", e.name)?;
        writeln!(out, "    {}", e.description)?;
        writeln!(out, "    declared in {}", s.path.display())?;
        for line in &e.extra {
            writeln!(out, "    {line}")?;
        }
        if e.modifiers.is_empty() {
            writeln!(out, "    modifiers: none ({base})")?;
        }
        for m in e.modifiers {
            writeln!(out, "    - {}: {}", m.kind(), parameters(m)?)?;
        }
        if let Err(err) = e.check {
            writeln!(out, "    ! invalid: {err}")?;
        }
    }
    writeln!(
        out,
        "\nModifiers a scenario file can combine ([[modifiers]] kind = \"…\"), with their defaults:"
    )?;
    for m in defaults {
        writeln!(out, "\n  {}: {}", m.kind(), m.summary())?;
        writeln!(out, "    {}", parameters(&m)?)?;
    }
    Ok(out)
}

/// The calls listing, as printed.
pub fn listing(config: &CallsConfig) -> Result<String> {
    let env = config.env();
    render(
        &config.path,
        &config.run,
        &config.scenarios,
        |s| Entry {
            name: &s.def.name,
            description: &s.def.description,
            extra: Vec::new(),
            modifiers: &s.def.modifiers,
            check: s.check(&env),
        },
        calls::Modifier::defaults(),
        "the base traffic model",
    )
}

/// The ticketing listing, as printed: each scenario also shows its population and size.
pub fn ticketing_listing(config: &TicketingConfig) -> Result<String> {
    let env = config.env();
    render(
        &config.path,
        &config.run,
        &config.scenarios,
        |s| {
            let p = &s.def.population;
            let mut extra = vec![format!(
                "population: {} users at the natural scale, persona mix {}, everyday shopping {}, one event per {} attempts",
                p.users,
                p.persona_mix
                    .as_ref()
                    .map_or("of the catalogue".to_string(), |m| format!("{m:?}")),
                if p.everyday { "on" } else { "off" },
                p.attempts_per_event
            )];
            if let Some(size) = &s.def.size {
                extra.push(format!("size when run alone (--scenario): {size}"));
            }
            Entry {
                name: &s.def.name,
                description: &s.def.description,
                extra,
                modifiers: &s.def.modifiers,
                check: s.check(&env),
            }
        },
        ticketing::Modifier::defaults(),
        "everyday sales only",
    )
}
