//! The traffic model's parameters: who the customers are and how they call.
//!
//! Plain data built and validated by `config`; the generator only reads it.

use chrono_tz::Tz;

/// A subscription tier and its monthly price.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub name: String,
    pub monthly_price_usd: f64,
}

/// A customer archetype: its share of customers, its daily call range and its tier mix.
#[derive(Debug, Clone, PartialEq)]
pub struct Archetype {
    pub name: String,
    pub weight: f64,
    /// Range the customer's own mean calls per weekday is drawn from, uniformly.
    pub calls_per_day: (f64, f64),
    /// Probability of each tier, indexed like `TrafficModel::tiers`.
    pub tier_weights: Vec<f64>,
}

/// A home time zone, its share of customers and the geography its provider regions follow.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeZoneShare {
    pub tz: Tz,
    pub weight: f64,
    pub geo: String,
}

/// A kind of work a call does; it shapes the token counts.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskType {
    pub name: String,
    /// Triangular distribution of input tokens: (min, mode, max).
    pub input_tokens: (f64, f64, f64),
    /// Output tokens = input tokens × a ratio drawn uniformly from this range.
    pub output_ratio: (f64, f64),
    /// How much of the task's prompts a provider's prompt cache serves.
    pub caching: PromptCaching,
}

/// Prompt caching of a task's calls to models that cache: `calls` of them read a cached prefix
/// (a system prompt, the conversation or agent transcript so far), which is a share of the
/// prompt drawn uniformly from `read_share`. The default, no caching, keeps the documents'
/// costs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PromptCaching {
    pub calls: f64,
    pub read_share: (f64, f64),
}

impl PromptCaching {
    pub fn is_off(&self) -> bool {
        self.calls == 0.0 || self.read_share.1 == 0.0
    }

    /// Cached tokens of a prompt of `input` tokens, from two uniform draws in [0, 1): whether
    /// the call hits the cache, and how much of its prompt it finds there.
    pub fn cached_tokens(&self, input: u32, hit: f64, share: f64) -> u32 {
        if hit >= self.calls {
            return 0;
        }
        let (lo, hi) = self.read_share;
        ((f64::from(input) * (lo + (hi - lo) * share)).round() as u32).min(input)
    }
}

/// A product feature; calls are attributed to the feature that made them.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub id: String,
    pub task: usize,
    /// Relative share of an adopting customer's calls.
    pub weight: f64,
    /// Probability that a customer of the product uses the feature.
    pub adoption: f64,
}

/// A product and the features it offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub weight: f64,
    pub features: Vec<usize>,
}

/// Outcome of a call. Only successful calls are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Success,
    RateLimited,
    ServerError,
    Timeout,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Success,
        Status::RateLimited,
        Status::ServerError,
        Status::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::RateLimited => "rate_limited",
            Status::ServerError => "server_error",
            Status::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// When in the day and week customers call.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Local business hours, start inclusive, end exclusive.
    pub business_hours: (u32, u32),
    /// Share of a day's calls made during business hours.
    pub business_share: f64,
    /// Volume of a weekend day relative to a weekday.
    pub weekend_factor: f64,
    /// Standard deviation of the log of a customer's day-to-day volume factor (0 = none).
    pub daily_noise: f64,
}

impl Calendar {
    /// Share of a day's calls in each local hour: business hours share `business_share` evenly.
    pub fn hour_shares(&self) -> [f64; 24] {
        let (start, end) = self.business_hours;
        let business = (end - start) as f64;
        let off = 24.0 - business;
        let mut shares = [0.0; 24];
        for (hour, share) in shares.iter_mut().enumerate() {
            let h = hour as u32;
            *share = if h >= start && h < end {
                self.business_share / business
            } else {
                (1.0 - self.business_share) / off
            };
        }
        shares
    }
}

/// How latency is simulated: ~`ms_per_token` per token × model multiplier × uniform jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    pub ms_per_token: f64,
    pub jitter: (f64, f64),
    /// Latency recorded for a call that timed out.
    pub timeout_ms: u32,
}

/// Hard limits on token counts, the documents' ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLimits {
    pub input: (u32, u32),
    pub output: (u32, u32),
}

/// Every parameter of the base traffic model.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficModel {
    pub tiers: Vec<Tier>,
    pub archetypes: Vec<Archetype>,
    pub timezones: Vec<TimeZoneShare>,
    pub organizations: u32,
    pub products: Vec<Product>,
    pub features: Vec<Feature>,
    pub tasks: Vec<TaskType>,
    pub environments: Vec<(String, f64)>,
    pub statuses: Vec<(Status, f64)>,
    pub user_agents: Vec<(String, f64)>,
    pub calendar: Calendar,
    /// Share of a customer's calls that go to its preferred provider instead of the market mix.
    pub provider_loyalty: f64,
    pub latency: Latency,
    pub token_limits: TokenLimits,
    /// Named sets of overrides a run plan may choose (`profile = "realistic"`, `--profile`).
    pub profiles: Vec<TrafficProfile>,
}

/// A named set of overrides of the traffic model, chosen by the run plan or `--profile`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficProfile {
    pub name: String,
    pub description: String,
    /// Prompt caching per task (index into `TrafficModel::tasks`).
    pub caching: Vec<(usize, PromptCaching)>,
}

impl TrafficModel {
    /// Applies the profile called `name`; `Err` lists the profiles there are.
    pub fn apply_profile(&mut self, name: &str) -> Result<(), String> {
        let Some(profile) = self.profiles.iter().find(|p| p.name == name) else {
            let names: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "unknown profile `{name}`: allowed are {}",
                if names.is_empty() {
                    "none (the traffic file defines no [profiles])".to_string()
                } else {
                    names.join(", ")
                }
            ));
        };
        for &(task, caching) in &profile.caching {
            self.tasks[task].caching = caching;
        }
        Ok(())
    }
}
