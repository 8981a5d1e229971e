//! The dashboard's doors: the first owner's setup link, signing in and out, sessions, roles, CSRF,
//! throttling and the headers every page carries. Real HTTP against the real app, on either store.

mod support;

use keyway_core::operator::Role;
use support::dashboard::{account_with_role, between, first_owner, Browser, OWNER_EMAIL, PASSWORD};
use support::spawn_app;

#[tokio::test]
async fn the_setup_link_creates_the_first_owner_once() {
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a setup link while no account exists");
    let mut b = Browser::new(&app);

    // Nothing signs in before the owner exists; pages send you to sign in.
    let page = b.get("/dashboard").await;
    assert_eq!(page.status, 303);
    assert!(page
        .location()
        .unwrap_or("")
        .starts_with("/dashboard/sign-in"));

    let form = b.get(&format!("/dashboard/setup?token={token}")).await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    // Without the form's CSRF token: refused, nothing created.
    let forged = b
        .post(
            "/dashboard/setup",
            &[
                ("token", &token),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // A weak password: explained, nothing created, the link still works.
    let weak = b
        .post(
            "/dashboard/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("email", OWNER_EMAIL),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(
        weak.body.contains("at least 12 characters"),
        "{}",
        weak.body
    );
    assert_eq!(app.broker.operators().await.expect("operators").len(), 0);

    let done = b
        .post(
            "/dashboard/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("email", " Owner@Example.com "),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let session_cookie = done
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("keyway_session="))
        .expect("session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/dashboard",
        "Max-Age=604800",
    ] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
    }
    assert!(
        !session_cookie.contains("Secure"),
        "http public URL: no Secure flag"
    );
    let operators = app.broker.operators().await.expect("operators");
    assert_eq!(operators.len(), 1);
    assert_eq!(
        (operators[0].email.as_str(), operators[0].role),
        (OWNER_EMAIL, Role::Owner)
    );

    // Signed in: the dashboard opens on the first project.
    let home = b.get("/dashboard").await;
    assert_eq!(home.status, 303);
    let integrations = b.get(home.location().expect("location")).await;
    assert_eq!(integrations.status, 200);
    assert!(integrations.body.contains("owner@example.com"));

    // The link is spent: a second use (from another browser) creates nothing.
    let mut other = Browser::new(&app);
    let again = other.get(&format!("/dashboard/setup?token={token}")).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("expired or was already used"));
    let csrf = other.get("/dashboard/sign-in").await.csrf();
    let reuse = other
        .post(
            "/dashboard/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reuse.status, 410);
    assert_eq!(app.broker.operators().await.expect("operators").len(), 1);
    // And a restart with an owner prints no new link.
    assert!(app
        .broker
        .setup_link_if_needed()
        .await
        .expect("check")
        .is_none());
}

#[tokio::test]
async fn wrong_email_and_wrong_password_get_the_same_answer_and_sign_out_ends_the_session() {
    let app = spawn_app().await;
    let mut owner = first_owner(&app).await;
    let mut b = Browser::new(&app);
    let wrong_password = b.sign_in(OWNER_EMAIL, "not the right password").await;
    let wrong_email = b.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(wrong_email.status, 401);
    let message =
        |p: &support::dashboard::Page| between(&p.body, "id=\"sign-in-error\">", "</div>");
    assert_eq!(message(&wrong_password), message(&wrong_email));
    assert!(message(&wrong_email)
        .expect("message")
        .contains("The email address or the password is not right"));
    assert!(!b.cookies.contains_key("keyway_session"));

    let ok = b.sign_in(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let root = b.project_root("test").await;
    let page = b.get(&format!("{root}/keys")).await;
    assert_eq!(page.status, 200);
    let stolen = b.cookies.clone();

    // Sign out: the session row is gone, so the same cookie replayed is signed out too.
    let csrf = page.csrf();
    let out = b.post("/dashboard/sign-out", &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("keyway_session=;") && c.contains("Max-Age=0")));
    let mut replay = Browser::new(&app);
    replay.cookies = stolen;
    let after = replay.get(&format!("{root}/keys")).await;
    assert_eq!(after.status, 303);
    assert!(after
        .location()
        .unwrap_or("")
        .starts_with("/dashboard/sign-in"));

    // A tampered cookie is no session either; the owner's own session is untouched.
    let mut tampered = Browser::new(&app);
    let mut value = owner.cookies["keyway_session"].clone();
    value.pop();
    value.push('x');
    tampered.cookies.insert("keyway_session".into(), value);
    assert_eq!(tampered.get(&format!("{root}/keys")).await.status, 303);
    assert_eq!(owner.get(&format!("{root}/keys")).await.status, 200);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_change_nothing() {
    let app = spawn_app().await;
    let mut owner = first_owner(&app).await;
    let mut other = first_session_of_another_owner(&app).await;
    let root = owner.project_root("test").await;
    let path = format!("{root}/integrations/stripe/visibility");
    let theirs = other.get(&format!("{root}/integrations")).await.csrf();

    let none = owner.post(&path, &[("enabled", "true")]).await;
    let foreign = owner
        .post(&path, &[("_csrf", &theirs), ("enabled", "true")])
        .await;
    let mine = owner.get(&format!("{root}/integrations")).await.csrf();
    let cross_site = owner
        .post_with(
            &path,
            &[("_csrf", &mine), ("enabled", "true")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    for refused in [&none, &foreign, &cross_site] {
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("nothing was changed"));
    }
    assert!(enabled(&app, "stripe").await.is_empty(), "nothing changed");

    let done = owner
        .post(&path, &[("_csrf", &mine), ("enabled", "true")])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(enabled(&app, "stripe").await, vec!["stripe".to_owned()]);
    // The page's script gets a status instead of a redirect.
    let scripted = owner
        .post_with(
            &path,
            &[("_csrf", &mine), ("enabled", "false")],
            &[("x-keyway-fetch", "1")],
        )
        .await;
    assert_eq!(scripted.status, 200);
    assert!(scripted
        .body
        .contains("no longer shows in the connect modal"));
    assert!(enabled(&app, "stripe").await.is_empty());
}

/// The platforms `POST /v1/authkit` lists for the test key, filtered to `slug`.
async fn enabled(app: &support::TestApp, slug: &str) -> Vec<String> {
    let reply: serde_json::Value = app
        .create_authkit_token(
            &app.test_key,
            serde_json::json!({"identity": "u1", "identityType": "user"}),
        )
        .await
        .json()
        .await
        .expect("json");
    reply["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["type"].as_str())
        .filter(|t| *t == slug)
        .map(str::to_owned)
        .collect()
}

async fn first_session_of_another_owner(app: &support::TestApp) -> Browser {
    account_with_role(app, "second-owner@example.com", Role::Owner).await
}

#[tokio::test]
async fn roles_are_enforced_by_the_server_not_by_hidden_buttons() {
    let app = spawn_app().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let mut viewer = account_with_role(&app, "viewer@example.com", Role::Viewer).await;
    let mut admin = account_with_role(&app, "admin@example.com", Role::Admin).await;

    // A viewer reads every page…
    for page in [
        "integrations",
        "integrations/stripe",
        "connections",
        "actions",
        "requests",
        "keys",
        "settings",
        "audit",
        "try",
        "account",
    ] {
        let p = viewer.get(&format!("{root}/{page}")).await;
        assert_eq!(p.status, 200, "{page}: {}", p.body);
    }
    // …and changes nothing, even with a valid CSRF token and a hand-made request.
    let csrf = viewer.get(&format!("{root}/keys")).await.csrf();
    let attempts = [
        (
            format!("{root}/integrations/stripe/visibility"),
            vec![("enabled", "true")],
        ),
        (format!("{root}/keys"), vec![("name", "sneaky")]),
        (
            format!("{root}/settings/environment"),
            vec![("require_action_ids", "on")],
        ),
        (
            format!("{root}/settings/projects"),
            vec![("name", "viewer's project")],
        ),
        (
            format!("{root}/accounts"),
            vec![("email", "x@example.com"), ("role", "owner")],
        ),
    ];
    for (path, fields) in &attempts {
        let mut form = vec![("_csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let p = viewer.post(path, &form).await;
        assert_eq!(p.status, 403, "{path}: {}", p.body);
        assert!(p.body.contains("does not allow this"));
    }
    assert!(enabled(&app, "stripe").await.is_empty());
    let keys = app.broker.keys.list(None).await.expect("keys");
    assert!(keys.iter().all(|k| k.name.as_deref() != Some("sneaky")));
    assert_eq!(app.broker.projects().await.expect("projects").len(), 1);
    assert_eq!(app.broker.operators().await.expect("ops").len(), 3);
    // Accounts are for owners only; admins change everything else.
    assert_eq!(viewer.get(&format!("{root}/accounts")).await.status, 403);
    assert_eq!(admin.get(&format!("{root}/accounts")).await.status, 403);
    let csrf = admin.get(&format!("{root}/integrations")).await.csrf();
    let p = admin
        .post(
            &format!("{root}/integrations/stripe/visibility"),
            &[("_csrf", &csrf), ("enabled", "true")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(enabled(&app, "stripe").await, vec!["stripe".to_owned()]);
    assert_eq!(owner.get(&format!("{root}/accounts")).await.status, 200);
}

#[tokio::test]
async fn changing_a_password_ends_the_accounts_other_sessions() {
    let app = spawn_app().await;
    let mut first = first_owner(&app).await;
    let mut second = Browser::new(&app);
    assert_eq!(second.sign_in(OWNER_EMAIL, PASSWORD).await.status, 303);
    let root = first.project_root("test").await;
    let csrf = first.get(&format!("{root}/account")).await.csrf();
    let wrong = first
        .post(
            &format!("{root}/account/password"),
            &[
                ("_csrf", &csrf),
                ("current", "nope nope nope"),
                ("password", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("not your current password"));
    let ok = first
        .post(
            &format!("{root}/account/password"),
            &[
                ("_csrf", &csrf),
                ("current", PASSWORD),
                ("password", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(
        first.get(&format!("{root}/account")).await.status,
        200,
        "this session stays"
    );
    assert_eq!(
        second.get(&format!("{root}/account")).await.status,
        303,
        "the other is signed out"
    );
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(OWNER_EMAIL, PASSWORD).await.status, 401);
    assert_eq!(
        b.sign_in(OWNER_EMAIL, "a brand new passphrase")
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_address() {
    let app = spawn_app().await;
    let _owner = first_owner(&app).await;
    let pw = |s: &str| secrecy::SecretString::from(s.to_owned());
    let broker = &app.broker;
    // Ten failures for one account, from several addresses: the account is blocked, even with the right
    // password, from any address, and says so; a wrong email is blocked the same way.
    for i in 0..10 {
        let address = format!("10.0.0.{i}");
        let e = broker
            .sign_in(OWNER_EMAIL, pw("wrong"), Some(&address))
            .await
            .expect_err("refused");
        assert!(e.to_string().contains("not right"), "{e}");
    }
    let blocked = broker
        .sign_in(OWNER_EMAIL, pw(PASSWORD), Some("10.0.1.1"))
        .await
        .expect_err("throttled");
    assert!(
        blocked.to_string().contains("Too many failed attempts"),
        "{blocked}"
    );
    for i in 0..10 {
        let _ = broker
            .sign_in(
                "ghost@example.com",
                pw("wrong"),
                Some(&format!("10.0.2.{i}")),
            )
            .await;
    }
    let ghost = broker
        .sign_in("ghost@example.com", pw("wrong"), Some("10.0.3.1"))
        .await
        .expect_err("throttled");
    assert!(
        ghost.to_string().contains("Too many failed attempts"),
        "unknown emails are throttled alike"
    );
    // Ten failures from one address, over many accounts: that address is blocked for everyone.
    let _admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    for i in 0..10 {
        let _ = broker
            .sign_in(
                &format!("guess{i}@example.com"),
                pw("wrong"),
                Some("192.0.2.7"),
            )
            .await;
    }
    let from_there = broker
        .sign_in("admin@example.com", pw(PASSWORD), Some("192.0.2.7"))
        .await
        .expect_err("throttled");
    assert!(from_there.to_string().contains("Too many failed attempts"));
    assert!(
        broker
            .sign_in("admin@example.com", pw(PASSWORD), Some("192.0.2.8"))
            .await
            .is_ok(),
        "another address"
    );

    // Over HTTP the page says so with 429. One more failure first: it is counted (a 2 s block) or refused as
    // blocked (the block is on), so the account is blocked now whatever the time the steps above took.
    let _ = broker
        .sign_in(OWNER_EMAIL, pw("wrong again"), Some("10.0.9.9"))
        .await;
    let mut b = Browser::new(&app);
    let page = b.sign_in(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Too many failed attempts"));
}

#[tokio::test]
async fn every_dashboard_page_is_unframeable_and_runs_only_its_own_scripts() {
    let app = spawn_app().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("live").await;
    for path in [
        format!("{root}/integrations"),
        "/dashboard/sign-in".to_owned(),
        format!("{root}/nope/nothing"),
    ] {
        let page = owner.get(&path).await;
        let h = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "same-origin");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("cache-control"), "no-store");
        if page.status == 200 {
            let nonce = between(&csp, "'nonce-", "'").expect("a nonce");
            assert!(
                page.body.contains(&format!("<script nonce=\"{nonce}\"")),
                "scripts carry this response's nonce"
            );
            assert!(!page.body.contains(" style=\""), "no inline styles");
        }
    }
    // Unknown dashboard paths are pages, not the API's JSON.
    let missing = owner.get(&format!("{root}/nope/nothing")).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("<html"));
    // Two responses, two nonces.
    let a = owner.get(&format!("{root}/keys")).await;
    let b = owner.get(&format!("{root}/keys")).await;
    assert_ne!(
        a.headers.get("content-security-policy"),
        b.headers.get("content-security-policy")
    );
}

#[tokio::test]
async fn a_database_that_stopped_answering_gives_an_error_page_not_a_hang() {
    let app = spawn_app().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    app.broker.store.close().await;
    let page = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        owner.get(&format!("{root}/connections")),
    )
    .await
    .expect("answered in time");
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("cannot reach its database"));
}
