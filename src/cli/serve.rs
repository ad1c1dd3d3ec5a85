//! `trafficsim serve`: the live report viewer (see `crate::serve`). This file turns the flags
//! into the server's settings: the address (loopback unless `--allow-remote`), the report trees
//! and their run plans, and the live run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;

use super::analyze::analysis_path;
use super::common::{CommonArgs, DEFAULT_CONFIG, DEFAULT_TICKETING_CONFIG};
use crate::config::{ConfigError, RunPlan, WorkloadKind};
use crate::report::manifest::Manifest;
use crate::serve::live::LiveSettings;
use crate::serve::{MountSpec, Settings};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The run plan: its reports are served first (under /WORKLOAD/), its data feeds
    /// /api/status, `--live` generates it. The generation flags below apply to it.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on, IP:PORT (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "IP:PORT")]
    pub bind: String,
    /// Allow an address other than loopback. The viewer has no authentication: whoever can
    /// reach it reads the reports and can start analyses.
    #[arg(long)]
    pub allow_remote: bool,
    /// Report tree to serve (repeatable): DIR is the run plan's (served under /WORKLOAD/),
    /// NAME=DIR another one under /NAME/ [default: the plan's OUT/reports, and the other
    /// workload's default reports (output/ticketing/reports, or output/reports) when present].
    #[arg(long, value_name = "[NAME=]DIR")]
    pub reports: Vec<String>,
    /// Analysis settings [default: analysis.toml beside the run plan].
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<PathBuf>,
    /// Generate the run plan day by day in the background, re-analyzing as it grows. It
    /// replaces the plan's dataset, as `generate` does.
    #[arg(long)]
    pub live: bool,
    /// With --live: analyze after every N days (and always after the last).
    #[arg(long, default_value_t = 1, value_name = "N", requires = "live")]
    pub analyze_every: u32,
    /// With --live: seconds to wait after each day, so the growth can be watched (0: none).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS", requires = "live")]
    pub pace: f64,
}

pub fn run(args: &ServeArgs) -> Result<()> {
    crate::serve::run(settings(args)?)
}

/// The server's settings from the flags, every one checked.
pub fn settings(args: &ServeArgs) -> Result<Settings> {
    if args.common.shard.is_some() {
        return Err(ConfigError::flag(
            "--shard",
            "not allowed with serve: the live run generates the whole plan",
        )
        .into());
    }
    let bind: SocketAddr = args.bind.parse().map_err(|_| {
        ConfigError::flag(
            "--bind",
            format!(
                "\"{}\" is not an address: give IP:PORT, e.g. 127.0.0.1:8000 (or [::1]:8000)",
                args.bind
            ),
        )
    })?;
    if !bind.ip().is_loopback() {
        if !args.allow_remote {
            return Err(ConfigError::flag(
                "--bind",
                format!(
                    "{bind} is not a loopback address: the viewer has no authentication and anyone who reaches it can start analyses; add --allow-remote to serve beyond this machine anyway"
                ),
            )
            .into());
        }
        eprintln!(
            "warning: serving on {bind}, beyond this machine: anyone who can reach it reads the reports and can start analyses (there is no authentication)"
        );
    }
    if !(args.pace.is_finite() && (0.0..=86_400.0).contains(&args.pace)) {
        return Err(ConfigError::flag(
            "--pace",
            format!("{} is not allowed: seconds from 0 to 86400", args.pace),
        )
        .into());
    }
    if args.analyze_every == 0 {
        return Err(ConfigError::flag("--analyze-every", "0 is not allowed: at least 1").into());
    }
    let plan = args.common.load()?;
    let mounts = mounts(args, plan)?;
    let live = args.live.then(|| -> Result<LiveSettings> {
        Ok(LiveSettings {
            options: args.common.options()?,
            analyze_every: args.analyze_every,
            pace: Duration::from_secs_f64(args.pace),
            gate: None,
        })
    });
    Ok(Settings {
        bind,
        mounts,
        live: live.transpose()?,
        job_gate: None,
    })
}

/// The report trees: the plan's, the named ones, and the other workload's default one.
fn mounts(args: &ServeArgs, plan: RunPlan) -> Result<Vec<MountSpec>> {
    let (named, unnamed): (Vec<&String>, Vec<&String>) = args.reports.iter().partition(|r| r.contains('='));
    if unnamed.len() > 1 {
        bail!(ConfigError::flag(
            "--reports",
            "only one DIR without a NAME= (the run plan's reports); name the others NAME=DIR"
        ));
    }
    let primary_dir = unnamed
        .first()
        .map_or_else(|| plan.run().out.join("reports"), PathBuf::from);
    let analysis = analysis_path(plan.path(), args.analysis.as_deref());
    let mut mounts = vec![MountSpec {
        name: plan.workload().name().to_string(),
        dir: primary_dir,
        plan: Some(plan),
        analysis,
    }];
    for spec in named {
        let (name, dir) = spec.split_once('=').expect("partitioned on `=`");
        let valid = !name.is_empty()
            && name != "api"
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid {
            bail!(ConfigError::flag(
                "--reports",
                format!("\"{name}\" is not allowed as a NAME: lowercase letters, digits, - and _, not `api`")
            ));
        }
        if mounts.iter().any(|m| m.name == name) {
            bail!(ConfigError::flag(
                "--reports",
                format!("the name `{name}` is given twice")
            ));
        }
        let dir = PathBuf::from(dir);
        let plan = plan_of_reports(&dir);
        let analysis = plan.as_ref().map_or_else(
            || PathBuf::from("config/analysis.toml"),
            |p| analysis_path(p.path(), None),
        );
        mounts.push(MountSpec {
            name: name.to_string(),
            dir,
            plan,
            analysis,
        });
    }
    // The other workload's reports, from its default run plan, when they exist.
    let other = match mounts[0].plan.as_ref().map(RunPlan::workload) {
        Some(WorkloadKind::Calls) => DEFAULT_TICKETING_CONFIG,
        _ => DEFAULT_CONFIG,
    };
    if let Ok(plan) = RunPlan::load(Path::new(other)) {
        let dir = plan.run().out.join("reports");
        let name = plan.workload().name();
        if dir.is_dir() && !mounts.iter().any(|m| m.name == name) {
            mounts.push(MountSpec {
                name: name.to_string(),
                analysis: analysis_path(plan.path(), None),
                dir,
                plan: Some(plan),
            });
        }
    }
    for (i, m) in mounts.iter().enumerate() {
        // The live run writes the run plan's reports as it goes.
        let written_later = i == 0 && args.live;
        if !m.dir.is_dir() && !written_later {
            bail!(ConfigError::flag(
                "--reports",
                format!(
                    "{}: no such directory; write the reports first (`trafficsim analyze` or `run`), or add --live to generate and analyze while serving",
                    m.dir.display()
                )
            ));
        }
    }
    Ok(mounts)
}

/// The run plan a reports directory was made with, as its manifest names it (when readable).
fn plan_of_reports(dir: &Path) -> Option<RunPlan> {
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).ok()?).ok()?;
    RunPlan::load(Path::new(&manifest.config.run_plan)).ok()
}
