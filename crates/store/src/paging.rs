//! Filtered lists with an exact total: one COUNT and one page query over the same condition and arguments.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::connections::Window;
use crate::error::StoreError;
use crate::Store;

/// A filtered list query: `SELECT {columns} FROM {from} WHERE {condition} ORDER BY {order}`, with text
/// arguments bound as `$1..$n` in order.
pub(crate) struct Filtered<'a> {
    pub from: &'a str,
    pub columns: &'a str,
    pub condition: &'a str,
    pub order: &'a str,
    pub args: &'a [String],
}

impl Store {
    /// The rows of one page and the exact number of rows the condition matches.
    pub(crate) async fn count_and_page(
        &self,
        q: Filtered<'_>,
        window: Window,
    ) -> Result<(Vec<AnyRow>, u64), StoreError> {
        let count_sql = format!("SELECT COUNT(*) AS n FROM {} WHERE {}", q.from, q.condition);
        let mut count = sqlx::query(&count_sql);
        for a in q.args {
            count = count.bind(a.as_str());
        }
        let total: i64 = count.fetch_one(self.pool()).await?.try_get("n")?;
        let n = q.args.len();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}",
            q.columns,
            q.from,
            q.condition,
            q.order,
            n + 1,
            n + 2
        );
        let mut page = sqlx::query(&sql);
        for a in q.args {
            page = page.bind(a.as_str());
        }
        let rows = page
            .bind(i64::from(window.limit))
            .bind(i64::try_from(window.skip).unwrap_or(i64::MAX))
            .fetch_all(self.pool())
            .await?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }
}
