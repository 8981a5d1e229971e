//! The live schema, normalised so the SQLite and Postgres migrations can be checked for equivalence.

use sqlx::Row;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub table: String,
    pub name: String,
    /// `text`, `integer`, `bytes` or `boolean`; anything else is reported as declared.
    pub kind: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub columns: Vec<Column>,
    /// Explicitly created indexes (not those behind primary keys or UNIQUE constraints).
    pub indexes: Vec<String>,
}

impl Store {
    pub async fn schema(&self) -> Result<Schema, StoreError> {
        let (columns_sql, indexes_sql) = match self.backend() {
            Backend::Sqlite => (
                "SELECT m.name AS tbl, p.name AS col, p.type AS ty, p.\"notnull\" AS nn \
                 FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            ),
            Backend::Postgres => (
                "SELECT table_name::text AS tbl, column_name::text AS col, data_type::text AS ty, \
                 (CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END)::bigint AS nn \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
                "SELECT i.indexname::text AS name FROM pg_indexes i \
                 WHERE i.schemaname = current_schema() AND NOT EXISTS \
                 (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            ),
        };
        let mut columns = sqlx::query(columns_sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| {
                let ty: String = row.try_get("ty")?;
                Ok(Column {
                    table: row.try_get("tbl")?,
                    name: row.try_get("col")?,
                    kind: normalise(&ty),
                    nullable: row.try_get::<i64, _>("nn")? == 0,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        columns.sort();
        let mut indexes = sqlx::query(indexes_sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>("name"))
            .collect::<Result<Vec<_>, _>>()?;
        indexes.sort();
        Ok(Schema { columns, indexes })
    }
}

fn normalise(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "text" => "text".into(),
        "integer" | "bigint" => "integer".into(),
        "blob" | "bytea" => "bytes".into(),
        "boolean" => "boolean".into(),
        other => other.into(),
    }
}
