//! Browsing connections for the dashboard: filters an operator types (identity exact or by prefix,
//! platform, identity type, state, tags) over millions of rows without scanning them. Pages are keyset
//! pages (never `OFFSET`), each filter is served by an index, and counts stop at a cap.

use keyway_core::connection::{Connection, ConnectionState};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::IdentityType;
use keyway_core::timestamp::Timestamp;
use sqlx::Row;

use crate::backend::Backend;
use crate::connections::{connection_from_row, identity_column, COLUMNS};
use crate::error::StoreError;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityMatch {
    Exact(String),
    /// Identities starting with these characters, listed in identity order.
    Prefix(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrowseFilter {
    pub identity: Option<IdentityMatch>,
    pub identity_type: Option<IdentityType>,
    pub platform: Option<String>,
    pub state: Option<ConnectionState>,
    /// Every tag listed must be on the connection.
    pub tags: Vec<String>,
}

impl BrowseFilter {
    /// Prefix searches list in identity order; everything else newest first.
    pub fn by_identity(&self) -> bool {
        matches!(self.identity, Some(IdentityMatch::Prefix(_)))
    }
}

/// Where the previous page ended: the last row's sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowseCursor {
    pub identity: Option<String>,
    pub created_at: Timestamp,
    pub id: String,
}

impl BrowseCursor {
    pub fn after(c: &Connection, by_identity: bool) -> Self {
        Self {
            identity: by_identity.then(|| c.identity.as_str().to_owned()),
            created_at: c.created_at,
            id: c.id.clone(),
        }
    }
}

/// The connection columns, qualified (a tag-driven statement joins `connection_tags`).
fn qualified_columns() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        COLUMNS
            .split(", ")
            .map(|c| format!("c.{c} AS {c}", c = c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// One value bound into a browse statement.
enum Arg {
    Text(String),
    Int(i64),
}

impl Store {
    /// Up to `limit` connections after `after`, and whether more follow.
    pub async fn browse_connections(
        &self,
        project: &ProjectId,
        environment: Environment,
        filter: &BrowseFilter,
        after: Option<&BrowseCursor>,
        limit: u32,
    ) -> Result<(Vec<Connection>, bool), StoreError> {
        let backend = self.backend();
        // A tag only a few connections carry is found from the tag index (then sorted); a common one by
        // walking connections in page order and probing the tag, which fills a page quickly.
        let tags = if filter.tags.is_empty() {
            TagMatch::Probe
        } else {
            let sparse = self
                .count_connections_up_to(project, environment, filter, SPARSE_TAG_MATCHES)
                .await?;
            if sparse < u64::from(SPARSE_TAG_MATCHES) {
                TagMatch::FromIndex
            } else {
                TagMatch::Probe
            }
        };
        let (from, mut clauses, mut args) = conditions(backend, project, environment, filter, tags);
        let ident = identity_column(backend);
        if let Some(c) = after {
            match (&c.identity, filter.by_identity()) {
                (Some(identity), true) => {
                    let n = args.len();
                    args.push(Arg::Text(identity.clone()));
                    args.push(Arg::Int(c.created_at.unix_millis()));
                    args.push(Arg::Text(c.id.clone()));
                    clauses.push(format!(
                        "({ident} > ${a} OR ({ident} = ${a} AND (c.created_at > ${b} OR (c.created_at = ${b} AND c.id > ${c}))))",
                        a = n + 1,
                        b = n + 2,
                        c = n + 3
                    ));
                }
                _ => {
                    let n = args.len();
                    args.push(Arg::Int(c.created_at.unix_millis()));
                    args.push(Arg::Text(c.id.clone()));
                    clauses.push(format!(
                        "(c.created_at < ${a} OR (c.created_at = ${a} AND c.id < ${b}))",
                        a = n + 1,
                        b = n + 2
                    ));
                }
            }
        }
        let order = if filter.by_identity() {
            format!("{ident}, c.created_at, c.id")
        } else {
            "c.created_at DESC, c.id DESC".to_owned()
        };
        let sql = format!(
            "SELECT {} FROM {from} WHERE {} ORDER BY {order} LIMIT {}",
            qualified_columns(),
            clauses.join(" AND "),
            u64::from(limit) + 1
        );
        let rows = bind(sqlx::query(&sql).persistent(false), &args)
            .fetch_all(self.pool())
            .await?;
        let more = rows.len() > limit as usize;
        let rows = rows
            .iter()
            .take(limit as usize)
            .map(connection_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, more))
    }

    /// How many connections match, counting no further than `cap` (so a count costs at most `cap` index
    /// entries, however large the table).
    pub async fn count_connections_up_to(
        &self,
        project: &ProjectId,
        environment: Environment,
        filter: &BrowseFilter,
        cap: u32,
    ) -> Result<u64, StoreError> {
        let (from, clauses, args) = conditions(
            self.backend(),
            project,
            environment,
            filter,
            TagMatch::FromIndex,
        );
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM {from} WHERE {} LIMIT {cap}) capped",
            clauses.join(" AND ")
        );
        let n: i64 = bind(sqlx::query(&sql).persistent(false), &args)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The refresh bookkeeping of one connection of this project environment.
    pub async fn connection_refresh_status(
        &self,
        project: &ProjectId,
        environment: Environment,
        id: &str,
    ) -> Result<Option<RefreshStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT refreshed_at, refresh_error, refresh_failures, refresh_next_at FROM connections \
             WHERE project_id = $1 AND environment = $2 AND id = $3",
        )
        .bind(project.as_str())
        .bind(environment.as_str())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(RefreshStatus {
                refreshed_at: row
                    .try_get::<Option<i64>, _>("refreshed_at")?
                    .map(Timestamp::from_unix_millis),
                error: row.try_get("refresh_error")?,
                failures: row.try_get("refresh_failures")?,
                next_attempt_at: row
                    .try_get::<Option<i64>, _>("refresh_next_at")?
                    .map(Timestamp::from_unix_millis),
            })
        })
        .transpose()
    }
}

