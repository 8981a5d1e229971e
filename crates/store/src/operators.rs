//! Operator accounts and their one-time links. A password is stored only as its Argon2id PHC string; a
//! link only as a keyed hash of its token, taken with `DELETE … RETURNING` so it works once. Account
//! changes are serialised (an advisory lock on Postgres; SQLite has one writer) so the last owner can
//! never be demoted or removed by two changes racing, and two setup links cannot create two first owners.

use keyway_core::audit::AuditEvent;
use keyway_core::id::OperatorId;
use keyway_core::operator::{Operator, Role};
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::audit::insert_audit;
use crate::backend::Backend;
use crate::error::StoreError;
use crate::Store;

/// What a one-time link does when used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Creates the first owner; valid only while no account exists.
    Setup,
    /// Lets one existing account choose its password (a new account, or a reset).
    Password,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Password => "password",
        }
    }
}

/// A link about to be stored: its token's keyed hash, never the token.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub token_hash: String,
    pub purpose: LinkPurpose,
    pub operator_id: Option<OperatorId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Why an account change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRefusal {
    /// The link is unknown, used or expired.
    LinkInvalid,
    /// An account exists already, so a setup link creates nothing.
    AlreadySetUp,
    /// The change would leave no owner.
    LastOwner,
    /// No such account.
    NotFound,
}

const COLUMNS: &str = "id, email, role, password_hash, created_at, updated_at";

