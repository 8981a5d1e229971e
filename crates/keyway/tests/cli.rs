//! The binary as an operator runs it: first start, restart, keys CLI, wrong master key, rotation,
//! configuration refusals, graceful shutdown, integrations and settings CLIs. Runs on SQLite, or Postgres with KEYWAY_TEST_DATABASE=postgres.

mod support;

use std::time::{Duration, Instant};

use keyway_crypto::master_key::MasterKey;
use keyway_testkit::{backend, fresh_database, TestBackend, TestDatabase};
use secrecy::ExposeSecret;
use std::process::{Command, Output};

use support::process::{
    get_status, keyway_command as keyway, run, serve, serve_process, stderr, stdout,
};

const BIN: &str = env!("CARGO_BIN_EXE_keyway");

fn key_file(db: &TestDatabase) -> std::path::PathBuf {
    match backend() {
        TestBackend::Postgres => db.dir.path().join("pg-master.key"),
        TestBackend::Sqlite => db.dir.path().join("data").join("master.key"),
    }
}

fn keys_in(text: &str) -> (String, String) {
    let find = |prefix: &str| {
        text.split_whitespace()
            .find(|w| w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} key in output:\n{text}"))
            .to_owned()
    };
    (find("sk_test_"), find("sk_live_"))
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_prints_keys_once_restart_keeps_them_and_sigterm_exits_cleanly() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        let server = serve(&db);
        let (test_key, live_key) = keys_in(&server.stdout());
        assert_eq!(
            get_status(&server.base, "/v1/vault/connections", Some(&test_key)),
            200
        );
        assert_eq!(
            get_status(&server.base, "/v1/vault/connections", Some(&live_key)),
            200
        );
        assert_eq!(get_status(&server.base, "/v1/vault/connections", None), 401);
        let (status, log) = server.terminate();
        assert!(status.success(), "exit {status}: {log}");
        assert!(log.contains("shutting down"), "{log}");

        let again = serve(&db);
        assert!(
            !again.stdout().contains("sk_test_"),
            "keys are printed only on the first start"
        );
        assert_eq!(
            get_status(&again.base, "/v1/vault/connections", Some(&test_key)),
            200
        );
        again.terminate();
        if backend() == TestBackend::Sqlite {
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(key_file(&db))
                    .expect("key file")
                    .permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "generated master key is private");
        }
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_cli_creates_lists_and_revokes_against_the_database() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        let created = run(keyway(&db).args(["keys", "create", "--env", "live", "--json"]));
        assert!(created.status.success(), "{}", stderr(&created));
        let json: serde_json::Value =
            serde_json::from_str(stdout(&created).trim()).expect("json output");
        let key = json["key"].as_str().expect("key").to_owned();
        assert!(key.starts_with("sk_live_"), "{json}");
        assert_eq!(json["environment"], "live");
        assert_eq!(json["project"], "default");
        assert!(
            stderr(&created).contains("sk_test_"),
            "an empty database's first-start keys are shown too"
        );

        let plain = run(keyway(&db).args(["keys", "create", "--env", "test", "--project", "acme"]));
        assert!(plain.status.success(), "{}", stderr(&plain));
        assert!(stdout(&plain).trim().starts_with("sk_test_"));

        let listed = run(keyway(&db).args(["keys", "list", "--json"]));
        let rows: serde_json::Value =
            serde_json::from_str(stdout(&listed).trim()).expect("json list");
        let rows = rows.as_array().expect("array");
        assert_eq!(
            rows.len(),
            4,
            "two first-start keys + two created: {rows:?}"
        );
        assert!(!stdout(&listed).contains(&key), "listings never show keys");
        let id = json["id"].as_str().expect("id");

        let server = serve(&db);
        assert_eq!(
            get_status(&server.base, "/v1/vault/connections", Some(&key)),
            200
        );
        let revoked = run(keyway(&db).args(["keys", "revoke", id]));
        assert!(revoked.status.success(), "{}", stderr(&revoked));
        // Another process revoked it: the server stops accepting it within its auth cache TTL (2 s).
        let started = Instant::now();
        while get_status(&server.base, "/v1/vault/connections", Some(&key)) != 401 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "revocation never took effect"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server.terminate();

        let table = run(keyway(&db).args(["keys", "list", "--project", "acme"]));
        assert_eq!(
            stdout(&table).lines().count(),
            2,
            "header + acme's key:\n{}",
            stdout(&table)
        );
        let again = run(keyway(&db).args(["keys", "revoke", id]));
        assert!(!again.status.success());
        assert!(
            stderr(&again).contains("not found or already revoked"),
            "{}",
            stderr(&again)
        );
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_master_key_refuses_to_start_and_says_why() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        assert!(run(keyway(&db).arg("migrate")).status.success());
        let wrong = MasterKey::generate();
        let out = run(keyway(&db)
            .env("KEYWAY_MASTER_KEY", wrong.to_base64().expose_secret())
            .arg("serve"));
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("wrong master key") && err.contains(wrong.id()),
            "{err}"
        );
        assert!(
            !err.contains(wrong.to_base64().expose_secret()),
            "the key itself is never printed"
        );
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn master_key_rotate_rewraps_everything_and_everything_still_opens() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        let created = run(keyway(&db).args(["keys", "create", "--env", "test", "--json"]));
        let key = serde_json::from_str::<serde_json::Value>(stdout(&created).trim()).expect("json")
            ["key"]
            .as_str()
            .expect("key")
            .to_owned();
        let before = std::fs::read_to_string(key_file(&db)).expect("key file");

        let rotated = run(keyway(&db).args(["master-key", "rotate"]));
        assert!(rotated.status.success(), "{}", stderr(&rotated));
        assert!(
            stdout(&rotated).contains("re-wrapped 1 sealed value"),
            "{}",
            stdout(&rotated)
        );
        let after = std::fs::read_to_string(key_file(&db)).expect("key file");
        assert_ne!(before, after);
        let keys_after: Vec<&str> = after.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            keys_after.len(),
            1,
            "old key removed after a complete rotation"
        );

        // The server starts with the new key alone and every secret still opens (the key hash pepper
        // is sealed: if it did not open, no key would authenticate).
        let server = serve(&db);
        assert_eq!(
            get_status(&server.base, "/v1/vault/connections", Some(&key)),
            200
        );
        server.terminate();

        // The old key alone is now refused.
        let old_key = before
            .lines()
            .find(|l| !l.starts_with('#'))
            .expect("old key");
        let out = run(keyway(&db)
            .env_remove("KEYWAY_MASTER_KEY_FILE")
            .env("KEYWAY_MASTER_KEY", old_key)
            .arg("migrate"));
        assert!(!out.status.success(), "{}", stdout(&out));
    })
    .await
    .expect("join");
}

