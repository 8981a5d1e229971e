//! `keyway admin` and the setup link `keyway serve` prints: one-time links on the command line, never a
//! password. Runs on SQLite, or Postgres with KEYWAY_TEST_DATABASE=postgres.

mod support;

use keyway_testkit::fresh_database;
use support::process::{get_status, keyway_command as keyway, run, serve, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_a_setup_link_until_an_account_exists_and_admin_prints_one_time_links() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        let first = serve(&db);
        let printed = first.stdout();
        let setup = printed
            .split_whitespace()
            .find(|w| w.contains("/dashboard/setup?token=kwl_"))
            .unwrap_or_else(|| panic!("no setup link:\n{printed}"))
            .to_owned();
        assert!(
            setup.starts_with(&first.base),
            "{setup} is on the public URL"
        );
        assert_eq!(
            get_status(&first.base, &setup[first.base.len()..], None),
            200
        );
        first.terminate();

        let created = run(keyway(&db).args([
            "admin",
            "create",
            "--email",
            "Dev@Example.com",
            "--role",
            "viewer",
        ]));
        assert!(created.status.success(), "{}", stderr(&created));
        let link = stdout(&created).trim().to_owned();
        assert!(link.contains("/dashboard/password?token=kwl_"), "{link}");
        assert!(
            stderr(&created).contains("viewer account dev@example.com"),
            "{}",
            stderr(&created)
        );
        let listed = run(keyway(&db).args(["admin", "list", "--json"]));
        let rows: serde_json::Value = serde_json::from_str(stdout(&listed).trim()).expect("json");
        assert_eq!(rows[0]["email"], "dev@example.com");
        assert_eq!(rows[0]["role"], "viewer");
        assert_eq!(rows[0]["passwordSet"], false);

        // An account exists: no new setup link; the printed password link works on the server.
        let second = serve(&db);
        assert!(
            !second.stdout().contains("/dashboard/setup"),
            "{}",
            second.stdout()
        );
        let path = &link[link.find("/dashboard/").expect("path")..];
        assert_eq!(get_status(&second.base, path, None), 200);
        second.terminate();

        let unknown =
            run(keyway(&db).args(["admin", "reset-password", "--email", "nobody@example.com"]));
        assert!(!unknown.status.success());
        assert!(
            stderr(&unknown).contains("No account has that email address"),
            "{}",
            stderr(&unknown)
        );
        let bad_role = run(keyway(&db).args([
            "admin",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "root",
        ]));
        assert!(!bad_role.status.success());
        assert!(
            stderr(&bad_role).contains("owner, admin, viewer"),
            "{}",
            stderr(&bad_role)
        );
        let reset =
            run(keyway(&db).args(["admin", "reset-password", "--email", "dev@example.com"]));
        assert!(reset.status.success(), "{}", stderr(&reset));
        assert!(stdout(&reset).contains("/dashboard/password?token=kwl_"));
        assert_ne!(stdout(&reset).trim(), link, "a new link");
    })
    .await
    .expect("join");
}
