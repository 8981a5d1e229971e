//! Connections. Every read and write is scoped by (project, environment) in the statement itself: a
//! connection of another project or environment is indistinguishable from one that does not exist.

use std::collections::BTreeMap;

use keyway_core::audit::AuditEvent;
use keyway_core::connection::{Connection, ConnectionFilter, ConnectionKey, ConnectionState};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::insert_audit;
use crate::backend::Backend;
use crate::error::StoreError;
use crate::sealed::SealedRow;
use crate::Store;

pub(crate) const COLUMNS: &str = "id, key, project_id, environment, platform, platform_version, identity, identity_type, \
    name, tags, state, active, version, fields, oauth_expires_at, oauth_issued_at, oauth_scopes, created_at, updated_at";

/// Which rows of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub skip: u64,
    pub limit: u32,
}

impl Store {
    /// Stores a new connection and its sealed credentials atomically.
    pub async fn insert_connection(
        &self,
        c: &Connection,
        credentials: &SealedRow,
    ) -> Result<(), StoreError> {
        self.insert_connections(&[(c.clone(), credentials.clone())])
            .await
    }

    /// One connection by id, only if it belongs to this project and environment.
    pub async fn connection(
        &self,
        project: &ProjectId,
        environment: Environment,
        id: &str,
    ) -> Result<Option<Connection>, StoreError> {
        self.connection_where(project, environment, Lookup::Id, id)
            .await
    }

    /// A page of matching connections, oldest first (creation time, then id), and the exact total.
    pub async fn list_connections(
        &self,
        project: &ProjectId,
        environment: Environment,
        filter: &ConnectionFilter,
        window: Window,
    ) -> Result<(Vec<Connection>, u64), StoreError> {
        let (condition, args) = where_clause(self.backend(), project, environment, filter);
        let query = crate::paging::Filtered {
            from: "connections c",
            columns: COLUMNS,
            condition: &condition,
            order: "created_at, id",
            args: &args,
        };
        let (rows, total) = self.count_and_page(query, window).await?;
        let rows = rows
            .iter()
            .map(connection_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }
}

/// How a statement names the identity column: on Postgres in the "C" collation, the one its identity
/// index is built in (bytes, as SQLite's BINARY), so equality and prefix ranges both use the index.
pub(crate) fn identity_column(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "c.identity",
        Backend::Postgres => "c.identity COLLATE \"C\"",
    }
}

/// The WHERE clause for a filter, with its text arguments in `$1..` order.
fn where_clause(
    backend: Backend,
    project: &ProjectId,
    environment: Environment,
    f: &ConnectionFilter,
) -> (String, Vec<String>) {
    let mut args = vec![project.as_str().to_owned(), environment.as_str().to_owned()];
    let mut clauses = vec![
        "c.project_id = $1".to_owned(),
        "c.environment = $2".to_owned(),
    ];
    let mut push = |column: &str, value: &str, args: &mut Vec<String>| {
        args.push(value.to_owned());
        clauses.push(format!("{column} = ${}", args.len()));
    };
    if let Some(v) = &f.identity {
        push(identity_column(backend), v, &mut args);
    }
    if let Some(v) = f.identity_type {
        push("c.identity_type", v.as_str(), &mut args);
    }
    if let Some(v) = &f.platform {
        push("c.platform", v, &mut args);
    }
    if let Some(v) = &f.platform_version {
        push("c.platform_version", v, &mut args);
    }
    if let Some(v) = &f.name {
        push("c.name", v, &mut args);
    }
    if let Some(active) = f.active {
        clauses.push(format!("c.active = {}", i64::from(active)));
    }
    if let Some(keys) = &f.keys {
        if keys.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            let mut marks = Vec::with_capacity(keys.len());
            for k in keys {
                args.push(k.clone());
                marks.push(format!("${}", args.len()));
            }
            clauses.push(format!("c.key IN ({})", marks.join(", ")));
        }
    }
    for tag in &f.tags {
        args.push(tag.clone());
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM connection_tags t WHERE t.connection_id = c.id AND t.tag = ${})",
            args.len()
        ));
    }
    (clauses.join(" AND "), args)
}

