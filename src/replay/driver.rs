//! The open-loop driver. A dispatcher thread sleeps until each request is due and hands it to
//! the Tokio runtime; a request waits for one of `--concurrency` connections and is timed from
//! when it was *due*, not from when a connection became free. A slow service therefore shows as
//! latency and lateness instead of as a quietly lower rate: no coordinated omission (the wrk2 /
//! oha `--latency-correction` way). The dispatcher sleeps on the OS clock (tens of µs of slack),
//! not on Tokio's 1 ms timer wheel, so the schedule itself adds little to the latencies.
//!
//! Requests are POSTs and are never retried: a request the connection pool could not send
//! counts as failed, not sent twice.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt as _, Full};
use hyper::Uri;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, mpsc};

use super::collect::{Collected, Collector, Observer};
use super::outcome::{ErrorKind, Outcome, read_answer};
use super::schedule::{Interrupt, Job, Rows, ScheduleOptions, Scheduled};
use super::target::Target;

/// How the requests are sent.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Requests in flight at most (one connection each).
    pub concurrency: usize,
    pub timeout: Duration,
    /// Runtime worker threads.
    pub threads: usize,
}

/// What may stop or watch a replay from outside.
#[derive(Clone, Default)]
pub struct Control {
    /// Set to stop: nothing more is sent; what is in flight finishes.
    pub interrupt: Interrupt,
    /// Whether Ctrl-C sets `interrupt` (the CLI; not tests).
    pub ctrl_c: bool,
    pub observer: Option<Observer>,
    /// Show a progress line on a terminal.
    pub progress: bool,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Replays `rows` against `target`; returns every scheduled request's outcome.
pub fn drive(
    rows: Rows,
    schedule: &ScheduleOptions,
    target: &Target,
    options: &DriveOptions,
    control: &Control,
) -> Result<(Collected, Scheduled)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .thread_name("replay")
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")?;
    runtime.block_on(target.reachable())?;
    if control.ctrl_c {
        let interrupt = control.interrupt.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt.store(true, Ordering::Relaxed);
            }
        });
    }
    let client = client(options);
    let user_agent = HeaderValue::from_static(concat!("trafficsim-replay/", env!("CARGO_PKG_VERSION")));
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let (results, collected) = mpsc::unbounded_channel::<Outcome>();
    let collector = Collector::new(control.observer.clone(), control.progress);
    let collecting = runtime.spawn(collector.run(collected));

    let (jobs_to, jobs) = std::sync::mpsc::sync_channel::<Vec<Job>>(64);
    let interrupt = control.interrupt.clone();
    // The run stops sending at its time bound plus one timeout, even when it fell behind.
    let deadline = schedule.duration + options.timeout;
    let mut clock: Option<(Instant, DateTime<Utc>)> = None;
    let scheduled = std::thread::scope(|scope| -> Result<Scheduled> {
        let reader = scope.spawn(|| {
            yield_to_the_sender();
            rows.schedule(schedule, &interrupt, jobs_to)
        });
        for batch in jobs {
            // The schedule starts when its first requests are ready to go, not while the first
            // file is still being decoded.
            let (started, _) = *clock.get_or_insert_with(|| (Instant::now(), Utc::now()));
            for job in batch {
                let stop = if interrupt.load(Ordering::Relaxed) || job.body.is_empty() {
                    Some(ErrorKind::Interrupted)
                } else {
                    wait_until(started, job.due_ns, deadline, &interrupt)
                };
                if let Some(reason) = stop {
                    let _ = results.send(not_sent(job, reason));
                    continue;
                }
                let request = Request {
                    client: client.clone(),
                    uri: target.uri.clone(),
                    user_agent: user_agent.clone(),
                    timeout: options.timeout,
                    started,
                    slots: slots.clone(),
                    results: results.clone(),
                };
                runtime.spawn(request.run(job));
            }
        }
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the dataset reader panicked"))?
    });
    drop(results);
    let mut collected = runtime.block_on(collecting).context("the result collector failed")?;
    let (started, start_wall) = clock.unwrap_or_else(|| (Instant::now(), Utc::now()));
    collected.started_at = start_wall;
    collected.elapsed = started.elapsed();
    Ok((collected, scheduled?))
}

