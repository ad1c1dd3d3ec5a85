//! What the traffic model produces: time slots, visits and purchase attempts with their status.

/// A slice of time in which every process of every cohort has a constant rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub start_ms: i64,
    pub len_ms: i64,
    /// UTC hour of the window the slot lies in.
    pub hour: u32,
}

impl Slot {
    pub fn end_ms(&self) -> i64 {
        self.start_ms + self.len_ms
    }
}

/// What an attempt ends as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Completed,
    Abandoned,
    Failed,
    Blocked,
    SoldOut,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Completed,
        PaymentStatus::Abandoned,
        PaymentStatus::Failed,
        PaymentStatus::Blocked,
        PaymentStatus::SoldOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Completed => "completed",
            PaymentStatus::Abandoned => "abandoned",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Blocked => "blocked",
            PaymentStatus::SoldOut => "sold_out",
        }
    }
}

/// One purchase attempt, as plain data; strings are resolved by the Arrow adapter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub timestamp_ms: i64,
    /// Unique by construction: (cohort, slot, process, visit, attempt) packed; the transaction id
    /// is a keyed bijection of it.
    pub key: u64,
    pub cohort: u16,
    pub user: u32,
    pub event: u32,
    pub persona: u8,
    pub tier: u8,
    pub num_tickets: u32,
    pub price_multiplier: f64,
    pub price_per_ticket: f64,
    pub payment: u8,
    pub instrument: u64,
    pub device: u8,
    pub browser: u8,
    pub browser_version: u16,
    pub ip: u32,
    pub ip_country: u16,
    pub home_country: u16,
    pub device_mismatch: bool,
    pub geo_mismatch: bool,
    pub time_anomaly: bool,
    /// The account is younger than a week (a term of the risk score, not a column).
    pub new_account: bool,
    pub is_fraud: bool,
    pub is_bot: bool,
    /// Index into the catalogue's fraud patterns.
    pub pattern: Option<u8>,
    /// Part of an attack burst: its success rate decides the outcome alone.
    pub attack: bool,
    /// For fraud: the chance it gets through.
    pub success_rate: f32,
    /// The A/B variant: Some(true) in the treatment, Some(false) in control.
    pub ab: Option<bool>,
    /// Chance the cart is abandoned, given the price.
    pub abandonment: f32,
    /// Draws for the decisions made in time order (`carry`).
    pub u_abandon: f32,
    pub u_outcome: f32,
    pub u_limit: f32,
    pub z_risk: f32,
    pub latency_ms: u32,
    pub api_status: u16,
    /// Resolved in time order.
    pub velocity: u32,
    pub session: u64,
    pub risk: f64,
    pub status: PaymentStatus,
}

/// The visits of one (cohort, process, slot): who, which event, and their attempts' times.
#[derive(Debug, Default)]
pub struct Visits {
    pub heads: Vec<VisitHead>,
    /// Attempt times of every visit, in order; a visit's are `times[first..first + n]`.
    pub times: Vec<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct VisitHead {
    pub user: u32,
    pub event: u32,
    pub first: u32,
    pub n: u32,
}

impl Visits {
    pub fn attempts(&self) -> u64 {
        self.times.len() as u64
    }
}