#[test]
fn configuration_mistakes_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let run_in = |args: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.env_clear().current_dir(dir.path()).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().expect("run")
    };
    let out = run_in(
        &["migrate"],
        &[("KEYWAY_DATABASE_URL", "mysql://root:hunter2@localhost/k")],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unsupported database URL scheme \"mysql\""),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    let out = run_in(
        &["migrate"],
        &[(
            "KEYWAY_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/none",
        )],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("PostgreSQL needs an explicit master key"),
        "{}",
        stderr(&out)
    );

    let out = run_in(&["migrate"], &[("KEYWAY_MASTER_KEY", "not-a-key")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("KEYWAY_MASTER_KEY is invalid"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        dir.path().join("keyway.toml"),
        "listen = \"127.0.0.1:1\"\ndatabse_url = \"x\"\n",
    )
    .expect("write");
    let out = run_in(&["migrate"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("databse_url"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn integrations_cli_enables_disables_and_stores_an_oauth_app() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        let secret_file = db.dir.path().join("client-secret");
        std::fs::write(&secret_file, "gh-client-secret-value-9876\n").expect("write");
        let out = run(keyway(&db).args(["integrations", "enable", "slack", "--env", "test"]));
        assert!(out.status.success(), "{}", stderr(&out));
        let out = run(keyway(&db)
            .args([
                "integrations",
                "oauth-app",
                "github",
                "--env",
                "live",
                "--client-id",
                "Iv1.abc",
            ])
            .arg("--client-secret-file")
            .arg(&secret_file)
            .args(["--scopes", "repo,read:user"]));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("/connections/oauth/callback"),
            "{}",
            stdout(&out)
        );

        let list = run(keyway(&db).args([
            "integrations",
            "list",
            "--env",
            "test",
            "--enabled",
            "--json",
        ]));
        let rows: serde_json::Value = serde_json::from_str(stdout(&list).trim()).expect("json");
        assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
        assert_eq!(rows[0]["platform"], "slack");

        let live = run(keyway(&db).args(["integrations", "list", "--env", "live", "--json"]));
        let text = stdout(&live);
        assert!(
            !text.contains("gh-client-secret-value-9876"),
            "secrets are never printed"
        );
        let rows: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
        let github = rows
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["platform"] == "github")
            .expect("github")
            .clone();
        assert_eq!(github["oauthApp"]["clientId"], "Iv1.abc");
        assert_eq!(github["oauthApp"]["clientSecretDisplay"], "••••••••9876");
        assert_eq!(github["oauthApp"]["scopes"], "repo read:user");
        assert_eq!(
            github["enabled"], false,
            "an OAuth app does not enable the integration"
        );

        let out = run(keyway(&db).args(["integrations", "disable", "slack", "--env", "test"]));
        assert!(out.status.success());
        let list = run(keyway(&db).args([
            "integrations",
            "list",
            "--env",
            "test",
            "--enabled",
            "--json",
        ]));
        assert_eq!(stdout(&list).trim(), "[]");

        let out = run(keyway(&db).args([
            "integrations",
            "enable",
            "no-such-platform",
            "--env",
            "test",
        ]));
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("no-such-platform"),
            "{}",
            stderr(&out)
        );
    })
    .await
    .expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_cli_shows_and_sets_each_environment_and_a_running_server_follows() {
    let fake = support::fake_platform::FakePlatform::start().await;
    let db = fresh_database().await;
    let catalog = db.dir.path().join("catalog");
    fake.write_catalog(&catalog);
    tokio::task::spawn_blocking(move || {
        let settings = |args: &[&str]| {
            let mut cmd = keyway(&db);
            cmd.env("KEYWAY_CATALOG_DIR", &catalog).arg("settings").args(args);
            run(&mut cmd)
        };
        let json_of = |out: &Output| -> serde_json::Value {
            assert!(out.status.success(), "{}", stderr(out));
            serde_json::from_str(stdout(out).trim()).expect("json output")
        };

        let shown = settings(&["show", "--json"]);
        let (test_key, _) = keys_in(&stderr(&shown));
        assert_eq!(
            json_of(&shown),
            serde_json::json!([
                {"environment": "test", "requireActionIds": false},
                {"environment": "live", "requireActionIds": false},
            ])
        );
        let out = settings(&["set", "--env", "test", "--require-action-ids", "true"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("now requires an action id (test, project \"default\")"),
            "{}",
            stdout(&out)
        );
        assert_eq!(
            json_of(&settings(&["show", "--env", "test", "--json"])),
            serde_json::json!([{"environment": "test", "requireActionIds": true}])
        );
        let table = stdout(&settings(&["show"]));
        assert!(table.contains("test   on"), "{table}");
        assert!(table.contains("live   off"), "{table}");

        for (args, says) in [
            (&["set", "--env", "live"][..], "--require-action-ids"),
            (
                &["set", "--env", "live", "--require-action-ids", "maybe"][..],
                "maybe",
            ),
            (&["show", "--project", "nope"][..], "nope"),
        ] {
            let out = settings(args);
            assert!(!out.status.success(), "{args:?} succeeded");
            assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        }
        assert_eq!(
            json_of(&settings(&["show", "--env", "live", "--json"]))[0]["requireActionIds"],
            false,
            "refused commands changed nothing"
        );

        // A server started now enforces what the CLI stored, and follows a change the CLI makes while it
        // runs: at once on Postgres (notified), within its 2 s key cache on SQLite.
        let mut command = keyway(&db);
        command.env("KEYWAY_CATALOG_DIR", &catalog);
        let server = serve_process(command);
        let http = reqwest::blocking::Client::new();
        let imported = http
            .post(format!("{}/v1/vault/connections", server.base))
            .header("x-pica-secret", &test_key)
            .json(&serde_json::json!({"platform": "acme", "identity": "user_c",
                "identityType": "user", "authFormData": {"apiKey": support::fake_platform::GOOD_KEY}}))
            .send()
            .expect("import");
        assert_eq!(imported.status(), 201);
        let connection_key = imported.json::<serde_json::Value>().expect("json")["key"]
            .as_str()
            .expect("key")
            .to_owned();
        let pass = || {
            http.get(format!("{}/v1/passthrough/echo", server.base))
                .header("x-pica-secret", &test_key)
                .header("x-pica-connection-key", &connection_key)
                .send()
                .expect("passthrough")
        };
        let refused = pass();
        let cached = Instant::now();
        assert_eq!(refused.status(), 400);
        let body: serde_json::Value = refused.json().expect("json");
        assert_eq!(body["code"], "action_id_required", "{body}");

        let off = settings(&[
            "set",
            "--env",
            "test",
            "--require-action-ids",
            "false",
            "--json",
        ]);
        assert_eq!(
            json_of(&off),
            serde_json::json!({"environment": "test", "requireActionIds": false})
        );
        let within = match backend() {
            TestBackend::Postgres => Duration::from_millis(1500),
            TestBackend::Sqlite => Duration::from_secs(4),
        };
        loop {
            let status = pass().status().as_u16();
            if status == 200 {
                break;
            }
            assert_eq!(status, 400);
            assert!(
                cached.elapsed() < within,
                "the server still requires action ids {:?} after the CLI turned them off",
                cached.elapsed()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let answered = pass();
        let request_id = answered.headers()["x-request-id"]
            .to_str()
            .expect("request id")
            .to_owned();
        let (_, log) = server.terminate();
        // One line per passthrough request, naming the connection and platform it used; never the key.
        let lines: Vec<serde_json::Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["span"]["request_id"] == request_id.as_str())
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["message"], "request finished");
        assert_eq!(lines[0]["span"]["platform"], "acme");
        assert!(
            lines[0]["span"]["connection"]
                .as_str()
                .is_some_and(|c| c.starts_with("conn_")),
            "{}",
            lines[0]
        );
        assert!(!log.contains(connection_key.as_str()) && !log.contains(test_key.as_str()));
    })
    .await
    .expect("join");
}

#[test]
fn catalog_check_passes_the_builtin_catalog_and_names_file_and_field_of_each_problem() {
    let ok = Command::new(BIN)
        .args(["catalog", "check"])
        .env_clear()
        .output()
        .expect("run");
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("catalog OK"), "{}", stdout(&ok));

    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(dir.path().join("platforms")).expect("mkdir");
    std::fs::write(
        dir.path().join("platforms/broken.toml"),
        "slug = \"broken\"\nname = \"Broken\"\ncategory = \"x\"\ndescription = \"x\"\nlogo = \"missing.svg\"\n\
         docs_url = \"https://example.com\"\nbase_url = \"ftp://example.com\"\n[auth]\nkind = \"api_key\"\n",
    )
    .expect("write");
    let bad = Command::new(BIN)
        .args(["catalog", "check", "--dir"])
        .arg(dir.path())
        .env_clear()
        .output()
        .expect("run");
    assert!(!bad.status.success());
    let out = stdout(&bad);
    assert!(
        out.contains("broken.toml") && out.contains("base_url"),
        "{out}"
    );
    assert!(out.contains("logo"), "{out}");

    // A server refuses to start on a broken custom catalog, saying why.
    let data = tempfile::tempdir().expect("dir");
    let serve = Command::new(BIN)
        .args(["migrate"])
        .env_clear()
        .env("KEYWAY_DATA_DIR", data.path())
        .env("KEYWAY_CATALOG_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!serve.status.success());
    assert!(stderr(&serve).contains("broken.toml"), "{}", stderr(&serve));
}
