//! One request's result: sent and answered, failed (and how), or not sent (and why). Every
//! scheduled request gets exactly one.

use hyper::body::Bytes;
use serde::{Deserialize, Serialize};

/// Why a request failed or was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Answered with a status other than 2xx.
    HttpStatus,
    /// No answer within `--timeout`.
    Timeout,
    /// The connection could not be opened (refused, unreachable).
    Connect,
    /// The connection closed before the answer was complete.
    ConnectionClosed,
    /// Another transport error.
    Io,
    /// Not sent: the replay was interrupted (Ctrl-C).
    Interrupted,
    /// Not sent: the run passed its time bound (`--duration` plus `--timeout`).
    Deadline,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::ConnectionClosed => "connection_closed",
            ErrorKind::Io => "io",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Deadline => "deadline",
        }
    }

    /// Whether the request never left (not sent, rather than failed).
    pub fn not_sent(self) -> bool {
        matches!(self, ErrorKind::Interrupted | ErrorKind::Deadline)
    }
}

/// One scheduled request's result. Times are ns after the replay's start.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub index: u64,
    pub id: Box<str>,
    pub row_us: i64,
    pub due_ns: u64,
    pub sent_ns: Option<u64>,
    pub done_ns: Option<u64>,
    pub status: Option<u16>,
    pub error: Option<ErrorKind>,
    pub score: Option<f64>,
    pub decision: Option<bool>,
}

impl Outcome {
    /// Latency from the scheduled time (so a slow service's queue counts), µs.
    pub fn latency_us(&self) -> Option<u64> {
        self.done_ns.map(|d| d.saturating_sub(self.due_ns) / 1_000)
    }

    /// How late the request left, µs.
    pub fn send_delay_us(&self) -> Option<u64> {
        self.sent_ns.map(|s| s.saturating_sub(self.due_ns) / 1_000)
    }

    /// `ok`, `failed` or `not_sent`.
    pub fn outcome(&self) -> &'static str {
        match self.error {
            None => "ok",
            Some(e) if e.not_sent() => "not_sent",
            Some(_) => "failed",
        }
    }

    /// Whether the latency is one a user felt: an answer (any status), or a timeout.
    pub fn answered_or_timed_out(&self) -> bool {
        self.status.is_some() || self.error == Some(ErrorKind::Timeout)
    }
}

/// An answer with a score and no decision is read as flagged at this score and above (document
/// 004's fraud API contract: `is_fraud` when the score is at least 0.5).
pub const FLAGGED_AT: f64 = 0.5;

/// The score and the decision of an answer, when its JSON has them: `fraud_score` (or `score`)
/// and `is_fraud` (or `decision`, or `blocked`), at the top level or in `predictions[0]` (the
/// shape of document 004's fraud API).
pub fn read_answer(body: &Bytes) -> (Option<f64>, Option<bool>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let v = match v.get("predictions").and_then(|p| p.get(0)) {
        Some(first) => first.clone(),
        None => v,
    };
    let score = ["fraud_score", "score"].iter().find_map(|k| v.get(k)?.as_f64());
    let decision = ["is_fraud", "decision", "blocked"]
        .iter()
        .find_map(|k| v.get(k)?.as_bool());
    (score, decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_in_both_shapes() {
        let read = |s: &str| read_answer(&Bytes::from(s.to_string()));
        assert_eq!(read(r#"{"fraud_score":0.8,"is_fraud":true}"#), (Some(0.8), Some(true)));
        assert_eq!(
            read(r#"{"predictions":[{"fraud_score":0.1,"is_fraud":false}]}"#),
            (Some(0.1), Some(false))
        );
        assert_eq!(read(r#"{"accepted":true}"#), (None, None));
        assert_eq!(read("not json"), (None, None));
    }
}
