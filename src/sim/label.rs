//! Ground truth shared by every workload: one row of the `labels` dataset per event a scenario
//! injected (a burst, a churn, a flash sale, a degradation window…), which detectors and
//! validators are scored against.

/// One row of the `labels` dataset: an event a scenario injected.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub scenario: String,
    pub cohort: String,
    pub kind: String,
    /// What the event is about. Calls: customer, organization, model, feature or cohort;
    /// ticketing: event, fraud_pattern, cohort, service or experiment.
    pub subject_type: &'static str,
    pub subject: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub magnitude: f64,
    pub detail: String,
}
