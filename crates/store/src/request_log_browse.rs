//! Browsing the passthrough request log for the dashboard: newest first, keyset pages, filters by
//! connection, platform, identity, status class and time, each served by an index on the log or on
//! connections.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;

use crate::connections::identity_column;
use crate::error::StoreError;
use crate::request_logs::{log_from_row, RequestLog, COLUMNS};
use crate::Store;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogBrowseFilter {
    pub connection_id: Option<String>,
    pub platform: Option<String>,
    /// Requests made through this identity's (current) connections.
    pub identity: Option<String>,
    /// 2 for 2xx … 5 for 5xx.
    pub status_class: Option<u16>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCursor {
    pub created_at: Timestamp,
    pub id: String,
}

impl Store {
    /// Up to `limit` entries older than `after`, newest first, and whether more follow.
    pub async fn browse_request_logs(
        &self,
        project: &ProjectId,
        environment: Environment,
        filter: &LogBrowseFilter,
        after: Option<&LogCursor>,
        limit: u32,
    ) -> Result<(Vec<RequestLog>, bool), StoreError> {
        let mut texts = vec![project.as_str().to_owned(), environment.as_str().to_owned()];
        let mut clauses = vec![
            "l.project_id = $1".to_owned(),
            "l.environment = $2".to_owned(),
        ];
        let mut push = |clauses: &mut Vec<String>, template: &str, value: &str| {
            texts.push(value.to_owned());
            clauses.push(template.replace("$?", &format!("${}", texts.len())));
        };
        if let Some(id) = &filter.connection_id {
            push(&mut clauses, "l.connection_id = $?", id);
        }
        if let Some(p) = &filter.platform {
            push(&mut clauses, "l.platform = $?", p);
        }
        if let Some(identity) = &filter.identity {
            let ident = identity_column(self.backend());
            push(
                &mut clauses,
                &format!(
                    "l.connection_id IN (SELECT c.id FROM connections c WHERE c.project_id = $1 \
                     AND c.environment = $2 AND {ident} = $?)"
                ),
                identity,
            );
        }
        // Integers are ours (never the caller's text): written into the statement.
        if let Some(class) = filter.status_class.filter(|c| (1..=5).contains(c)) {
            let low = i64::from(class) * 100;
            clauses.push(format!("l.status >= {low} AND l.status < {}", low + 100));
        }
        if let Some(since) = filter.since {
            clauses.push(format!("l.created_at >= {}", since.unix_millis()));
        }
        if let Some(until) = filter.until {
            clauses.push(format!("l.created_at < {}", until.unix_millis()));
        }
        if let Some(c) = after {
            let t = c.created_at.unix_millis();
            push(
                &mut clauses,
                &format!("(l.created_at < {t} OR (l.created_at = {t} AND l.id < $?))"),
                &c.id,
            );
        }
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("l.{c} AS {c}", c = c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM request_logs l WHERE {} ORDER BY l.created_at DESC, l.id DESC LIMIT {}",
            clauses.join(" AND "),
            u64::from(limit) + 1
        );
        // Planned for its values (see `connection_browse::bind`).
        let mut query = sqlx::query(&sql).persistent(false);
        for t in &texts {
            query = query.bind(t.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let more = rows.len() > limit as usize;
        let rows = rows
            .iter()
            .take(limit as usize)
            .map(log_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, more))
    }

    /// One entry of this project environment's log.
    pub async fn request_log(
        &self,
        project: &ProjectId,
        environment: Environment,
        id: &str,
    ) -> Result<Option<RequestLog>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM request_logs WHERE project_id = $1 AND environment = $2 AND id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(environment.as_str())
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(log_from_row).transpose()
    }
}
