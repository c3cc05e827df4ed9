//! Slows down password guessing: per username and per client address, at most `max_failures`
//! failed logins in a sliding window; beyond that, logins are refused until the window clears.
//! In memory, per process (issue 10's multi-process deployment shares it through PostgreSQL).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, client: &str) -> [String; 2] {
        [
            format!("u:{}", username.to_lowercase()),
            format!("c:{client}"),
        ]
    }

    /// `Some(wait)` when this username or client must wait before trying again.
    pub fn blocked(&self, username: &str, client: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None;
        for key in Self::keys(username, client) {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.max_failures {
                    let oldest = times[times.len() - self.max_failures];
                    let w = self.window.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(w, |x: Duration| x.max(w)));
                }
            }
        }
        wait
    }

    pub fn failed(&self, username: &str, client: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory under a spray of usernames: forget stale entries now and then.
        if map.len() > 100_000 {
            map.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < self.window));
        }
        for key in Self::keys(username, client) {
            map.entry(key).or_default().push(now);
        }
    }

    pub fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("u:{}", username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_per_user_and_per_client() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.blocked("alice", "1.2.3.4").is_none());
            l.failed("alice", "1.2.3.4");
        }
        assert!(l.blocked("alice", "9.9.9.9").is_some(), "by username");
        assert!(l.blocked("bob", "1.2.3.4").is_some(), "by client");
        assert!(l.blocked("bob", "5.5.5.5").is_none());
    }

    #[test]
    fn the_window_slides() {
        let l = LoginLimiter::new(1, Duration::from_millis(30));
        l.failed("a", "c");
        assert!(l.blocked("a", "c").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.blocked("a", "c").is_none());
    }
}
