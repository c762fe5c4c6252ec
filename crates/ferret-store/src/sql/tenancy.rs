//! Organisations, enrolment secrets, hosts, administrator tokens, users, roles and
//! sessions: the tables that say who may do what ([`TenancyStore`]).

use super::*;

#[async_trait]
impl TenancyStore for SqlStore {
    async fn create_org(&self, name: &str) -> Result<Org> {
        let now = Utc::now();
        let row = sqlx::query(
            "INSERT INTO organisations (name, created_ms) VALUES ($1, $2) \
             RETURNING id, name, created_ms",
        )
        .bind(name.to_owned())
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { what: "organisation" }
            } else {
                StoreError::Database { op: "create organisation", source: e }
            }
        })?;
        org_of(&row)
    }

    async fn list_orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query("SELECT id, name, created_ms FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db("list organisations"))?;
        rows.iter().map(org_of).collect()
    }

    async fn get_org(&self, org: i64) -> Result<Option<Org>> {
        let row = sqlx::query("SELECT id, name, created_ms FROM organisations WHERE id = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read organisation"))?;
        row.as_ref().map(org_of).transpose()
    }

    async fn add_enrolment_secret(&self, org: i64, secret_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO enrolment_secrets (org_id, secret_hash, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(secret_hash.to_owned())
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(db("add enrolment secret"))?;
        Ok(())
    }

    async fn org_for_secret(&self, secret_hash: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT org_id FROM enrolment_secrets WHERE secret_hash = $1")
            .bind(secret_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read enrolment secret"))?;
        row.map(|r| r.try_get("org_id")).transpose().map_err(db("read enrolment secret"))
    }

    async fn create_host(&self, org: i64, name: &str, token_hash: &str) -> Result<Host> {
        let row = sqlx::query(&format!(
            "INSERT INTO hosts (org_id, name, token_hash, enrolled_ms) VALUES ($1, $2, $3, $4) \
             RETURNING {HOST_COLS}"
        ))
        .bind(org)
        .bind(name.to_owned())
        .bind(token_hash.to_owned())
        .bind(ms(Utc::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(db("create host"))?;
        host_of(&row)
    }

    async fn host_by_token(&self, token_hash: &str) -> Result<Option<Host>> {
        let row = sqlx::query(&format!("SELECT {HOST_COLS} FROM hosts WHERE token_hash = $1"))
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read host"))?;
        row.as_ref().map(host_of).transpose()
    }

    async fn get_host(&self, org: i64, host: i64) -> Result<Option<Host>> {
        let row =
            sqlx::query(&format!("SELECT {HOST_COLS} FROM hosts WHERE id = $1 AND org_id = $2"))
                .bind(host)
                .bind(org)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read host"))?;
        row.as_ref().map(host_of).transpose()
    }

    async fn list_hosts(&self, org: i64, name_like: Option<&str>) -> Result<Vec<Host>> {
        let mut q = Sql::default();
        q.push(&format!("SELECT {HOST_COLS} FROM hosts WHERE org_id = ")).arg(Arg::Int(org));
        if let Some(n) = name_like.filter(|n| !n.is_empty()) {
            q.push(" AND LOWER(name) LIKE ").arg(Arg::Text(like_pattern(n))).push(" ESCAPE '\\'");
        }
        q.push(" ORDER BY name, id");
        let rows = bind_all(sqlx::query(&q.text), &q.args)
            .fetch_all(&self.pool)
            .await
            .map_err(db("list hosts"))?;
        rows.iter().map(host_of).collect()
    }

    async fn add_admin_token(&self, token_hash: &str) -> Result<()> {
        sqlx::query("INSERT INTO admin_tokens (token_hash, created_ms) VALUES ($1, $2)")
            .bind(token_hash.to_owned())
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await
            .map_err(db("add admin token"))?;
        Ok(())
    }

    async fn admin_token_valid(&self, token_hash: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT token_hash FROM admin_tokens WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read admin token"))?
            .is_some())
    }

    async fn admin_token_count(&self) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM admin_tokens")
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(db("count admin tokens"))
    }

    async fn create_user(&self, name: &str, password_hash: &str) -> Result<User> {
        let row = sqlx::query(
            "INSERT INTO users (name, password_hash, created_ms) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name.to_owned())
        .bind(password_hash.to_owned())
        .bind(ms(Utc::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { what: "user" }
            } else {
                StoreError::Database { op: "create user", source: e }
            }
        })?;
        Ok(User {
            id: row.try_get("id").map_err(db("create user"))?,
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
        })
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, name, password_hash FROM users WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read user"))?;
        row.map(|r| {
            Ok(User {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
        .map_err(db("read user"))
    }

    async fn grant_role(&self, user: i64, org: i64, role: Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_roles (user_id, org_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, org_id) DO UPDATE SET role = excluded.role",
        )
        .bind(user)
        .bind(org)
        .bind(role.as_str())
        .execute(&self.pool)
        .await
        .map_err(db("grant role"))?;
        Ok(())
    }

    async fn user_roles(&self, user: i64) -> Result<Vec<(Org, Role)>> {
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.created_ms, r.role FROM user_roles r \
             JOIN organisations o ON o.id = r.org_id WHERE r.user_id = $1 ORDER BY o.name",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read roles"))?;
        let mut out = Vec::new();
        for r in &rows {
            let role: String = r.try_get("role").map_err(db("read roles"))?;
            let role = Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt { what: "user_roles.role", reason: role })?;
            out.push((org_of(r)?, role));
        }
        Ok(out)
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: i64,
        csrf: &str,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_owned())
        .bind(user)
        .bind(csrf.to_owned())
        .bind(ms(expires))
        .execute(&self.pool)
        .await
        .map_err(db("create session"))?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.user_id, u.name, s.csrf, s.expires_ms FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_ms > $2",
        )
        .bind(token_hash.to_owned())
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read session"))?;
        row.map(|r| {
            Ok(Session {
                user_id: r.try_get("user_id")?,
                user_name: r.try_get("name")?,
                csrf: r.try_get("csrf")?,
                expires: from_ms(r.try_get("expires_ms")?),
            })
        })
        .transpose()
        .map_err(db("read session"))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db("delete session"))?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(db("sweep sessions"))?;
        Ok(done.rows_affected())
    }
}
