//! The audit trail. Events are written by the store methods that make the change they describe, in the
//! same transaction: a change never commits without its event, and an event never outlives a change
//! that rolled back. Listing is newest first with keyset paging.

use std::collections::BTreeMap;

use keyway_core::audit::{Actor, ActorKind, AuditEvent};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::Store;

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this project's events (and, with `include_global`, account events outside any project).
    pub project_id: Option<ProjectId>,
    pub include_global: bool,
    /// Only actions starting with this (e.g. `key.`).
    pub action_prefix: Option<String>,
    /// Only events about this target (a connection id, a key id, a platform).
    pub target: Option<String>,
}

/// Where the previous page ended: its last event's (created_at, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub created_at: Timestamp,
    pub id: String,
}

const COLUMNS: &str =
    "id, project_id, environment, actor_kind, actor_id, actor_label, action, target, \
    detail, client_address, created_at";

/// Writes `event` on `conn`, inside the caller's transaction.
pub(crate) async fn insert_audit(
    conn: &mut sqlx::AnyConnection,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let detail =
        serde_json::to_string(&event.detail).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&event.id)
    .bind(event.project_id.as_ref().map(ProjectId::as_str))
    .bind(event.environment.map(Environment::as_str))
    .bind(event.actor.kind.as_str())
    .bind(event.actor.id.as_deref())
    .bind(&event.actor.label)
    .bind(&event.action)
    .bind(event.target.as_deref())
    .bind(detail)
    .bind(event.actor.address.as_deref())
    .bind(event.created_at.unix_millis())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records an event that goes with no other write (e.g. a sign-in).
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        insert_audit(&mut conn, event).await
    }

    /// Up to `limit` events older than `after` (newest first), and whether more follow.
    pub async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        after: Option<&AuditCursor>,
        limit: u32,
    ) -> Result<(Vec<AuditEvent>, bool), StoreError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(project) = &filter.project_id {
            args.push(project.as_str().to_owned());
            clauses.push(if filter.include_global {
                format!("(project_id = ${} OR project_id IS NULL)", args.len())
            } else {
                format!("project_id = ${}", args.len())
            });
        }
        if let Some(prefix) = &filter.action_prefix {
            // Actions are ASCII dotted names: a byte range is the prefix.
            args.push(prefix.clone());
            args.push(format!("{prefix}\u{7f}"));
            clauses.push(format!(
                "action >= ${} AND action < ${}",
                args.len() - 1,
                args.len()
            ));
        }
        if let Some(target) = &filter.target {
            args.push(target.clone());
            clauses.push(format!("target = ${}", args.len()));
        }
        let mut cursor_args = None;
        if let Some(c) = after {
            clauses.push(format!(
                "(created_at < ${n} OR (created_at = ${n} AND id < ${m}))",
                n = args.len() + 1,
                m = args.len() + 2
            ));
            cursor_args = Some(c);
        }
        let condition = if clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            clauses.join(" AND ")
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events WHERE {condition} \
             ORDER BY created_at DESC, id DESC LIMIT {}",
            u64::from(limit) + 1
        );
        // Planned for its values (see `connection_browse::bind`).
        let mut query = sqlx::query(&sql).persistent(false);
        for a in &args {
            query = query.bind(a.as_str());
        }
        if let Some(c) = cursor_args {
            query = query.bind(c.created_at.unix_millis()).bind(c.id.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let more = rows.len() > limit as usize;
        let events = rows
            .iter()
            .take(limit as usize)
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, more))
    }
}

fn event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("audit event {what}"));
    let environment: Option<String> = row.try_get("environment")?;
    let kind: String = row.try_get("actor_kind")?;
    let detail: String = row.try_get("detail")?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        project_id: row
            .try_get::<Option<String>, _>("project_id")?
            .map(ProjectId::from_trusted),
        environment: environment
            .map(|e| e.parse().map_err(|_| corrupt("environment")))
            .transpose()?,
        actor: Actor {
            kind: ActorKind::parse(&kind).ok_or_else(|| corrupt("actor kind"))?,
            id: row.try_get("actor_id")?,
            label: row.try_get("actor_label")?,
            address: row.try_get("client_address")?,
        },
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail: serde_json::from_str::<BTreeMap<String, String>>(&detail)
            .map_err(|_| corrupt("detail"))?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
    })
}
