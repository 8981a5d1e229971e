//! Fresh databases for tests. `KEYWAY_TEST_DATABASE=postgres` runs the suite on Postgres (one new schema
//! per test in the database named by `KEYWAY_TEST_POSTGRES_URL`); anything else, or unset, on SQLite
//! (one new file per test). The same tests run on both: that is the store contract.

use sqlx::Connection;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/keyway_test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

pub fn backend() -> TestBackend {
    match std::env::var("KEYWAY_TEST_DATABASE").as_deref() {
        Ok("postgres") => TestBackend::Postgres,
        _ => TestBackend::Sqlite,
    }
}

pub fn postgres_url() -> String {
    std::env::var("KEYWAY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A database that exists for one test. Keep it alive as long as the test uses the URL.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    /// Directory for files the test needs beside the database (SQLite file, key files).
    pub dir: tempfile::TempDir,
}

pub async fn fresh_database() -> TestDatabase {
    match backend() {
        TestBackend::Sqlite => fresh_sqlite(),
        TestBackend::Postgres => fresh_postgres_schema().await,
    }
}

pub fn fresh_sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("keyway.db").display()
    );
    TestDatabase { url, dir }
}

/// A new, empty schema in the test Postgres database; the URL selects it through `search_path`.
pub async fn fresh_postgres_schema() -> TestDatabase {
    let base = postgres_url();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap_or_else(|e| {
        panic!("cannot reach the test Postgres at {base} ({e}); start it or set KEYWAY_TEST_POSTGRES_URL")
    });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let _ = conn.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    TestDatabase {
        url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        dir: tempfile::tempdir().expect("temp dir"),
    }
}
