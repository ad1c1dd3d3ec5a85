//! Two small blocking signals for the server's background threads: [`Stop`] (shutdown, and the
//! live pace's sleep that it cuts short) and [`Gate`] (lets a test step the live run day by day,
//! or hold an analysis, so tests synchronise on states, never on sleeps).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Set once, on shutdown; threads sleeping on it wake at once.
#[derive(Default)]
pub struct Stop {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    pub fn set(&self) {
        *self.set.lock().expect("stop lock") = true;
        self.changed.notify_all();
    }

    pub fn is_set(&self) -> bool {
        *self.set.lock().expect("stop lock")
    }

    /// Sleeps for `pause` or until stopped; returns whether stopped.
    pub fn sleep(&self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        let mut set = self.set.lock().expect("stop lock");
        while !*set {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            set = self.changed.wait_timeout(set, left).expect("stop lock").0;
        }
        *set
    }
}

/// A counting gate: each [`Gate::pass`] takes one permit, waiting for it. Closed (no permits)
/// when made; [`Gate::allow`] adds permits.
#[derive(Default)]
pub struct Gate {
    permits: Mutex<u64>,
    changed: Condvar,
}

impl Gate {
    pub fn allow(&self, n: u64) {
        *self.permits.lock().expect("gate lock") += n;
        self.changed.notify_all();
    }

    /// Waits for a permit and takes it; returns `false` (taking none) if `stop` is set first.
    pub fn pass(&self, stop: &Stop) -> bool {
        let mut permits = self.permits.lock().expect("gate lock");
        loop {
            if *permits > 0 {
                *permits -= 1;
                return true;
            }
            if stop.is_set() {
                return false;
            }
            // Woken by `allow`, or by the next look at `stop` (which does not notify this
            // condvar: shutdown calls `wake` below).
            permits = self.changed.wait(permits).expect("gate lock");
        }
    }

    /// Wakes the waiters so they look at their stop flag again.
    pub fn wake(&self) {
        let _guard = self.permits.lock().expect("gate lock");
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_gate_lets_one_through_per_permit_and_stop_releases_waiters() {
        let gate = Arc::new(Gate::default());
        let stop = Arc::new(Stop::default());
        gate.allow(2);
        assert!(gate.pass(&stop) && gate.pass(&stop));
        let (g, s) = (gate.clone(), stop.clone());
        let waiter = std::thread::spawn(move || g.pass(&s));
        stop.set();
        gate.wake();
        assert!(!waiter.join().unwrap(), "stopped, not let through");
        assert!(stop.sleep(Duration::from_secs(3600)), "a stopped sleep returns at once");
    }
}
