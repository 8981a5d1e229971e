//! Several nodes on one database. Two `keyway serve` processes: 1,000 concurrent passthrough requests on
//! an expired OAuth connection, split across them, cause exactly one token refresh (SQLite: two processes,
//! one file; Postgres with KEYWAY_TEST_DATABASE=postgres). Two applications on one Postgres schema share
//! each secret key's rate limit, and see a settings change made on either at once.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyway_crypto::master_key::MasterKey;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use support::fake_oauth::{FakeOAuth, CLIENT_ID, CLIENT_SECRET};
use support::process::{serve_process, ServeProcess};

fn start_node(
    db_url: &str,
    data_dir: &std::path::Path,
    master_key: &str,
    catalog: &std::path::Path,
) -> ServeProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyway"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KEYWAY_DATABASE_URL", db_url)
        .env("KEYWAY_DATA_DIR", data_dir)
        .env("KEYWAY_MASTER_KEY", master_key)
        .env("KEYWAY_CATALOG_DIR", catalog)
        .env("KEYWAY_REFRESH_SWEEP_SECONDS", "0");
    serve_process(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_refresh_under_a_thousand_concurrent_requests() {
    let fake = FakeOAuth::start().await;
    let db = keyway_testkit::fresh_database().await;
    let catalog = db.dir.path().join("catalog");
    fake.write_catalog(&catalog);
    let master_key = MasterKey::generate().to_base64().expose_secret().to_owned();
    // Keys: created on the database before the nodes start.
    let created = Command::new(env!("CARGO_BIN_EXE_keyway"))
        .args(["keys", "create", "--env", "test", "--json"])
        .env_clear()
        .env("KEYWAY_DATABASE_URL", &db.url)
        .env("KEYWAY_DATA_DIR", db.dir.path())
        .env("KEYWAY_MASTER_KEY", &master_key)
        .env("KEYWAY_CATALOG_DIR", &catalog)
        .output()
        .expect("keys create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let key = serde_json::from_slice::<Value>(&created.stdout).expect("json")["key"]
        .as_str()
        .expect("key")
        .to_owned();

    let (a, b) = tokio::task::spawn_blocking({
        let (url, dir, master_key, catalog) = (
            db.url.clone(),
            db.dir.path().to_path_buf(),
            master_key.clone(),
            catalog.clone(),
        );
        move || {
            (
                start_node(&url, &dir, &master_key, &catalog),
                start_node(&url, &dir, &master_key, &catalog),
            )
        }
    })
    .await
    .expect("nodes");

    // Connect through node A with a token that expires at once.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .patch(format!("{}/v1/integrations/oauthco", a.base))
        .header("x-pica-secret", &key)
        .json(&json!({"enabled": true, "oauthApp": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    let session: Value = http
        .post(format!("{}/v1/authkit", a.base))
        .header("x-pica-secret", &key)
        .json(&json!({"identity": "user_nodes", "identityType": "user"}))
        .send()
        .await
        .expect("authkit")
        .json()
        .await
        .expect("json");
    let started: Value = http
        .post(format!("{}/v1/authkit/oauth/start", a.base))
        .bearer_auth(session["sessionToken"].as_str().expect("token"))
        .json(&json!({"platform": "oauthco"}))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    fake.set_expires_in(1);
    let to_callback = http
        .get(started["authorizeUrl"].as_str().expect("url"))
        .send()
        .await
        .expect("authorize");
    let callback = to_callback.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let page = http
        .get(&callback)
        .send()
        .await
        .expect("callback")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Connected"), "{page}");
    fake.set_expires_in(3600);
    support::oauth_flow::outlive_a_one_second_token().await;
    let listed: Value = http
        .get(format!(
            "{}/v1/vault/connections?identity=user_nodes",
            b.base
        ))
        .header("x-pica-secret", &key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let connection_key = listed["rows"][0]["key"].as_str().expect("key").to_owned();
    assert_eq!(fake.refresh_calls(), 0);

    // 1,000 concurrent uses, alternating between the two processes.
    let client = reqwest::Client::new();
    let bases = Arc::new([a.base.clone(), b.base.clone()]);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (client, bases, key, connection_key) = (
            client.clone(),
            bases.clone(),
            key.clone(),
            connection_key.clone(),
        );
        tasks.spawn(async move {
            client
                .get(format!("{}/v1/passthrough/me", bases[i % 2]))
                .header("x-pica-secret", key)
                .header("x-pica-connection-key", connection_key)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        if r.expect("join").expect("request") == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1000, "every request succeeded");
    assert_eq!(
        fake.refresh_calls(),
        1,
        "exactly one refresh across two processes"
    );

    // Deleting the connection on node A stops node B, which has it cached, from using it at once: on
    // Postgres every change is announced to every node. (SQLite is one node by design: a second process
    // would keep its cached copy for up to the cache TTL, so this part runs on Postgres only.)
    if keyway_testkit::backend() == keyway_testkit::TestBackend::Postgres {
        let id = listed["rows"][0]["id"].as_str().expect("id");
        let deleted = http
            .delete(format!("{}/v1/vault/connections/{id}", a.base))
            .header("x-pica-secret", &key)
            .send()
            .await
            .expect("delete");
        assert_eq!(deleted.status(), 200);
        let started = Instant::now();
        loop {
            let status = client
                .get(format!("{}/v1/passthrough/me", b.base))
                .header("x-pica-secret", &key)
                .header("x-pica-connection-key", &connection_key)
                .send()
                .await
                .expect("request")
                .status();
            if status == 404 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "node B still served the deleted connection ({status}); the cache TTL is 5 s, so only the notification can make this pass"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_share_each_secret_keys_rate_limit() {
    if keyway_testkit::backend() != keyway_testkit::TestBackend::Postgres {
        // SQLite is one node by design: its buckets are in memory (tests/api.rs covers them).
        return;
    }
    // 40 a second: burst 80, leased in chunks of 2.
    let (per_second, burst, chunk) = (40_u32, 80_u32, 2_u32);
    let db = keyway_testkit::fresh_database().await;
    let config = keyway::config::Config {
        rate_limit_per_second: per_second,
        ..support::test_config(&db)
    };
    let a = support::spawn_with(db, config.clone()).await;
    let b = support::spawn_another_node(&a, config).await;

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let (client, url, key) = (
            a.client.clone(),
            [&a, &b][i % 2].url("/v1/vault/connections"),
            a.test_key.clone(),
        );
        tasks.spawn(async move {
            let r = client
                .get(url)
                .header("x-pica-secret", key)
                .send()
                .await
                .expect("request");
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            (r.status().as_u16(), retry_after)
        });
    }
    let (mut admitted, mut limited) = (0_u32, 0_u32);
    while let Some(done) = tasks.join_next().await {
        match done.expect("join") {
            (200, _) => admitted += 1,
            (429, Some(seconds)) if seconds >= 1 => limited += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    // Both nodes took their tokens from one bucket: at most the burst plus what refilled meanwhile (each
    // node alone would admit that much again), and at least the burst less what may be left unused (under
    // a chunk in the bucket, a chunk held by each node).
    let refill = (elapsed.as_secs_f64() * f64::from(per_second)).ceil();
    assert!(
        f64::from(admitted) <= f64::from(burst) + refill,
        "{admitted} admitted in {elapsed:?}; the shared limit allows {burst} + {refill}"
    );
    assert!(
        admitted >= burst - 3 * chunk,
        "{admitted} admitted in {elapsed:?}"
    );
    assert_eq!(admitted + limited, 400);

    // Another key has its own bucket, on both nodes; the limited key recovers once tokens refill.
    for node in [&a, &b] {
        assert_eq!(
            node.list_connections_with("", &a.live_key).await.status(),
            200
        );
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(b.list_connections("").await.status(), 200);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_on_one_postgres_node_applies_on_the_other_at_once() {
    if keyway_testkit::backend() != keyway_testkit::TestBackend::Postgres {
        // SQLite is one node by design; tests/actions.rs covers the change on the node that made it.
        return;
    }
    let fake = support::fake_platform::FakePlatform::start().await;
    let db = keyway_testkit::fresh_database().await;
    let catalog = db.dir.path().join("catalog");
    fake.write_catalog(&catalog);
    let config = keyway::config::Config {
        catalog_dir: Some(catalog),
        ..support::test_config(&db)
    };
    let a = support::spawn_with(db, config.clone()).await;
    let b = support::spawn_another_node(&a, config).await;
    let r = a
        .import_connection(
            &a.test_key,
            json!({"platform": "acme", "identity": "user_n", "identityType": "user",
            "authFormData": {"apiKey": support::fake_platform::GOOD_KEY}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let connection_key = r.json::<Value>().await.expect("json")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let pass = || {
        b.client
            .get(b.url("/v1/passthrough/echo"))
            .header("x-pica-secret", &b.test_key)
            .header("x-pica-connection-key", &connection_key)
            .send()
    };

    // Node B verifies the key (setting off) and caches it for 2 s from here.
    let warmed = Instant::now();
    assert_eq!(pass().await.expect("request").status(), 200);
    let r = a
        .patch_settings(&a.test_key, json!({"requireActionIds": true}))
        .await;
    assert_eq!(r.status(), 200);
    loop {
        let status = pass().await.expect("request").status();
        if status == 400 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            warmed.elapsed() < Duration::from_millis(1500),
            "node B still served without an action id; its key cache lives 2 s, so only the notification can make this pass"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    support::assert_error(pass().await.expect("request"), 400, "action_id_required").await;
    b.stop().await;
    a.stop().await;
}
