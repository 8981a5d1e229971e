//! Storage failures. Callers map them; none of these messages is sent to API clients.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl { scheme: String },
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("a record with the same unique value already exists")]
    Conflict,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database query failed")]
    Query(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Query(e),
        }
    }
}
