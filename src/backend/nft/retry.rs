//! How long readers and writers keep trying while other processes change
//! the ruleset under them.
//!
//! Every `iptables-nft` command reads the whole ruleset and commits with a
//! generation check, so a shell loop of `iptables -A` changes the
//! generation every few milliseconds for as long as it runs. A fixed small
//! number of attempts loses that race on a busy machine (it did in CI);
//! iptables itself retries without limit. We retry for a time budget
//! instead, with a short growing pause so two retrying processes drift
//! apart rather than colliding again.

use std::time::{Duration, Instant};

/// Time spent retrying before giving up with "kept changing".
pub const RETRY_BUDGET: Duration = Duration::from_secs(10);

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Counts attempts against a deadline.
#[derive(Debug)]
pub struct Retry {
    deadline: Instant,
    attempt: u32,
}

impl Retry {
    pub fn new() -> Self {
        Self::with_budget(RETRY_BUDGET)
    }

    pub fn with_budget(budget: Duration) -> Self {
        Retry {
            deadline: Instant::now() + budget,
            attempt: 0,
        }
    }

    /// Attempts made so far (calls to [`Retry::again`] that said yes).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Whether to try again; pauses first (not before the first retry,
    /// which is usually enough).
    pub fn again(&mut self) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        let pause = pause(self.attempt, jitter_seed());
        self.attempt += 1;
        if !pause.is_zero() {
            std::thread::sleep(pause.min(self.deadline.saturating_duration_since(Instant::now())));
        }
        true
    }
}

impl Default for Retry {
    fn default() -> Self {
        Self::new()
    }
}

/// The pause before retry number `attempt` (0-based): none, then about
/// 1, 2, 4 … ms up to [`MAX_PAUSE`], each scaled by 50–100 % from `seed`.
fn pause(attempt: u32, seed: u32) -> Duration {
    if attempt == 0 {
        return Duration::ZERO;
    }
    let base = Duration::from_millis(1u64 << (attempt - 1).min(6)).min(MAX_PAUSE);
    base / 2 + base / 2 * (seed % 1024) / 1024
}

/// Varies between processes and calls; not for anything but spreading
/// pauses.
fn jitter_seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_bounded() {
        assert_eq!(pause(0, 0), Duration::ZERO);
        for seed in [0, 511, 1023] {
            let mut last = Duration::ZERO;
            for attempt in 1..40 {
                let p = pause(attempt, seed);
                assert!(p >= last && p <= MAX_PAUSE, "{attempt} {seed} {p:?}");
                last = p;
            }
        }
        assert!(pause(1, 0) >= Duration::from_micros(500));
    }

    #[test]
    fn gives_up_at_the_deadline() {
        let mut retry = Retry::with_budget(Duration::from_millis(30));
        let start = Instant::now();
        while retry.again() {}
        assert!(retry.attempts() >= 2);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
