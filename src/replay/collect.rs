//! Gathers the outcomes as they arrive: the latency and lateness histograms (HdrHistogram, as
//! wrk2 and oha keep them), the running totals for the progress line, and every outcome for the
//! results file.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::outcome::Outcome;

/// The largest latency the histograms hold (1 h, in µs); larger values are clamped to it.
const MAX_US: u64 = 3_600_000_000;

/// Called with the running totals after every result (tests use it to act mid-run).
pub type Observer = std::sync::Arc<dyn Fn(&Progress) + Send + Sync>;

/// The running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    pub results: u64,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub not_sent: u64,
}

/// Everything a replay measured.
pub struct Collected {
    /// Every scheduled request's outcome, in schedule order.
    pub outcomes: Vec<Outcome>,
    /// Latency from the scheduled time, µs: answers (any status) and timeouts.
    pub latency: Histogram<u64>,
    /// How late requests left, µs.
    pub send_delay: Histogram<u64>,
    pub progress: Progress,
    pub started_at: DateTime<Utc>,
    pub elapsed: Duration,
}

pub struct Collector {
    observer: Option<Observer>,
    bar: ProgressBar,
    collected: Collected,
}

fn histogram() -> Histogram<u64> {
    // Three significant digits from 1 µs to an hour: the bounds are valid constants.
    Histogram::new_with_bounds(1, MAX_US, 3).unwrap_or_else(|_| unreachable!("valid histogram bounds"))
}

impl Collector {
    pub fn new(observer: Option<Observer>, progress: bool) -> Collector {
        let bar = if progress {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        Collector {
            observer,
            bar,
            collected: Collected {
                outcomes: Vec::new(),
                latency: histogram(),
                send_delay: histogram(),
                progress: Progress::default(),
                started_at: Utc::now(),
                elapsed: Duration::ZERO,
            },
        }
    }

    /// Takes outcomes until every sender is gone.
    pub async fn run(mut self, mut from: mpsc::UnboundedReceiver<Outcome>) -> Collected {
        let started = Instant::now();
        let mut shown = Instant::now();
        while let Some(o) = from.recv().await {
            self.add(o);
            if let Some(f) = &self.observer {
                f(&self.collected.progress);
            }
            if !self.bar.is_hidden() && shown.elapsed() >= Duration::from_millis(250) {
                shown = Instant::now();
                self.show(started.elapsed());
            }
        }
        self.bar.finish_and_clear();
        let mut c = self.collected;
        c.outcomes.sort_unstable_by_key(|o| o.index);
        c
    }

    fn add(&mut self, o: Outcome) {
        let c = &mut self.collected;
        let p = &mut c.progress;
        p.results += 1;
        match o.outcome() {
            "ok" => p.ok += 1,
            "failed" => p.failed += 1,
            _ => p.not_sent += 1,
        }
        if let Some(d) = o.send_delay_us() {
            p.sent += 1;
            c.send_delay.saturating_record(d.clamp(1, MAX_US));
        }
        if o.answered_or_timed_out()
            && let Some(l) = o.latency_us()
        {
            c.latency.saturating_record(l.clamp(1, MAX_US));
        }
        c.outcomes.push(o);
    }

    fn show(&self, elapsed: Duration) {
        let c = &self.collected;
        let p = &c.progress;
        self.bar.set_message(format!(
            "{} sent · {:.0}/s · p99 {:.1} ms · {} failed · {} not sent",
            p.sent,
            p.sent as f64 / elapsed.as_secs_f64().max(1e-3),
            c.latency.value_at_quantile(0.99) as f64 / 1e3,
            p.failed,
            p.not_sent
        ));
    }
}
