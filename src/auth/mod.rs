//! Accounts and what they may see: roles tied to the organisation tree, the scope a user's
//! org node gives them, password hashing, API/session tokens and the login rate limiter.
//! No HTTP and no SQL here (storage is in `storage::accounts`, the HTTP side in `http::auth`).

mod cache;
mod password;
mod ratelimit;
mod scope;

pub use cache::AuthCache;
pub use password::{hash_password, verify_password, PasswordError};
pub use ratelimit::LoginLimiter;
pub use scope::Scope;

use serde::{Deserialize, Serialize};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 管理员: everything, users, audit log.
    Admin,
    /// 分支行用户: their org unit's subtree; imports within it.
    Branch,
    /// 网点员工: their outlet's data; they record visits.
    Staff,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Branch => "branch",
            Role::Staff => "staff",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Branch => "分支行用户",
            Role::Staff => "网点员工",
        }
    }

    pub fn parse(v: &str) -> Option<Role> {
        match v.trim() {
            "admin" | "管理员" => Some(Role::Admin),
            "branch" | "分支行用户" => Some(Role::Branch),
            "staff" | "网点员工" => Some(Role::Staff),
            _ => None,
        }
    }
}

/// A user account (never carries the password hash out of storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The org unit (branch users) or outlet (staff) the user works in; `None` for admins.
    pub org_node_id: Option<String>,
    /// May see personal information unmasked (each unmasking is audited).
    pub can_unmask: bool,
    pub disabled: bool,
}

/// A valid Argon2id hash of a random password, verified against when the username is unknown
/// so that a failed login costs the same whether or not the user exists.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0jR6Mqv0X0X6bUx3Z4pM4XoR2mO9h2m5o0kYVbW3s5k";

/// A new random secret (session or API token): 32 random bytes as hex, with a prefix that
/// says what it is (so a leaked one is recognisable in a secret scanner).
pub fn new_secret(prefix: &str) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// How secrets are stored: SHA-256, hex. The secrets are 256-bit random values, so a fast hash
/// is enough (no dictionary to attack), unlike passwords.
pub fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a username: 2–64 characters of letters, digits, `_ - .` (Chinese letters allowed).
pub fn check_username(v: &str) -> Result<String, crate::domain::FieldError> {
    let v = v.trim();
    let n = v.chars().count();
    if !(2..=64).contains(&n) || !v.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
        return Err(crate::domain::FieldError::new(
            "username",
            "2–64 letters, digits, '_', '-' or '.'",
        ));
    }
    Ok(v.to_string())
}

/// Passwords: at least 10 characters (NIST 800-63B asks for length, not composition rules).
pub fn check_password(v: &str) -> Result<(), crate::domain::FieldError> {
    if v.chars().count() < 10 {
        return Err(crate::domain::FieldError::new(
            "password",
            "must be at least 10 characters",
        ));
    }
    if v.len() > 1024 {
        return Err(crate::domain::FieldError::new("password", "is too long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = new_secret("ecm_");
        let b = new_secret("ecm_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert_eq!(secret_hash("abc").len(), 64);
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(check_username("张三").is_ok());
        assert!(check_username("a b").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
    }
}
