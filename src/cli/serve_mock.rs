//! `trafficsim serve-mock`: the loopback fraud-scoring service (see `mock`), until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use crate::mock::faults::{FaultModel, Latency, windows_from_labels};
use crate::mock::{self, MockOptions};

#[derive(Debug, Clone, Args)]
pub struct ServeMockArgs {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Allow listening on an address that is not loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// Median of the injected latency (log-normal), e.g. 20ms.
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_duration)]
    pub latency_p50: Option<Duration>,
    /// 99th percentile of the injected latency [default: the median].
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_duration, requires = "latency_p50")]
    pub latency_p99: Option<Duration>,
    /// Share of requests answered 503.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of requests never answered (held for --hang, then 504).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// How long an unanswered request is held.
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = humantime::parse_duration)]
    pub hang: Duration,
    /// Degrade the service in the labelled degradation windows of this data directory (or
    /// labels file), by the requests' own timestamps.
    #[arg(long, value_name = "PATH")]
    pub faults_from_labels: Option<PathBuf>,
    /// Keys the fault draws (the same seed, the same fates).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Server worker threads [default: the number of cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ServeMockArgs {
    /// The checked options.
    pub fn options(&self) -> Result<MockOptions> {
        if !self.allow_remote && !self.listen.ip().is_loopback() {
            bail!(
                "--listen {}: not a loopback address; the mock listens on this machine only unless --allow-remote is given",
                self.listen
            );
        }
        for (flag, v) in [("--error-rate", self.error_rate), ("--timeout-rate", self.timeout_rate)] {
            if !(0.0..=1.0).contains(&v) {
                bail!("{flag} {v}: allowed is a share from 0 to 1");
            }
        }
        if self.error_rate + self.timeout_rate > 1.0 {
            bail!("--error-rate + --timeout-rate is over 1: allowed is at most 1 together");
        }
        let latency = self
            .latency_p50
            .map(|p50| Latency::new(p50, self.latency_p99.unwrap_or(p50)))
            .transpose()?;
        let windows = match &self.faults_from_labels {
            Some(path) => {
                windows_from_labels(path).with_context(|| format!("--faults-from-labels {}", path.display()))?
            }
            None => Vec::new(),
        };
        Ok(MockOptions {
            listen: self.listen,
            faults: FaultModel {
                latency,
                error_rate: self.error_rate,
                timeout_rate: self.timeout_rate,
                windows,
                seed: self.seed,
            },
            hang: self.hang,
        })
    }
}

pub fn run(args: &ServeMockArgs) -> Result<()> {
    let options = args.options()?;
    let windows = options.faults.windows.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            args.threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
                .max(1),
        )
        .thread_name("serve-mock")
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")?;
    runtime.block_on(async {
        let server = mock::start(options).await?;
        println!(
            "serve-mock listening on http://{} (POST /predict, POST /v1/calls, GET /metrics){}; Ctrl-C stops",
            server.addr,
            if windows > 0 {
                format!(", degrading {windows} labelled window(s)")
            } else {
                String::new()
            }
        );
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        let (ok, errors, timeouts) = (
            server.count(mock::metrics::Outcome::Ok),
            server.count(mock::metrics::Outcome::Error),
            server.count(mock::metrics::Outcome::Timeout),
        );
        server.stop().await?;
        println!("serve-mock stopped: {ok} answered, {errors} failed (503), {timeouts} held (504)");
        Ok(())
    })
}