impl Store {
    /// Serialises account changes across nodes (Postgres); SQLite's single writer already does.
    async fn lock_accounts(&self, tx: &mut Transaction<'_, Any>) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7420113) AS locked")
                .fetch_one(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn operator_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM operators")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// An account and its password hash (none until a link set it).
    pub async fn operator_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Operator, Option<String>)>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM operators WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref()
            .map(|r| Ok((operator_from_row(r)?, r.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn operator(&self, id: &OperatorId) -> Result<Option<Operator>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM operators WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(operator_from_row).transpose()
    }

    /// The password hash of an account, for re-checking the current password.
    pub async fn operator_password_hash(
        &self,
        id: &OperatorId,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM operators WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .map(|r| r.try_get("password_hash"))
            .transpose()?
            .flatten())
    }

    /// Every account, owners first, then by email.
    pub async fn list_operators(&self) -> Result<Vec<Operator>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM operators ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, email"
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(operator_from_row).collect()
    }

    /// Stores a one-time link. A password link replaces the account's earlier ones.
    pub async fn insert_operator_link(
        &self,
        link: &NewLink,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if let Some(op) = &link.operator_id {
            sqlx::query("DELETE FROM operator_links WHERE operator_id = $1")
                .bind(op.as_str())
                .execute(&mut *tx)
                .await?;
        }
        insert_link(&mut tx, link).await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates an account with no password yet and the link that lets its holder choose one.
    pub async fn create_operator(
        &self,
        operator: &Operator,
        link: &NewLink,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        self.lock_accounts(&mut tx).await?;
        insert_operator(&mut tx, operator, None).await?;
        insert_link(&mut tx, link).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Spends a setup link and creates the first owner with this password hash, only while no account
    /// exists; every other setup link dies with it.
    pub async fn create_first_owner(
        &self,
        token_hash: &str,
        operator: &Operator,
        password_hash: &str,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Result<(), AccountRefusal>, StoreError> {
        let mut tx = self.pool().begin().await?;
        self.lock_accounts(&mut tx).await?;
        if take_link(&mut tx, token_hash, LinkPurpose::Setup, now)
            .await?
            .is_none()
        {
            return Ok(Err(AccountRefusal::LinkInvalid));
        }
        let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM operators")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if existing > 0 {
            // Spend the link anyway: it can never be of use again.
            tx.commit().await?;
            return Ok(Err(AccountRefusal::AlreadySetUp));
        }
        insert_operator(&mut tx, operator, Some(password_hash)).await?;
        sqlx::query("DELETE FROM operator_links WHERE purpose = 'setup'")
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The account a password link belongs to, if the link is live (without spending it).
    pub async fn password_link_operator(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Operator>, StoreError> {
        let sql = format!(
            "SELECT {} FROM operators o JOIN operator_links l ON l.operator_id = o.id \
             WHERE l.token_hash = $1 AND l.purpose = 'password' AND l.expires_at > $2",
            prefixed_columns()
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(now.unix_millis())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(operator_from_row).transpose()
    }

    /// True while a setup link with this hash is live.
    pub async fn setup_link_is_live(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM operator_links WHERE token_hash = $1 AND purpose = 'setup' AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.unix_millis())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Spends a password link and sets that account's password; every session of the account ends.
    pub async fn set_password_with_link(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
        audit: impl FnOnce(&Operator) -> AuditEvent,
    ) -> Result<Result<Operator, AccountRefusal>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let Some(operator_id) = take_link(&mut tx, token_hash, LinkPurpose::Password, now).await?
        else {
            return Ok(Err(AccountRefusal::LinkInvalid));
        };
        let Some(operator_id) = operator_id else {
            return Ok(Err(AccountRefusal::LinkInvalid));
        };
        let sql = format!("SELECT {COLUMNS} FROM operators WHERE id = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(&operator_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Err(AccountRefusal::NotFound));
        };
        let operator = operator_from_row(&row)?;
        write_password(&mut tx, &operator.id, password_hash, now, None).await?;
        insert_audit(&mut tx, &audit(&operator)).await?;
        tx.commit().await?;
        Ok(Ok(Operator {
            has_password: true,
            updated_at: now,
            ..operator
        }))
    }

    /// Replaces an account's password; every other session of the account ends (`keep_session` stays).
    pub async fn change_operator_password(
        &self,
        id: &OperatorId,
        password_hash: &str,
        keep_session: Option<&str>,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        write_password(&mut tx, id, password_hash, now, keep_session).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes an account's role, unless that would leave no owner.
    pub async fn set_operator_role(
        &self,
        id: &OperatorId,
        role: Role,
        now: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Result<(), AccountRefusal>, StoreError> {
        let mut tx = self.pool().begin().await?;
        self.lock_accounts(&mut tx).await?;
        if role != Role::Owner && is_last_owner(&mut tx, id).await? {
            return Ok(Err(AccountRefusal::LastOwner));
        }
        let done = sqlx::query("UPDATE operators SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now.unix_millis())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(Err(AccountRefusal::NotFound));
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Removes an account (its sessions and links go with it), unless it is the last owner.
    pub async fn delete_operator(
        &self,
        id: &OperatorId,
        audit: &AuditEvent,
    ) -> Result<Result<(), AccountRefusal>, StoreError> {
        let mut tx = self.pool().begin().await?;
        self.lock_accounts(&mut tx).await?;
        if is_last_owner(&mut tx, id).await? {
            return Ok(Err(AccountRefusal::LastOwner));
        }
        for sql in [
            "DELETE FROM dashboard_sessions WHERE operator_id = $1",
            "DELETE FROM operator_links WHERE operator_id = $1",
        ] {
            sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM operators WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(Err(AccountRefusal::NotFound));
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

async fn insert_operator(
    tx: &mut Transaction<'_, Any>,
    o: &Operator,
    password_hash: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO operators ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(o.id.as_str())
    .bind(&o.email)
    .bind(o.role.as_str())
    .bind(password_hash)
    .bind(o.created_at.unix_millis())
    .bind(o.updated_at.unix_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_link(tx: &mut Transaction<'_, Any>, link: &NewLink) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO operator_links (token_hash, purpose, operator_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&link.token_hash)
    .bind(link.purpose.as_str())
    .bind(link.operator_id.as_ref().map(OperatorId::as_str))
    .bind(link.created_at.unix_millis())
    .bind(link.expires_at.unix_millis())
    .execute(&mut **tx)
    .await?;
    // Dead links are of no use to anyone.
    sqlx::query("DELETE FROM operator_links WHERE expires_at < $1")
        .bind(link.created_at.unix_millis())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Spends a live link of this purpose: `Some(operator id)` when it was live.
async fn take_link(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    purpose: LinkPurpose,
    now: Timestamp,
) -> Result<Option<Option<String>>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM operator_links WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
         RETURNING operator_id",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now.unix_millis())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get::<Option<String>, _>("operator_id"))
        .transpose()
        .map_err(Into::into)
}

async fn write_password(
    tx: &mut Transaction<'_, Any>,
    id: &OperatorId,
    password_hash: &str,
    now: Timestamp,
    keep_session: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE operators SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now.unix_millis())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM dashboard_sessions WHERE operator_id = $1 AND token_hash <> $2")
        .bind(id.as_str())
        .bind(keep_session.unwrap_or(""))
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM operator_links WHERE operator_id = $1")
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// True when `id` is an owner and no other owner exists.
async fn is_last_owner(tx: &mut Transaction<'_, Any>, id: &OperatorId) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM operators WHERE id = $1 AND role = 'owner') AS me, \
         (SELECT COUNT(*) FROM operators WHERE id <> $1 AND role = 'owner') AS others",
    )
    .bind(id.as_str())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>("me")? > 0 && row.try_get::<i64, _>("others")? == 0)
}

fn prefixed_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("o.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn operator_from_row(row: &AnyRow) -> Result<Operator, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(Operator {
        id: OperatorId::from_trusted(row.try_get("id")?),
        email: row.try_get("email")?,
        role: role
            .parse()
            .map_err(|_| StoreError::Corrupt("operator role".into()))?,
        has_password: row.try_get::<Option<String>, _>("password_hash")?.is_some(),
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}