pub(crate) fn connection_from_row(row: &AnyRow) -> Result<Connection, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("connection column {what} is invalid"));
    let tags: String = row.try_get("tags")?;
    let fields: String = row.try_get("fields")?;
    let environment: String = row.try_get("environment")?;
    let identity: String = row.try_get("identity")?;
    let identity_type: String = row.try_get("identity_type")?;
    let state: String = row.try_get("state")?;
    Ok(Connection {
        id: row.try_get("id")?,
        key: ConnectionKey::from_trusted(row.try_get("key")?),
        project_id: ProjectId::from_trusted(row.try_get("project_id")?),
        environment: environment.parse().map_err(|_| corrupt("environment"))?,
        platform: row.try_get("platform")?,
        platform_version: row.try_get("platform_version")?,
        identity: Identity::parse(&identity).map_err(|_| corrupt("identity"))?,
        identity_type: identity_type
            .parse::<IdentityType>()
            .map_err(|_| corrupt("identity_type"))?,
        name: row.try_get("name")?,
        tags: serde_json::from_str(&tags).map_err(|_| corrupt("tags"))?,
        state: state
            .parse::<ConnectionState>()
            .map_err(|_| corrupt("state"))?,
        active: row.try_get::<i64, _>("active")? != 0,
        version: row.try_get("version")?,
        fields: serde_json::from_str::<BTreeMap<String, String>>(&fields)
            .map_err(|_| corrupt("fields"))?,
        oauth_expires_at: row
            .try_get::<Option<i64>, _>("oauth_expires_at")?
            .map(Timestamp::from_unix_millis),
        oauth_issued_at: row
            .try_get::<Option<i64>, _>("oauth_issued_at")?
            .map(Timestamp::from_unix_millis),
        oauth_scopes: row.try_get("oauth_scopes")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}

impl Store {
    /// Replaces a connection's tags (and bumps its version). `None` when it is not the caller's.
    pub async fn set_connection_tags(
        &self,
        project: &ProjectId,
        environment: Environment,
        id: &str,
        tags: &[String],
        at: Timestamp,
        audit: Option<&AuditEvent>,
    ) -> Result<Option<Connection>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let json = serde_json::to_string(tags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE connections SET tags = $1, version = version + 1, updated_at = $2 \
             WHERE project_id = $3 AND environment = $4 AND id = $5",
        )
        .bind(json)
        .bind(at.unix_millis())
        .bind(project.as_str())
        .bind(environment.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM connection_tags WHERE connection_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for tag in tags {
            sqlx::query("INSERT INTO connection_tags (connection_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        self.connection(project, environment, id).await
    }

    /// Deletes a connection and its sealed credentials atomically. False when it is not the caller's.
    pub async fn delete_connection(
        &self,
        project: &ProjectId,
        environment: Environment,
        id: &str,
        credentials_id: &str,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "DELETE FROM connections WHERE project_id = $1 AND environment = $2 AND id = $3",
        )
        .bind(project.as_str())
        .bind(environment.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM connection_tags WHERE connection_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sealed_secrets WHERE id = $1 AND scope = $2")
            .bind(credentials_id)
            .bind(project.as_str())
            .execute(&mut *tx)
            .await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// One connection by its key, only if it belongs to this project and environment.
    pub async fn connection_by_key(
        &self,
        project: &ProjectId,
        environment: Environment,
        key: &str,
    ) -> Result<Option<Connection>, StoreError> {
        self.connection_where(project, environment, Lookup::Key, key)
            .await
    }

    async fn connection_where(
        &self,
        project: &ProjectId,
        environment: Environment,
        by: Lookup,
        value: &str,
    ) -> Result<Option<Connection>, StoreError> {
        let column = match by {
            Lookup::Id => "id",
            Lookup::Key => "key",
        };
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE project_id = $1 AND environment = $2 AND {column} = $3");
        let row = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(environment.as_str())
            .bind(value)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(connection_from_row).transpose()
    }
}

/// Which unique column finds one connection.
enum Lookup {
    Id,
    Key,
}

/// Rows per multi-row statement in [`Store::insert_connections`] (18 parameters each).
const BATCH_ROWS: usize = 100;

impl Store {
    /// Stores many new connections with their sealed credentials in one transaction, a hundred rows per
    /// statement (bulk imports, benchmarks); all or nothing.
    pub async fn insert_connections(
        &self,
        rows: &[(Connection, SealedRow)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for chunk in rows.chunks(BATCH_ROWS) {
            let marks = |per_row: usize, n: usize| {
                (0..n)
                    .map(|r| {
                        let cols: Vec<String> = (1..=per_row)
                            .map(|c| format!("${}", r * per_row + c))
                            .collect();
                        format!("({})", cols.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sql = format!(
                "INSERT INTO connections ({COLUMNS}) VALUES {}",
                marks(19, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for (c, _) in chunk {
                let tags = serde_json::to_string(&c.tags)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let fields = serde_json::to_string(&c.fields)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                q = q
                    .bind(c.id.clone())
                    .bind(c.key.as_str().to_owned())
                    .bind(c.project_id.as_str().to_owned())
                    .bind(c.environment.as_str())
                    .bind(c.platform.clone())
                    .bind(c.platform_version.clone())
                    .bind(c.identity.as_str().to_owned())
                    .bind(c.identity_type.as_str())
                    .bind(c.name.clone())
                    .bind(tags)
                    .bind(c.state.as_str())
                    .bind(i64::from(c.active))
                    .bind(c.version)
                    .bind(fields)
                    .bind(c.oauth_expires_at.map(Timestamp::unix_millis))
                    .bind(c.oauth_issued_at.map(Timestamp::unix_millis))
                    .bind(c.oauth_scopes.clone())
                    .bind(c.created_at.unix_millis())
                    .bind(c.updated_at.unix_millis());
            }
            q.execute(&mut *tx).await?;
            let tagged: Vec<(&str, &str)> = chunk
                .iter()
                .flat_map(|(c, _)| c.tags.iter().map(move |t| (c.id.as_str(), t.as_str())))
                .collect();
            if !tagged.is_empty() {
                let sql = format!(
                    "INSERT INTO connection_tags (connection_id, tag) VALUES {}",
                    marks(2, tagged.len())
                );
                let mut q = sqlx::query(&sql);
                for (id, tag) in tagged {
                    q = q.bind(id).bind(tag);
                }
                q.execute(&mut *tx).await?;
            }
            let sql = format!(
                "INSERT INTO sealed_secrets (id, scope, purpose, key_id, blob, created_at, updated_at) VALUES {}",
                marks(7, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for (c, s) in chunk {
                q = q
                    .bind(s.id.clone())
                    .bind(s.scope.clone())
                    .bind(s.purpose.clone())
                    .bind(s.blob.key_id().to_owned())
                    .bind(s.blob.as_bytes().to_vec())
                    .bind(c.created_at.unix_millis())
                    .bind(c.created_at.unix_millis());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
