//! The store contract: every test here runs on SQLite, and on Postgres with KEYWAY_TEST_DATABASE=postgres.

use keyway_core::environment::Environment;
use keyway_core::id::{ProjectId, SecretKeyId};
use keyway_core::project::{Project, ProjectSettings, SecretKeyRecord};
use keyway_core::timestamp::Timestamp;
use keyway_crypto::envelope::{seal, Aad};
use keyway_crypto::keyring::Keyring;
use keyway_crypto::master_key::MasterKey;
use keyway_store::error::StoreError;
use keyway_store::sealed::SealedRow;
use keyway_store::secret_keys::NewSecretKey;
use keyway_store::{PoolSettings, Store};
use keyway_testkit::{fresh_database, TestDatabase};

async fn store() -> (Store, TestDatabase) {
    let db = fresh_database().await;
    let store = Store::open(&db.url, &PoolSettings::default())
        .await
        .expect("open store");
    (store, db)
}

fn project(name: &str) -> Project {
    Project {
        id: ProjectId::generate(),
        name: name.into(),
        created_at: Timestamp::now(),
    }
}

fn key(project: &Project, env: Environment, hash: &str) -> NewSecretKey {
    NewSecretKey {
        record: SecretKeyRecord {
            id: SecretKeyId::generate(),
            project_id: project.id.clone(),
            environment: env,
            hint: "sk_test_…abcd".into(),
            name: None,
            created_at: Timestamp::now(),
            revoked_at: None,
            last_used_at: None,
        },
        key_hash: hash.into(),
    }
}

#[tokio::test]
async fn migrating_twice_is_harmless() {
    let (store, db) = store().await;
    store.migrate().await.expect("second migrate");
    let again = Store::open(&db.url, &PoolSettings::default())
        .await
        .expect("reopen");
    again.ping().await.expect("ping");
}

#[tokio::test]
async fn bootstrap_creates_the_default_project_exactly_once_under_concurrency() {
    let (store, _db) = store().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let p = project("default");
            let keys = [
                key(&p, Environment::Test, &format!("hash-t-{i}")),
                key(&p, Environment::Live, &format!("hash-l-{i}")),
            ];
            store.bootstrap_project(&p, &keys).await.expect("bootstrap")
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.expect("join") {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_projects().await.expect("list").len(), 1);
    assert_eq!(store.list_secret_keys(None).await.expect("keys").len(), 2);
}

#[tokio::test]
async fn secret_keys_are_found_by_hash_listed_per_project_and_revoked_once() {
    let (store, _db) = store().await;
    let a = project("a");
    let b = project("b");
    store.create_project(&a, None).await.expect("a");
    store.create_project(&b, None).await.expect("b");
    assert!(matches!(
        store.create_project(&project("a"), None).await,
        Err(StoreError::Conflict)
    ));

    let ka = key(&a, Environment::Live, "hash-a");
    store.insert_secret_key(&ka, None).await.expect("insert a");
    store
        .insert_secret_key(&key(&b, Environment::Test, "hash-b"), None)
        .await
        .expect("insert b");
    assert!(matches!(
        store
            .insert_secret_key(&key(&b, Environment::Test, "hash-a"), None)
            .await,
        Err(StoreError::Conflict)
    ));

    let found = store
        .secret_key_by_hash("hash-a")
        .await
        .expect("query")
        .expect("found");
    assert_eq!(found.record, ka.record);
    assert_eq!(found.key_hash, "hash-a");
    assert!(store
        .secret_key_by_hash("hash-zzz")
        .await
        .expect("query")
        .is_none());

    let only_a = store.list_secret_keys(Some(&a.id)).await.expect("list");
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].id, ka.record.id);
    assert_eq!(store.list_secret_keys(None).await.expect("list").len(), 2);

    let at = Timestamp::now();
    assert!(store
        .revoke_secret_key(&ka.record.id, at, None)
        .await
        .expect("revoke"));
    assert!(!store
        .revoke_secret_key(&ka.record.id, at, None)
        .await
        .expect("revoke again"));
    let revoked = store
        .secret_key_by_hash("hash-a")
        .await
        .expect("q")
        .expect("still stored");
    assert_eq!(revoked.record.revoked_at, Some(at));
}

