//! A short-lived cache of who a session cookie or bearer token belongs to, and of each user's
//! scope for the current data generation.
//!
//! Every request authenticates; without this, each one is a database round trip (and on SQLite
//! a hop to its worker thread) plus a walk of the organisation tree, which dominated the cost
//! of a vector tile under load. Entries live `ttl` (`storage::CREDENTIALS_TTL`, 1 s): a logout
//! or a user change through this process clears them at once; a token revoked or a user
//! disabled from the command line (another process) takes effect within `ttl`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Scope, User};

/// Cached lookups; at most this many, then the cache starts over.
const MAX_ENTRIES: usize = 10_000;

struct Who {
    at: Instant,
    user: User,
    csrf: Option<String>,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache").field("ttl", &self.ttl).finish()
    }
}

pub struct AuthCache {
    ttl: Duration,
    who: Mutex<HashMap<String, Who>>,
    /// Scope by user id, for one generation of the data.
    scopes: Mutex<HashMap<String, (u64, Scope)>>,
}

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            who: Mutex::new(HashMap::new()),
            scopes: Mutex::new(HashMap::new()),
        }
    }

    /// The user (and CSRF token, for sessions) behind a credential's hash, if looked up
    /// within the last `ttl`.
    pub fn get(&self, key: &str) -> Option<(User, Option<String>)> {
        let who = self.who.lock().unwrap_or_else(|e| e.into_inner());
        who.get(key)
            .filter(|w| w.at.elapsed() < self.ttl)
            .map(|w| (w.user.clone(), w.csrf.clone()))
    }

    pub fn put(&self, key: String, user: User, csrf: Option<String>) {
        let mut who = self.who.lock().unwrap_or_else(|e| e.into_inner());
        if who.len() >= MAX_ENTRIES {
            who.clear();
        }
        who.insert(
            key,
            Who {
                at: Instant::now(),
                user,
                csrf,
            },
        );
    }

    pub fn scope(&self, user_id: &str, generation: u64) -> Option<Scope> {
        let scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        scopes
            .get(user_id)
            .filter(|(g, _)| *g == generation)
            .map(|(_, s)| s.clone())
    }

    pub fn put_scope(&self, user_id: &str, generation: u64, scope: Scope) {
        let mut scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        if scopes.len() >= MAX_ENTRIES {
            scopes.clear();
        }
        scopes.insert(user_id.to_string(), (generation, scope));
    }

    /// Forgets everything (a logout, a user changed).
    pub fn clear(&self) {
        self.who.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn user() -> User {
        User {
            id: "U1".into(),
            username: "zgq".into(),
            display_name: "张".into(),
            role: Role::Branch,
            org_node_id: Some("SB01".into()),
            can_unmask: false,
            disabled: false,
        }
    }

    #[test]
    fn entries_expire_and_clear() {
        let c = AuthCache::new(Duration::from_millis(50));
        c.put("s:abc".into(), user(), Some("csrf".into()));
        assert_eq!(c.get("s:abc").unwrap().1.as_deref(), Some("csrf"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get("s:abc").is_none(), "expired");
        c.put("s:abc".into(), user(), None);
        c.clear();
        assert!(c.get("s:abc").is_none(), "cleared");
    }

    #[test]
    fn scopes_belong_to_one_generation() {
        let c = AuthCache::new(Duration::from_secs(5));
        c.put_scope("U1", 3, Scope::All);
        assert_eq!(c.scope("U1", 3), Some(Scope::All));
        assert_eq!(c.scope("U1", 4), None);
    }
}
