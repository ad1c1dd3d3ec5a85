//! Checks shared by the modifiers' parameters, so every message has the same shape.

/// A parameter outside what is allowed: the key (relative to the modifier) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    pub key: String,
    pub message: String,
}

pub type Checked = Result<(), ParamError>;

fn err(key: &str, message: String) -> ParamError {
    ParamError {
        key: key.to_string(),
        message,
    }
}

/// A number in `[lo, hi]`.
pub fn number(key: &str, value: f64, lo: f64, hi: f64) -> Checked {
    if !value.is_finite() || value < lo || value > hi {
        return Err(err(key, format!("{value} is out of range: allowed is {lo} to {hi}")));
    }
    Ok(())
}

/// A `[low, high]` pair inside `[lo, hi]`.
pub fn pair(key: &str, value: [f64; 2], lo: f64, hi: f64) -> Checked {
    let [a, b] = value;
    if !(a.is_finite() && b.is_finite()) || a < lo || b > hi || a > b {
        return Err(err(
            key,
            format!("[{a}, {b}] is not allowed: a range [low, high] with {lo} <= low <= high <= {hi}"),
        ));
    }
    Ok(())
}

/// A whole number in `[lo, hi]`.
pub fn whole(key: &str, value: i64, lo: i64, hi: i64) -> Checked {
    if value < lo || value > hi {
        return Err(err(
            key,
            format!("{value} is not allowed: a whole number from {lo} to {hi}"),
        ));
    }
    Ok(())
}

/// A day counted from the run's start date (day 0). A day after the window is allowed (a
/// shorter run simply ends before the event), so `--days 7` works with every scenario.
pub fn day(key: &str, value: i64, _days: u32) -> Checked {
    if !(0..=MAX_DAY).contains(&value) {
        return Err(err(
            key,
            format!("day {value} is not allowed: days count from 0 (the start date) to {MAX_DAY}"),
        ));
    }
    Ok(())
}

/// Latest day a parameter may name (the longest window).
pub const MAX_DAY: i64 = 3660;

/// A name that must be one of `allowed`.
pub fn one_of<'a>(key: &str, value: &str, allowed: impl IntoIterator<Item = &'a str>) -> Checked {
    let allowed: Vec<&str> = allowed.into_iter().collect();
    if !allowed.contains(&value) {
        return Err(err(
            key,
            format!("unknown name `{value}`: allowed are {}", allowed.join(", ")),
        ));
    }
    Ok(())
}

/// Any other problem.
pub fn fail(key: &str, message: impl Into<String>) -> ParamError {
    err(key, message.into())
}

/// The logistic function, for S-curves.
#[inline]
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Uniform draw in `[lo, hi]` from a unit draw.
#[inline]
pub fn lerp([lo, hi]: [f64; 2], u: f64) -> f64 {
    lo + (hi - lo) * u
}