#[tokio::test]
async fn project_settings_default_off_are_per_environment_and_come_with_the_key() {
    let (store, _db) = store().await;
    let a = project("a");
    let b = project("b");
    store.create_project(&a, None).await.expect("a");
    store.create_project(&b, None).await.expect("b");
    let a_test = key(&a, Environment::Test, "hash-a-test");
    let a_live = key(&a, Environment::Live, "hash-a-live");
    let b_test = key(&b, Environment::Test, "hash-b-test");
    for k in [&a_test, &a_live, &b_test] {
        store.insert_secret_key(k, None).await.expect("insert");
    }
    let required = |on| ProjectSettings {
        require_action_ids: on,
    };
    let with_key = |hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .secret_key_with_settings(hash)
                .await
                .expect("query")
                .expect("found")
        }
    };

    assert_eq!(
        store
            .project_settings(&a.id, Environment::Test)
            .await
            .expect("read"),
        ProjectSettings::default()
    );
    let (found, settings) = with_key("hash-a-test").await;
    assert_eq!(found.record, a_test.record);
    assert_eq!(settings, required(false), "no row: the defaults");

    store
        .put_project_settings(
            &a.id,
            Environment::Test,
            &required(true),
            Timestamp::now(),
            None,
        )
        .await
        .expect("put");
    assert_eq!(
        store
            .project_settings(&a.id, Environment::Test)
            .await
            .expect("read"),
        required(true)
    );
    for (project, env) in [(&a, Environment::Live), (&b, Environment::Test)] {
        assert_eq!(
            store
                .project_settings(&project.id, env)
                .await
                .expect("read"),
            required(false),
            "{} {env} is untouched",
            project.name
        );
    }
    assert_eq!(with_key("hash-a-test").await.1, required(true));
    assert_eq!(with_key("hash-a-live").await.1, required(false));
    assert_eq!(with_key("hash-b-test").await.1, required(false));
    assert!(store
        .secret_key_with_settings("hash-zzz")
        .await
        .expect("query")
        .is_none());

    // Writing again replaces the row (an upsert), in both directions.
    store
        .put_project_settings(
            &a.id,
            Environment::Test,
            &required(false),
            Timestamp::now(),
            None,
        )
        .await
        .expect("put off");
    assert_eq!(with_key("hash-a-test").await.1, required(false));
    store
        .put_project_settings(
            &a.id,
            Environment::Test,
            &required(true),
            Timestamp::now(),
            None,
        )
        .await
        .expect("put on again");
    assert_eq!(with_key("hash-a-test").await.1, required(true));

    // A revoked key still reports its settings; refusing it is the caller's job.
    assert!(store
        .revoke_secret_key(&a_test.record.id, Timestamp::now(), None)
        .await
        .expect("revoke"));
    let (revoked, settings) = with_key("hash-a-test").await;
    assert!(revoked.record.revoked_at.is_some());
    assert_eq!(settings, required(true));
}

#[tokio::test]
async fn sealed_values_round_trip_and_rotation_queries_work() {
    let (store, _db) = store().await;
    let old = Keyring::new(vec![MasterKey::generate()]).expect("ring");
    let now = Timestamp::now();
    for i in 0..5 {
        let id = format!("v{i}");
        let aad = Aad::new("test", "server", &id);
        let row = SealedRow {
            blob: seal(&old, &aad, format!("secret {i}").as_bytes()),
            id,
            scope: "server".into(),
            purpose: "test".into(),
        };
        assert!(store
            .insert_sealed_if_absent(&row, now)
            .await
            .expect("insert"));
        assert!(!store
            .insert_sealed_if_absent(&row, now)
            .await
            .expect("insert again"));
    }
    let read = store.sealed("v3").await.expect("q").expect("exists");
    assert_eq!(read.scope, "server");
    assert_eq!(read.blob.key_id(), old.primary().id());
    assert!(store.sealed("nope").await.expect("q").is_none());

    let usage = store.sealed_key_usage().await.expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].rows, 5);

    let new = MasterKey::generate();
    let new_id = new.id().to_owned();
    let page1 = store.sealed_not_under(&new_id, "", 3).await.expect("page");
    assert_eq!(
        page1.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["v0", "v1", "v2"]
    );
    let page2 = store
        .sealed_not_under(&new_id, "v2", 3)
        .await
        .expect("page");
    assert_eq!(page2.len(), 2);

    // Compare-and-swap: a stale expected blob does not overwrite.
    let other = seal(&old, &Aad::new("test", "server", "v0"), b"other");
    assert!(!store
        .replace_sealed_blob("v0", &other, &other, now)
        .await
        .expect("cas"));
    assert!(store
        .replace_sealed_blob("v0", &page1[0].blob, &other, now)
        .await
        .expect("cas"));
    assert_eq!(
        store.sealed("v0").await.expect("q").expect("row").blob,
        other
    );

    assert!(store.delete_sealed("v4").await.expect("delete"));
    assert!(!store.delete_sealed("v4").await.expect("delete again"));

    let replaced = SealedRow {
        id: "v1".into(),
        scope: "server".into(),
        purpose: "test".into(),
        blob: other.clone(),
    };
    store.put_sealed(&replaced, now).await.expect("put");
    assert_eq!(
        store.sealed("v1").await.expect("q").expect("row").blob,
        other
    );
}