/// Lowers the calling thread's priority: the reader renders bodies in bursts, and on a busy
/// machine a burst must not push the dispatcher and the HTTP workers off the cores (their timing
/// is what is measured: measured, late sends clustered at the reader's bursts). Raising one's
/// own niceness needs no privilege.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn yield_to_the_sender() {
    // SAFETY: plain system calls on the calling thread (Linux keeps a nice value per thread).
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn yield_to_the_sender() {}

fn client(options: &DriveOptions) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(options.timeout));
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(options.concurrency.max(1))
        .pool_idle_timeout(Duration::from_secs(90))
        // POSTs are not idempotent: a request the pool could not send fails, it is not resent.
        .retry_canceled_requests(false)
        .build(connector)
}

/// The dispatcher's shortest nap.
const MIN_NAP: Duration = Duration::from_micros(200);

/// Sleeps until `due_ns` after `started`; `Some(reason)` when the request must not be sent.
fn wait_until(started: Instant, due_ns: u64, deadline: Duration, interrupt: &Interrupt) -> Option<ErrorKind> {
    let due = Duration::from_nanos(due_ns);
    loop {
        if interrupt.load(Ordering::Relaxed) {
            return Some(ErrorKind::Interrupted);
        }
        let now = started.elapsed();
        if now > deadline {
            return Some(ErrorKind::Deadline);
        }
        if now >= due {
            return None;
        }
        // Naps of at least MIN_NAP: at high rates one wake-up sends the requests that fell due
        // meanwhile, rather than one each (thread switches cost the client more CPU than its
        // requests). At most 50 ms, so an interrupt is seen in a quiet stretch.
        std::thread::sleep((due - now).clamp(MIN_NAP, Duration::from_millis(50)));
    }
}

fn not_sent(job: Job, reason: ErrorKind) -> Outcome {
    Outcome {
        index: job.index,
        id: job.id,
        row_us: job.row_us,
        due_ns: job.due_ns,
        sent_ns: None,
        done_ns: None,
        status: None,
        error: Some(reason),
        score: None,
        decision: None,
    }
}

/// One request on its way.
struct Request {
    client: HttpClient,
    uri: Uri,
    user_agent: HeaderValue,
    timeout: Duration,
    started: Instant,
    slots: Arc<Semaphore>,
    results: mpsc::UnboundedSender<Outcome>,
}

impl Request {
    async fn run(self, mut job: Job) {
        // The semaphore is never closed; a slot is held until the answer is read.
        let _slot = self.slots.acquire().await.ok();
        let sent = self.started.elapsed();
        let body = std::mem::take(&mut job.body);
        let mut outcome = not_sent(job, ErrorKind::Io);
        outcome.sent_ns = Some(sent.as_nanos() as u64);
        let mut request = hyper::Request::post(self.uri.clone());
        if let Some(h) = request.headers_mut() {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(USER_AGENT, self.user_agent.clone());
        }
        let answer = match request.body(Full::new(body)) {
            Ok(r) => tokio::time::timeout(self.timeout, exchange(&self.client, r)).await,
            Err(_) => Ok(Err(ErrorKind::Io)),
        };
        outcome.done_ns = Some(self.started.elapsed().as_nanos() as u64);
        outcome.error = match answer {
            Err(_) => Some(ErrorKind::Timeout),
            Ok(Err(kind)) => Some(kind),
            Ok(Ok((status, body))) => {
                outcome.status = Some(status);
                if (200..300).contains(&status) {
                    (outcome.score, outcome.decision) = read_answer(&body);
                    None
                } else {
                    Some(ErrorKind::HttpStatus)
                }
            }
        };
        let _ = self.results.send(outcome);
    }
}

/// Sends the request and reads the whole answer.
async fn exchange(client: &HttpClient, request: hyper::Request<Full<Bytes>>) -> Result<(u16, Bytes), ErrorKind> {
    let response = client.request(request).await.map_err(|e| {
        if e.is_connect() {
            ErrorKind::Connect
        } else {
            transport(&e)
        }
    })?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| transport(&e))?
        .to_bytes();
    Ok((status, body))
}

/// A transport error's kind: a connection that closed early, else I/O.
fn transport(e: &(dyn std::error::Error + 'static)) -> ErrorKind {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_canceled() || h.is_closed())
        {
            return ErrorKind::ConnectionClosed;
        }
        source = s.source();
    }
    ErrorKind::Io
}

/// When the replay started, for the results' wall-clock columns.
pub fn wall(start: DateTime<Utc>, ns: u64) -> i64 {
    start.timestamp_micros() + (ns / 1_000) as i64
}
