//! Users, sessions, API tokens and the audit log in the database. Secrets are stored only as
//! hashes (Argon2id for passwords, SHA-256 for random tokens).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::now;
use super::{StorageError, Store};
use crate::auth::{Role, User};

/// One audit record: who did what to what, when, from where.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub client: Option<String>,
}

/// An API token as listed (never the secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

const USER_COLUMNS: &str = "id, username, display_name, role, org_node_id, can_unmask, disabled";

fn user(r: &AnyRow) -> Result<User, StorageError> {
    let id: String = r.try_get("id")?;
    let role: String = r.try_get("role")?;
    let can_unmask: i64 = r.try_get("can_unmask")?;
    let disabled: i64 = r.try_get("disabled")?;
    Ok(User {
        role: Role::parse(&role).ok_or_else(|| StorageError::Corrupt {
            table: "users",
            id: id.clone(),
            source: crate::domain::FieldError::new("role", "unrecognised stored value"),
        })?,
        id,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        org_node_id: r.try_get("org_node_id")?,
        can_unmask: can_unmask != 0,
        disabled: disabled != 0,
    })
}

fn short_id(prefix: &str) -> String {
    let s = crate::auth::new_secret("");
    format!("{prefix}{}", &s[..12])
}

impl Store {
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: Role,
        org_node_id: Option<&str>,
        can_unmask: bool,
    ) -> Result<User, StorageError> {
        let id = short_id("U");
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, role, org_node_id, \
             can_unmask, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
        )
        .bind(&id)
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(role.code())
        .bind(org_node_id)
        .bind(i64::from(can_unmask))
        .bind(now())
        .execute(self.pool())
        .await?;
        self.user(&id)
            .await?
            .ok_or(StorageError::Db(sqlx::Error::RowNotFound))
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// The user and their password hash, for a login.
    pub async fn user_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Ok(Some((user(&r)?, r.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    pub async fn users(&self) -> Result<Vec<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(user).collect()
    }

    pub async fn count_users(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    /// Changes role, node, unmask permission or disabled flag; disabling also ends the user's
    /// sessions and revokes their tokens.
    pub async fn update_user(&self, u: &User) -> Result<(), StorageError> {
        self.credentials.clear();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET display_name = $2, role = $3, org_node_id = $4, can_unmask = $5, \
             disabled = $6 WHERE id = $1",
        )
        .bind(&u.id)
        .bind(&u.display_name)
        .bind(u.role.code())
        .bind(u.org_node_id.as_deref())
        .bind(i64::from(u.can_unmask))
        .bind(i64::from(u.disabled))
        .execute(&mut *tx)
        .await?;
        if u.disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&u.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(&u.id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        // Again after the change: a lookup racing it may have cached the old state.
        self.credentials.clear();
        Ok(())
    }

    pub async fn create_session(
        &self,
        user_id: &str,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now())
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session's user (enabled) and its CSRF token.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(User, String)>, StorageError> {
        let key = format!("s:{token_hash}");
        if let Some((u, Some(csrf))) = self.credentials.get(&key) {
            return Ok(Some((u, csrf)));
        }
        let sql = "SELECT u.id, u.username, u.display_name, u.role, u.org_node_id, u.can_unmask, \
             u.disabled, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0";
        let row = sqlx::query(sql)
            .bind(token_hash)
            .bind(now())
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => {
                let (u, csrf): (User, String) = (user(&r)?, r.try_get("csrf_token")?);
                self.credentials.put(key, u.clone(), Some(csrf.clone()));
                Ok(Some((u, csrf)))
            }
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.credentials.clear();
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        // Again after the change: a lookup racing it may have cached the old state.
        self.credentials.clear();
        Ok(())
    }

    pub async fn create_token(
        &self,
        user_id: &str,
        name: &str,
        token_hash: &str,
    ) -> Result<String, StorageError> {
        let id = short_id("T");
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// The enabled user behind a live (unrevoked) token.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StorageError> {
        let key = format!("b:{token_hash}");
        if let Some((u, _)) = self.credentials.get(&key) {
            return Ok(Some(u));
        }
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.org_node_id, u.can_unmask, \
             u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let u = row.as_ref().map(user).transpose()?;
        if let Some(u) = &u {
            self.credentials.put(key, u.clone(), None);
        }
        Ok(u)
    }

    /// Revokes a token; false if there was no such live token.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, StorageError> {
        self.credentials.clear();
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now())
        .execute(self.pool())
        .await?;
        // Again after the change: a lookup racing it may have cached the old state.
        self.credentials.clear();
        Ok(r.rows_affected() > 0)
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, created_at, revoked_at FROM api_tokens ORDER BY created_at",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Appends to the audit log. `detail` must hold no personal data, password or token.
    pub async fn audit(
        &self,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        detail: Option<serde_json::Value>,
        client: Option<&str>,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail, client) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now())
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail.map(|d| d.to_string()))
        .bind(client)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Newest first.
    pub async fn audit_log(
        &self,
        action: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<AuditEntry>, i64), StorageError> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE ($1 IS NULL OR action = $1)")
                .bind(action)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail, client FROM audit_log \
             WHERE ($1 IS NULL OR action = $1) ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(action)
        .bind(limit as i64)
        .bind(offset as i64)
        .fetch_all(self.pool())
        .await?;
        let entries = rows
            .iter()
            .map(|r| {
                let detail: Option<String> = r.try_get("detail")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                    client: r.try_get("client")?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok((entries, total))
    }
}