#[tokio::test]
async fn master_key_fingerprints_are_remembered_once_and_unused_ones_forgotten() {
    let (store, _db) = store().await;
    let now = Timestamp::now();
    store
        .remember_master_key("aaaa", "fp-a", now)
        .await
        .expect("remember");
    store
        .remember_master_key("aaaa", "fp-other", now)
        .await
        .expect("idempotent");
    store
        .remember_master_key("bbbb", "fp-b", now)
        .await
        .expect("remember b");
    let known = store.known_master_keys().await.expect("known");
    assert_eq!(known.len(), 2);
    assert_eq!(
        known
            .iter()
            .find(|k| k.key_id == "aaaa")
            .map(|k| k.fingerprint.as_str()),
        Some("fp-a")
    );
    assert_eq!(
        store
            .forget_unused_master_keys("bbbb")
            .await
            .expect("forget"),
        1
    );
    let known = store.known_master_keys().await.expect("known");
    assert_eq!(
        known.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(),
        ["bbbb"]
    );
}

#[tokio::test]
async fn rate_limit_buckets_start_full_refill_on_the_database_clock_and_cap_at_the_burst() {
    let (store, _db) = store().await;
    // 1 token a second, burst 2: a new bucket gives its burst, then nothing until a second has passed.
    let first = store
        .lease_rate_limit_tokens("key_a", 1, 2, 5)
        .await
        .expect("lease");
    assert_eq!((first.granted, first.milli_tokens_left), (2, 0));
    let empty = store
        .lease_rate_limit_tokens("key_a", 1, 2, 5)
        .await
        .expect("lease");
    assert_eq!(empty.granted, 0);
    assert!(empty.milli_tokens_left < 1000, "{empty:?}");
    // Another key has its own bucket.
    let other = store
        .lease_rate_limit_tokens("key_b", 1, 2, 1)
        .await
        .expect("lease");
    assert_eq!((other.granted, other.milli_tokens_left), (1, 1000));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let refilled = store
        .lease_rate_limit_tokens("key_a", 1, 2, 5)
        .await
        .expect("lease");
    assert!((1..=2).contains(&refilled.granted), "{refilled:?}");

    // 1,000 a second, burst 5: 50 ms would refill 50 tokens, but a bucket never holds more than its burst.
    let drained = store
        .lease_rate_limit_tokens("key_c", 1000, 5, 100)
        .await
        .expect("lease");
    assert_eq!((drained.granted, drained.milli_tokens_left), (5, 0));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let capped = store
        .lease_rate_limit_tokens("key_c", 1000, 5, 100)
        .await
        .expect("lease");
    assert_eq!((capped.granted, capped.milli_tokens_left), (5, 0));
}

