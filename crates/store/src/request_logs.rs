//! The passthrough request log: batch inserts, scoped listing, retention.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::backend::Backend;
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

pub(crate) const COLUMNS: &str =
    "id, project_id, environment, request_id, connection_id, connection_key, platform, action_id, \
    method, path, status, latency_ms, bytes_in, bytes_out, created_at";

const INSERT_POSTGRES: &str = "INSERT INTO request_logs (id, project_id, environment, request_id, \
    connection_id, connection_key, platform, action_id, method, path, status, latency_ms, bytes_in, \
    bytes_out, created_at) \
    SELECT r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7, r ->> 8, r ->> 9, \
    (r ->> 10)::bigint, (r ->> 11)::bigint, (r ->> 12)::bigint, (r ->> 13)::bigint, (r ->> 14)::bigint \
    FROM jsonb_array_elements($1::text::jsonb) AS r";

impl Store {
    /// A connection of its own for the request log writer, outside the pool. On SQLite this matters: a
    /// pooled connection's page cache is stale whenever another connection wrote last, so every batch
    /// re-read the pages it appends to; one long-lived writer keeps them cached.
    ///
    /// On Postgres the writer's commits do not wait for their WAL flush (`synchronous_commit = off` on
    /// this session only): a database crash may lose the last fraction of a second of request log entries,
    /// never corrupt anything, and connections and keys keep their durable commits on every other session.
    pub async fn request_log_writer(&self) -> Result<RequestLogWriter, StoreError> {
        let mut connection = self.pool().acquire().await?.detach();
        if self.backend() == Backend::Postgres {
            sqlx::query("SET synchronous_commit TO OFF")
                .execute(&mut connection)
                .await?;
        }
        Ok(RequestLogWriter {
            connection,
            backend: self.backend(),
        })
    }

    /// Inserts a batch through the pool (the request log's own writer is [`RequestLogWriter::insert`]);
    /// how each backend does it is in `insert_on`.
    pub async fn insert_request_logs(&self, logs: &[RequestLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        let mut connection = self.pool().acquire().await?;
        insert_on(&mut connection, self.backend(), logs).await
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

/// Most rows in one SQLite statement: 15 parameters each, 7,680 in all, far below SQLite's limit of 32,766.
const SQLITE_MAX_ROWS: usize = 512;

/// Inserts `logs` on `connection`.
///
/// SQLite: one statement per batch (a batch over [`SQLITE_MAX_ROWS`] is split, in one transaction), with
/// anonymous `?` parameters (named ones make SQLite look each up by name in a list, quadratic in their
/// number). Each statement is a round trip to sqlx's SQLite worker thread, which costs more than a few
/// rows, so the statement is the one for the next power of two rows with the rest left NULL: at most ten
/// statement texts, each prepared once and cached, and one trip per batch. Against 64-row statements
/// this took a quarter off the CPU per row (`cargo bench -p keyway-store --bench request_log`, README);
/// one statement per exact size instead kept up to 512 prepared statements (+60 MiB).
///
/// Postgres: one statement whose only parameter is the batch as a JSON array of rows, unpacked by
/// `jsonb_array_elements`.
async fn insert_on(
    connection: &mut sqlx::AnyConnection,
    backend: Backend,
    logs: &[RequestLog],
) -> Result<(), StoreError> {
    if logs.is_empty() {
        return Ok(());
    }
    match backend {
        Backend::Postgres => {
            sqlx::query(INSERT_POSTGRES)
                .bind(json_rows(logs)?)
                .execute(connection)
                .await?;
        }
        Backend::Sqlite if logs.len() <= SQLITE_MAX_ROWS => {
            sqlite_insert(logs).execute(connection).await?;
        }
        Backend::Sqlite => {
            let mut tx = sqlx::Connection::begin(connection).await?;
            for chunk in logs.chunks(SQLITE_MAX_ROWS) {
                sqlite_insert(chunk).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

/// The insert of `logs` (at most [`SQLITE_MAX_ROWS`]) as a statement for the next power of two rows.
/// Only the real rows are bound: SQLite reads a parameter left unbound as NULL, and sqlx clears every
/// binding before it binds a statement again and binds fewer arguments than parameters by design (its
/// `SqliteArguments::bind`), so padding costs nothing to send. The contract test's batches are padded.
fn sqlite_insert(
    logs: &[RequestLog],
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    let rows = logs.len().next_power_of_two();
    bind_rows(sqlx::query(sqlite_insert_sql(rows)), logs)
}

/// `INSERT … SELECT … FROM (VALUES …) WHERE column1 IS NOT NULL` with `rows` rows (a power of two up to
/// [`SQLITE_MAX_ROWS`]); the WHERE drops padding rows (`id`, the first column, is never NULL in a real
/// one). Each text is built once.
fn sqlite_insert_sql(rows: usize) -> &'static str {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        (0..=SQLITE_MAX_ROWS.trailing_zeros())
            .map(|k| {
                format!(
                    "INSERT INTO request_logs ({COLUMNS}) SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL",
                    vec![row; 1 << k].join(", ")
                )
            })
            .collect()
    });
    &texts[rows.trailing_zeros() as usize]
}

fn bind_rows<'q>(
    mut insert: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    logs: &'q [RequestLog],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for l in logs {
        insert = insert
            .bind(l.id.as_str())
            .bind(l.project_id.as_str())
            .bind(l.environment.as_str())
            .bind(l.request_id.as_str())
            .bind(l.connection_id.as_str())
            .bind(l.connection_key.as_str())
            .bind(l.platform.as_str())
            .bind(l.action_id.as_deref())
            .bind(l.method.as_str())
            .bind(l.path.as_str())
            .bind(i64::from(l.status))
            .bind(l.latency_ms)
            .bind(l.bytes_in)
            .bind(l.bytes_out)
            .bind(l.created_at.unix_millis());
    }
    insert
}

/// The batch as a JSON array of rows (arrays in column order), serialized straight from borrowed fields:
/// no per-row `serde_json::Value` tree, no copies of the strings.
fn json_rows(logs: &[RequestLog]) -> Result<String, StoreError> {
    let rows: Vec<_> = logs
        .iter()
        .map(|l| {
            (
                l.id.as_str(),
                l.project_id.as_str(),
                l.environment.as_str(),
                l.request_id.as_str(),
                l.connection_id.as_str(),
                l.connection_key.as_str(),
                l.platform.as_str(),
                l.action_id.as_deref(),
                l.method.as_str(),
                l.path.as_str(),
                l.status,
                l.latency_ms,
                l.bytes_in,
                l.bytes_out,
                l.created_at.unix_millis(),
            )
        })
        .collect();
    serde_json::to_string(&rows).map_err(|e| StoreError::Query(sqlx::Error::Encode(Box::new(e))))
}

/// See [`Store::request_log_writer`].
pub struct RequestLogWriter {
    connection: sqlx::AnyConnection,
    backend: Backend,
}

impl std::fmt::Debug for RequestLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestLogWriter")
    }
}

impl RequestLogWriter {
    /// Same as [`Store::insert_request_logs`], on this writer's connection.
    pub async fn insert(&mut self, logs: &[RequestLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        insert_on(&mut self.connection, self.backend, logs).await
    }

    pub async fn close(self) {
        let _ = sqlx::Connection::close(self.connection).await;
    }
}

pub(crate) fn log_from_row(row: &AnyRow) -> Result<RequestLog, StoreError> {
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
