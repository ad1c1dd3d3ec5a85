//! `trafficsim serve`: the report viewer. Serves one or more report trees (`/calls/`,
//! `/ticketing/`: the pages, results and manifest as files, with a live panel added to the pages
//! it serves), the status and analysis API, and with `--live` generates the run plan day by day
//! in the background, re-analyzing as the data grows.
//!
//! On axum over hyper (the HTTP stack already in the tree), with hyper's header read timeout
//! per connection. Shutdown stops accepting, closes idle connections, lets the day being written
//! and the analysis running finish (both write atomically), and starts nothing new.

mod api;
mod files;
pub mod gate;
mod jobs;
pub mod live;
mod panel;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::RunPlan;
use gate::{Gate, Stop};
use live::{LiveSettings, LiveStatus};

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open connections to finish their requests.
const DRAIN: Duration = Duration::from_secs(5);

/// A report tree to serve under `/<name>/`.
#[derive(Debug, Clone)]
pub struct MountSpec {
    pub name: String,
    pub dir: PathBuf,
    /// The run plan of its data: for `/api/status`'s dataset and progress, and to analyze.
    pub plan: Option<RunPlan>,
    /// The analysis settings file.
    pub analysis: PathBuf,
}

/// What to serve and how.
pub struct Settings {
    pub bind: SocketAddr,
    /// The report trees; the first is the run plan's (the live run's, `/`'s).
    pub mounts: Vec<MountSpec>,
    pub live: Option<LiveSettings>,
    /// Tests: each analysis waits for a permit before it starts.
    pub job_gate: Option<Arc<Gate>>,
}

/// A report tree as the server holds it.
pub(crate) struct MountState {
    pub name: String,
    pub dir: PathBuf,
    pub plan: Option<RunPlan>,
    pub analysis: PathBuf,
    /// The plan's data directory.
    pub data: PathBuf,
}

/// What the handlers and background threads share.
pub(crate) struct AppState {
    pub mounts: Vec<MountState>,
    pub jobs: jobs::Jobs,
    pub live: Option<Mutex<LiveStatus>>,
    pub rows: status::RowCache,
    pub stop: Stop,
    pub job_gate: Option<Arc<Gate>>,
    /// Bound to loopback: answer only requests addressed to a loopback name.
    pub loopback_only: bool,
    pub runtime: tokio::runtime::Handle,
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop_accepting: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
    live: Option<std::thread::JoinHandle<()>>,
    live_gate: Option<Arc<Gate>>,
}

/// Binds `settings.bind` and starts serving (and the live run); call from a tokio runtime.
pub async fn start(settings: Settings) -> Result<Server> {
    let listener = TcpListener::bind(settings.bind).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => ": the port is in use (another server?); choose another --bind port",
            std::io::ErrorKind::AddrNotAvailable => ": this machine has no such address",
            std::io::ErrorKind::PermissionDenied => ": permission denied (ports below 1024 need privileges)",
            _ => "",
        };
        anyhow::anyhow!("--bind {}: cannot listen: {e}{hint}", settings.bind)
    })?;
    let addr = listener.local_addr()?;
    let mounts = settings
        .mounts
        .into_iter()
        .map(|m| MountState {
            data: m
                .plan
                .as_ref()
                .map_or_else(PathBuf::new, |p| crate::sink::layout::data_dir(&p.run().out)),
            name: m.name,
            dir: m.dir,
            plan: m.plan,
            analysis: m.analysis,
        })
        .collect::<Vec<_>>();
    let live_days = settings
        .live
        .as_ref()
        .and(mounts.first())
        .and_then(|m| m.plan.as_ref())
        .map(|p| p.run().days);
    let state = Arc::new(AppState {
        mounts,
        jobs: jobs::Jobs::default(),
        live: live_days.map(|d| Mutex::new(LiveStatus::new(d))),
        rows: status::RowCache::default(),
        stop: Stop::default(),
        job_gate: settings.job_gate,
        loopback_only: addr.ip().is_loopback(),
        runtime: tokio::runtime::Handle::current(),
    });
    let (stop_accepting, stopped) = watch::channel(false);
    let router = api::router(state.clone());
    let accept = tokio::spawn(accept_loop(listener, router, stopped));
    let (live, live_gate) = match settings.live {
        Some(l) => {
            let gate = l.gate.clone();
            let s = state.clone();
            let handle = std::thread::Builder::new()
                .name("live".into())
                .spawn(move || live::run(s, l))
                .context("cannot start the live run")?;
            (Some(handle), gate)
        }
        None => (None, None),
    };
    Ok(Server {
        addr,
        state,
        stop_accepting,
        accept,
        live,
        live_gate,
    })
}

impl Server {
    /// The address it listens on (the port chosen when `--bind` said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops cleanly: no new connections, the live run ends after the day it is writing, the
    /// running analysis finishes, nothing new starts; no half-written file is left.
    pub async fn shutdown(self) -> Result<()> {
        self.state.stop.set();
        for gate in [&self.live_gate, &self.state.job_gate].into_iter().flatten() {
            gate.wake();
        }
        let _ = self.stop_accepting.send(true);
        if let Some(live) = self.live {
            tokio::task::spawn_blocking(move || live.join())
                .await
                .context("the live run")?
                .map_err(|_| anyhow::anyhow!("the live run panicked"))?;
        }
        self.state.jobs.stop().await;
        let _ = tokio::time::timeout(DRAIN, self.accept).await;
        Ok(())
    }
}

/// Accepts connections until told to stop, then lets the open ones finish (idle ones close).
async fn accept_loop(listener: TcpListener, router: axum::Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => continue,
            },
            _ = stopped.changed() => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Runs the server until Ctrl-C or SIGTERM, then stops cleanly.
pub fn run(settings: Settings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .context("cannot start the server's runtime")?;
    let result = runtime.block_on(async {
        let server = start(settings).await?;
        let trees: Vec<String> = server
            .state
            .mounts
            .iter()
            .map(|m| format!("http://{}/{}/ ({})", server.addr, m.name, m.dir.display()))
            .collect();
        eprintln!("serving {}", trees.join(" and "));
        eprintln!("press Ctrl-C to stop");
        shutdown_signal().await;
        eprintln!("stopping: finishing the running step");
        server.shutdown().await?;
        eprintln!("stopped");
        Ok(())
    });
    // Everything has finished; idle worker threads need not linger.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// A time as RFC 3339 in UTC, to the second.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
