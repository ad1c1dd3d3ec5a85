//! Helpers for the `serve` tests: a server started in-process from command-line flags, an HTTP
//! client on hyper-util, and polling of `/api/status` (the state is the synchronisation; the
//! poll interval only keeps the loop from spinning).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use trafficsim::cli::{Cli, Command};
use trafficsim::serve::gate::Gate;
use trafficsim::serve::{Server, Settings};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary; panics unless it succeeds.
pub fn trafficsim(args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trafficsim"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "trafficsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `trafficsim run` of `config` into `out` with `args`: data and reports.
pub fn run_plan(config: &str, out: &Path, args: &[&str]) {
    let config = repo().join(config);
    let mut all: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), "--quiet".as_ref(), "--config".as_ref()];
    all.push(config.as_os_str());
    all.extend(["--out".as_ref(), out.as_os_str()]);
    all.extend(args.iter().map(std::ffi::OsStr::new));
    trafficsim(&all);
}

/// The server's settings from `serve` flags, as the command line makes them.
pub fn settings(flags: &[&str]) -> Settings {
    let mut argv = vec!["trafficsim", "serve"];
    argv.extend(flags);
    let Cli {
        command: Command::Serve(args),
    } = Cli::try_parse_from(argv).expect("valid flags")
    else {
        panic!("not serve");
    };
    trafficsim::cli::serve::settings(&args).expect("valid settings")
}

/// Starts a server; `gates` = (live days, analyses) held until the test allows them.
pub async fn start(mut settings: Settings, live_gate: Option<Arc<Gate>>, job_gate: Option<Arc<Gate>>) -> Server {
    if let Some(live) = settings.live.as_mut() {
        live.gate = live_gate;
    }
    settings.job_gate = job_gate;
    trafficsim::serve::start(settings).await.expect("the server starts")
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends `method path` (the path as written: no normalisation) with `headers` and `body`.
pub async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = Request::builder().method(method).uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let response = client().request(request).await.expect("the server answers");
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, "GET", path, &[], "").await
}

/// `POST /api/analyze` with a JSON body.
pub async fn analyze(addr: SocketAddr, body: &str) -> Reply {
    send(
        addr,
        "POST",
        "/api/analyze",
        &[("content-type", "application/json")],
        body,
    )
    .await
}

pub async fn status(addr: SocketAddr) -> serde_json::Value {
    let r = get(addr, "/api/status").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Between two looks at a state: the state decides, this only keeps the loop from spinning.
const POLL: Duration = Duration::from_millis(20);

/// Polls `/api/status` until `done` holds; returns that status.
pub async fn status_until(
    addr: SocketAddr,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let s = status(addr).await;
        if done(&s) {
            return s;
        }
        if s["live"]["state"] == "failed" {
            panic!("the live run failed while waiting for {what}: {}", s["live"]);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `GET /api/analyze/{id}` until it has finished; returns its record.
pub async fn analysis_finished(addr: SocketAddr, id: u64) -> serde_json::Value {
    loop {
        let r = get(addr, &format!("/api/analyze/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let record = r.json();
        if record["state"] != "running" {
            return record;
        }
        tokio::time::sleep(POLL).await;
    }
}