#[tokio::test]
async fn concurrent_rate_limit_leases_never_take_more_than_the_bucket_holds() {
    let (store, _db) = store().await;
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let store = store.clone();
        tasks.spawn(async move { store.lease_rate_limit_tokens("key_race", 1, 10, 1).await });
    }
    let mut granted = 0;
    while let Some(lease) = tasks.join_next().await {
        granted += lease.expect("join").expect("lease").granted;
    }
    // The burst, plus at most one token per second the race took to refill.
    let refill = u32::try_from(started.elapsed().as_secs()).expect("seconds");
    assert!(
        (10..=10 + refill).contains(&granted),
        "granted {granted} in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn request_log_batches_of_any_size_round_trip_through_the_pool_and_the_writer() {
    use keyway_store::connections::Window;
    use keyway_store::request_logs::{RequestLog, RequestLogFilter};
    let (store, _db) = store().await;
    let p = project("logs");
    store.create_project(&p, None).await.expect("project");
    let entry = |i: usize| RequestLog {
        id: format!("log_{i:05}"),
        project_id: p.id.clone(),
        environment: Environment::Test,
        request_id: format!("req_{i}"),
        connection_id: "conn_1".into(),
        connection_key: "test::acme::default::abc".into(),
        platform: "acme".into(),
        action_id: i.is_multiple_of(2).then(|| format!("conn_mod_def::{i}")),
        method: "POST".into(),
        path: format!("/items/{i}?q=&limit="),
        status: 200 + (i % 3) as u16,
        latency_ms: i as i64,
        bytes_in: 10 * i as i64,
        bytes_out: 100 * i as i64,
        created_at: Timestamp::from_unix_millis(1_700_000_000_000 + i as i64),
    };
    // On SQLite a batch is one statement for the next power of two rows, the rest left NULL and dropped;
    // over 512 rows it is split in one transaction. 600 rows through the pool (512, then 88 in a 128-row
    // statement); through the writer 150 then 130 (the same 256-row statement twice: nothing of the first
    // binding may linger), one more (no padding), then an empty batch.
    let pooled: Vec<RequestLog> = (0..600).map(entry).collect();
    store
        .insert_request_logs(&pooled)
        .await
        .expect("pool insert");
    let mut writer = store.request_log_writer().await.expect("writer");
    let written: Vec<RequestLog> = (600..750).map(entry).collect();
    writer.insert(&written).await.expect("writer insert");
    let again: Vec<RequestLog> = (750..880).map(entry).collect();
    writer.insert(&again).await.expect("writer insert again");
    writer.insert(&[entry(880)]).await.expect("one row");
    writer.insert(&[]).await.expect("empty batch");
    writer.close().await;

    let (rows, total) = store
        .list_request_logs(
            &p.id,
            Environment::Test,
            &RequestLogFilter::default(),
            Window {
                skip: 0,
                limit: 1000,
            },
        )
        .await
        .expect("list");
    assert_eq!(total, 881, "every row once, no padding rows");
    let mut expected: Vec<RequestLog> = (0..881).map(entry).collect();
    expected.reverse(); // newest first
    assert_eq!(
        rows, expected,
        "every field of every row comes back as written"
    );
    let (_, live) = store
        .list_request_logs(
            &p.id,
            Environment::Live,
            &RequestLogFilter::default(),
            Window { skip: 0, limit: 10 },
        )
        .await
        .expect("live");
    assert_eq!(live, 0);
}

#[tokio::test]
async fn an_oauth_result_is_kept_once_for_its_session_until_it_expires() {
    let (store, _db) = store().await;
    let now = Timestamp::now();
    let later = now.plus_seconds(900);
    assert_eq!(
        store.oauth_result("att_1", "ses_a", now).await.expect("q"),
        None
    );
    store
        .put_oauth_result("att_1", "ses_a", r#"{"ok":true}"#, now, later)
        .await
        .expect("put");
    // The first outcome stands; a second write for the same attempt changes nothing.
    store
        .put_oauth_result("att_1", "ses_a", r#"{"ok":false}"#, now, later)
        .await
        .expect("put again");
    assert_eq!(
        store
            .oauth_result("att_1", "ses_a", now)
            .await
            .expect("q")
            .as_deref(),
        Some(r#"{"ok":true}"#)
    );
    // Another session cannot read it, and nobody can once it has expired.
    assert_eq!(
        store.oauth_result("att_1", "ses_b", now).await.expect("q"),
        None
    );
    assert_eq!(
        store
            .oauth_result("att_1", "ses_a", later.plus_seconds(1))
            .await
            .expect("q"),
        None
    );
    // Expired rows are cleared by the next write.
    store
        .put_oauth_result(
            "att_2",
            "ses_a",
            "{}",
            later.plus_seconds(1),
            later.plus_seconds(900),
        )
        .await
        .expect("put");
    assert_eq!(
        store.oauth_result("att_1", "ses_a", now).await.expect("q"),
        None,
        "att_1 expired at `later` and was deleted"
    );
}
