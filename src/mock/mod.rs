//! `trafficsim serve-mock`: a loopback fraud-scoring service with document 004's contract, for
//! `replay` to drive. `POST /predict` takes a transaction and answers `{fraud_score, is_fraud}`
//! by a documented rule ([`scoring`]); `POST /v1/calls` takes a calls row (the LLM-gateway
//! template of `replay`) and answers `{accepted: true}`; `GET /metrics` shows its counters.
//!
//! Faults ([`faults`]) make it a service worth testing: a latency distribution, errors and
//! timeouts, and the dataset's degradation windows replayed at the moments of the data.

pub mod faults;
pub mod metrics;
pub mod scoring;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use faults::{Fate, FaultModel};
use metrics::{Metrics, Outcome};

/// The largest request body accepted (a transaction is under 1 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// How the mock is set up.
#[derive(Debug, Clone)]
pub struct MockOptions {
    pub listen: SocketAddr,
    pub faults: FaultModel,
    /// How long a request that times out is held before the mock gives up on it (504).
    pub hang: Duration,
}

struct Mock {
    faults: FaultModel,
    hang: Duration,
    metrics: Metrics,
    /// True once the mock is stopping: held requests are let go.
    stopping: watch::Receiver<bool>,
}

/// A running mock: its address, its counters, and the handle that stops it.
pub struct RunningMock {
    pub addr: SocketAddr,
    state: Arc<Mock>,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Binds `options.listen` and serves until [`RunningMock::stop`]. Must run inside a Tokio
/// runtime.
pub async fn start(options: MockOptions) -> Result<RunningMock> {
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("--listen {}: cannot listen there", options.listen))?;
    let addr = listener.local_addr()?;
    let (stop, stopping) = watch::channel(false);
    let state = Arc::new(Mock {
        faults: options.faults,
        hang: options.hang,
        metrics: Metrics::default(),
        stopping: stopping.clone(),
    });
    let app = Router::new()
        .route("/predict", post(predict))
        .route("/v1/calls", post(gateway))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state.clone());
    let mut until = stopping;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = until.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(RunningMock {
        addr,
        state,
        stop,
        task,
    })
}

impl RunningMock {
    /// Stops accepting, lets held requests go (504), and waits for the open ones to finish.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("the mock's server task failed")??;
        Ok(())
    }

    /// How many requests had this outcome so far.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.state.metrics.count(outcome)
    }
}

/// What the request's fate does to the answer.
enum Answer {
    Now,
    Unavailable,
    TimedOut,
}

impl Mock {
    async fn meet(&self, id: &str, at: Option<DateTime<Utc>>) -> Answer {
        if self.faults.is_none() {
            return Answer::Now;
        }
        match self.faults.fate(id, at) {
            Fate::Answer(d) => {
                self.delay(d).await;
                Answer::Now
            }
            Fate::Fail(d) => {
                self.delay(d).await;
                Answer::Unavailable
            }
            Fate::Hang => {
                let mut stopping = self.stopping.clone();
                tokio::select! {
                    _ = tokio::time::sleep(self.hang) => {}
                    _ = stopping.wait_for(|s| *s) => {}
                }
                Answer::TimedOut
            }
        }
    }

    async fn delay(&self, d: Duration) {
        self.metrics.delayed(d.as_secs_f64());
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// The fate's answer, or `None` to give the normal one.
    fn fault_response(&self, answer: Answer) -> Option<Response> {
        match answer {
            Answer::Now => None,
            Answer::Unavailable => {
                self.metrics.answered(Outcome::Error);
                Some(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service unavailable (injected fault)",
                ))
            }
            Answer::TimedOut => {
                self.metrics.answered(Outcome::Timeout);
                Some(error(StatusCode::GATEWAY_TIMEOUT, "timed out (injected fault)"))
            }
        }
    }

    fn bad_request(&self, e: &serde_json::Error, what: &str) -> Response {
        self.metrics.answered(Outcome::BadRequest);
        error(StatusCode::BAD_REQUEST, &format!("the body is not {what}: {e}"))
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// The request's time, when its body has an RFC 3339 `timestamp`.
fn stamped(timestamp: Option<&str>) -> Option<DateTime<Utc>> {
    timestamp
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The key of a request's fate: its id, else its whole body.
fn key<'a>(id: Option<&'a str>, body: &'a Bytes) -> std::borrow::Cow<'a, str> {
    id.map_or_else(|| String::from_utf8_lossy(body), std::borrow::Cow::Borrowed)
}

async fn predict(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let _in_flight = mock.metrics.in_flight();
    let t: scoring::Transaction = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return mock.bad_request(&e, "a transaction (a JSON object)"),
    };
    let answer = mock
        .meet(
            &key(t.transaction_id.as_deref(), &body),
            stamped(t.timestamp.as_deref()),
        )
        .await;
    if let Some(r) = mock.fault_response(answer) {
        return r;
    }
    let p = scoring::score(&t);
    mock.metrics.answered(Outcome::Ok);
    if p.is_fraud {
        mock.metrics.flagged();
    }
    axum::Json(p).into_response()
}

/// The fields of a calls row the gateway mock reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Call {
    request_id: Option<String>,
    timestamp: Option<String>,
}

async fn gateway(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let _in_flight = mock.metrics.in_flight();
    let c: Call = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return mock.bad_request(&e, "a call (a JSON object)"),
    };
    let answer = mock
        .meet(&key(c.request_id.as_deref(), &body), stamped(c.timestamp.as_deref()))
        .await;
    if let Some(r) = mock.fault_response(answer) {
        return r;
    }
    mock.metrics.answered(Outcome::Ok);
    axum::Json(json!({ "accepted": true })).into_response()
}

async fn metrics(State(mock): State<Arc<Mock>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        mock.metrics.render(),
    )
        .into_response()
}
