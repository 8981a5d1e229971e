//! The passthrough request log: batch inserts, scoped listing, retention.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connections::Window;
use crate::error::StoreError;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    pub id: String,
    pub project_id: ProjectId,
    pub environment: Environment,
    pub request_id: String,
    pub connection_id: String,
    pub connection_key: String,
    pub platform: String,
    pub action_id: Option<String>,
    pub method: String,
    /// Path plus query parameter names, never their values.
    pub path: String,
    pub status: u16,
    pub latency_ms: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLogFilter {
    pub connection_key: Option<String>,
    pub platform: Option<String>,
    pub status: Option<u16>,
}

const COLUMNS: &str =
    "id, project_id, environment, request_id, connection_id, connection_key, platform, action_id, \
    method, path, status, latency_ms, bytes_in, bytes_out, created_at";

impl Store {
    /// Inserts a batch in one transaction.
    pub async fn insert_request_logs(&self, logs: &[RequestLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        // Multi-row inserts: one statement per 100 entries (15 parameters each) instead of one per entry.
        let mut tx = self.pool().begin().await?;
        for chunk in logs.chunks(100) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let marks: Vec<String> = (1..=15).map(|c| format!("${}", r * 15 + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO request_logs ({COLUMNS}) VALUES {}",
                rows.join(", ")
            );
            let mut insert = sqlx::query(&sql);
            for l in chunk {
                insert = insert
                    .bind(&l.id)
                    .bind(l.project_id.as_str())
                    .bind(l.environment.as_str())
                    .bind(&l.request_id)
                    .bind(&l.connection_id)
                    .bind(&l.connection_key)
                    .bind(&l.platform)
                    .bind(l.action_id.as_deref())
                    .bind(&l.method)
                    .bind(&l.path)
                    .bind(i64::from(l.status))
                    .bind(l.latency_ms)
                    .bind(l.bytes_in)
                    .bind(l.bytes_out)
                    .bind(l.created_at.unix_millis());
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Newest first, with the exact total.
    pub async fn list_request_logs(
        &self,
        project: &ProjectId,
        environment: Environment,
        filter: &RequestLogFilter,
        window: Window,
    ) -> Result<(Vec<RequestLog>, u64), StoreError> {
        let mut args: Vec<String> = vec![project.as_str().into(), environment.as_str().into()];
        let mut clauses = vec!["project_id = $1".to_owned(), "environment = $2".to_owned()];
        if let Some(k) = &filter.connection_key {
            args.push(k.clone());
            clauses.push(format!("connection_key = ${}", args.len()));
        }
        if let Some(p) = &filter.platform {
            args.push(p.clone());
            clauses.push(format!("platform = ${}", args.len()));
        }
        if let Some(s) = filter.status {
            clauses.push(format!("status = {}", i64::from(s)));
        }
        let condition = clauses.join(" AND ");
        let query = crate::paging::Filtered {
            from: "request_logs",
            columns: COLUMNS,
            condition: &condition,
            order: "created_at DESC, id DESC",
            args: &args,
        };
        let (rows, total) = self.count_and_page(query, window).await?;
        let rows = rows
            .iter()
            .map(log_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    /// Deletes entries older than `before`, at most `limit` at a time (bounded work per call).
    pub async fn purge_request_logs(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM request_logs WHERE id IN (SELECT id FROM request_logs WHERE created_at < $1 LIMIT $2)",
        )
        .bind(before.unix_millis())
        .bind(i64::from(limit))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

fn log_from_row(row: &AnyRow) -> Result<RequestLog, StoreError> {
    let env: String = row.try_get("environment")?;
    Ok(RequestLog {
        id: row.try_get("id")?,
        project_id: ProjectId::from_trusted(row.try_get("project_id")?),
        environment: env
            .parse()
            .map_err(|_| StoreError::Corrupt("request log environment".into()))?,
        request_id: row.try_get("request_id")?,
        connection_id: row.try_get("connection_id")?,
        connection_key: row.try_get("connection_key")?,
        platform: row.try_get("platform")?,
        action_id: row.try_get("action_id")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
        latency_ms: row.try_get("latency_ms")?,
        bytes_in: row.try_get("bytes_in")?,
        bytes_out: row.try_get("bytes_out")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
    })
}
