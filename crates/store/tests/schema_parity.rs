//! The SQLite and Postgres migrations must produce the same tables, columns, nullability and indexes.
//! Needs the test Postgres (KEYWAY_TEST_POSTGRES_URL, default local), whichever backend the suite runs on.

use keyway_store::{PoolSettings, Store};
use keyway_testkit::{fresh_postgres_schema, fresh_sqlite};

#[tokio::test]
async fn sqlite_and_postgres_schemas_are_equivalent() {
    let lite_db = fresh_sqlite();
    let pg_db = fresh_postgres_schema().await;
    let lite = Store::open(&lite_db.url, &PoolSettings::default())
        .await
        .expect("sqlite");
    let pg = Store::open(&pg_db.url, &PoolSettings::default())
        .await
        .expect("postgres");
    let (a, b) = (
        lite.schema().await.expect("sqlite schema"),
        pg.schema().await.expect("pg schema"),
    );
    assert!(
        a.columns
            .iter()
            .any(|c| c.table == "secret_keys" && c.name == "key_hash"),
        "{a:?}"
    );
    assert!(!a.indexes.is_empty());
    let only_sqlite: Vec<_> = a
        .columns
        .iter()
        .filter(|c| !b.columns.contains(c))
        .collect();
    let only_pg: Vec<_> = b
        .columns
        .iter()
        .filter(|c| !a.columns.contains(c))
        .collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schemas differ:\n  only in SQLite: {only_sqlite:#?}\n  only in Postgres: {only_pg:#?}"
    );
    assert_eq!(a.indexes, b.indexes, "index names differ");
}
