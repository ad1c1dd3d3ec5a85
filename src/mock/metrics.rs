//! The mock's own counters, on `GET /metrics` in the Prometheus text exposition (OpenMetrics)
//! format, so a scrape shows what the service saw beside what replay measured.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How the mock answered.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Outcome {
    Ok,
    Error,
    Timeout,
    BadRequest,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: Outcome,
}

/// The registry and the handles the handlers update.
pub struct Metrics {
    registry: Registry,
    requests: Family<OutcomeLabel, Counter>,
    flagged: Counter,
    in_flight: Gauge,
    delay: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("trafficsim_mock");
        let requests = Family::<OutcomeLabel, Counter>::default();
        registry.register("requests", "Requests answered, by outcome", requests.clone());
        let flagged = Counter::default();
        registry.register("flagged", "Transactions answered is_fraud = true", flagged.clone());
        let in_flight = Gauge::default();
        registry.register("in_flight", "Requests being answered now", in_flight.clone());
        // 100 µs to ~52 s.
        let delay = Histogram::new(exponential_buckets(1e-4, 2.0, 20));
        registry.register(
            "injected_delay_seconds",
            "Latency injected by the fault model",
            delay.clone(),
        );
        Metrics {
            registry,
            requests,
            flagged,
            in_flight,
            delay,
        }
    }
}

impl Metrics {
    pub fn answered(&self, outcome: Outcome) {
        self.requests.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn flagged(&self) {
        self.flagged.inc();
    }

    pub fn delayed(&self, seconds: f64) {
        self.delay.observe(seconds);
    }

    /// Counts a request in flight until the guard drops (also when the client goes away).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// How many requests had this outcome.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.requests.get_or_create(&OutcomeLabel { outcome }).get()
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Decrements the in-flight gauge on drop.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