/// When a connection's token was last refreshed (or tried) and how that went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshStatus {
    pub refreshed_at: Option<Timestamp>,
    /// The provider's refusal or the failure, for the last attempt; none when it succeeded.
    pub error: Option<String>,
    pub failures: i64,
    pub next_attempt_at: Option<Timestamp>,
}

/// Below this many matches a tag filter is driven from the tag index.
const SPARSE_TAG_MATCHES: u32 = 2_000;

/// How a tag condition is written, which decides the plan: `FromIndex` joins from the first tag's rows in
/// `connection_tags_by_tag` to their connections (streamed, so a count stops at its cap), cheap when the
/// tag is rare or when only counting; `Probe` (`EXISTS`) checks each connection met in page order, cheap
/// when the tag is common.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagMatch {
    FromIndex,
    Probe,
}

/// The filter's conditions (ANDed) and their arguments in `$1..` order.
fn conditions(
    backend: Backend,
    project: &ProjectId,
    environment: Environment,
    f: &BrowseFilter,
    tags: TagMatch,
) -> (&'static str, Vec<String>, Vec<Arg>) {
    let mut args = vec![
        Arg::Text(project.as_str().to_owned()),
        Arg::Text(environment.as_str().to_owned()),
    ];
    let mut clauses = vec![
        "c.project_id = $1".to_owned(),
        "c.environment = $2".to_owned(),
    ];
    let ident = identity_column(backend);
    let text = |clauses: &mut Vec<String>, args: &mut Vec<Arg>, column: &str, value: &str| {
        args.push(Arg::Text(value.to_owned()));
        clauses.push(format!("{column} = ${}", args.len()));
    };
    match &f.identity {
        Some(IdentityMatch::Exact(v)) => text(&mut clauses, &mut args, ident, v),
        Some(IdentityMatch::Prefix(p)) => {
            // Identities hold no control characters, so `p` + U+10FFFF bounds every identity starting
            // with `p` (byte order).
            args.push(Arg::Text(p.clone()));
            args.push(Arg::Text(format!("{p}\u{10FFFF}")));
            clauses.push(format!(
                "{ident} >= ${} AND {ident} < ${}",
                args.len() - 1,
                args.len()
            ));
        }
        None => {}
    }
    if let Some(t) = f.identity_type {
        text(&mut clauses, &mut args, "c.identity_type", t.as_str());
    }
    if let Some(p) = &f.platform {
        text(&mut clauses, &mut args, "c.platform", p);
    }
    if let Some(s) = f.state {
        text(&mut clauses, &mut args, "c.state", s.as_str());
    }
    let mut from = "connections c";
    for (i, tag) in f.tags.iter().enumerate() {
        args.push(Arg::Text(tag.clone()));
        if i == 0 && tags == TagMatch::FromIndex {
            from = "connection_tags t0 CROSS JOIN connections c";
            clauses.push(format!(
                "t0.tag = ${} AND c.id = t0.connection_id",
                args.len()
            ));
        } else {
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM connection_tags t WHERE t.connection_id = c.id AND t.tag = ${})",
                args.len()
            ));
        }
    }
    (from, clauses, args)
}

/// Browse statements are not kept prepared: a kept statement is planned once for any value (Postgres
/// switches to a generic plan after five runs), and a filter on a rare state or tag then walked the whole
/// environment in page order (170 ms and 650 ms over a million rows). Planned for their values they take
/// milliseconds; planning costs well under one.
fn bind<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        query = match a {
            Arg::Text(t) => query.bind(t.as_str()),
            Arg::Int(i) => query.bind(*i),
        };
    }
    query
}
