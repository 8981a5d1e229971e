//! The OAuth engine against a fake provider: authorize → callback → exchange → connection, refresh on
//! demand and by the sweep, single-flight under load (one node and two), revoked and flaky providers.

mod support;

use std::sync::Arc;

use keyway_broker::oauth::refresh::Need;
use keyway_broker::Broker;
use keyway_core::connection::{Connection, ConnectionState};
use serde_json::{json, Value};
use support::fake_oauth::{Iss, Mode, CLIENT_ID, CLIENT_SECRET};
use support::{assert_error, spawn_app_with_fake_oauth, TestApp};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn configure(app: &TestApp) {
    let r = app
        .patch_integration(
            &app.test_key,
            "oauthco",
            json!({"enabled": true,
            "oauthApp": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

async fn start(app: &TestApp, token: &str) -> String {
    start_attempt(app, token).await.0
}

/// Starts an attempt: (authorize URL, attempt id).
async fn start_attempt(app: &TestApp, token: &str) -> (String, String) {
    let r = app
        .client
        .post(app.url("/v1/authkit/oauth/start"))
        .bearer_auth(token)
        .json(&json!({"platform": "oauthco"}))
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), 200);
    let body = r.json::<Value>().await.expect("json");
    let text = |k: &str| body[k].as_str().expect(k).to_owned();
    (text("authorizeUrl"), text("attemptId"))
}

/// What `GET /v1/authkit/oauth/result/{attempt}` answers the session `token`.
async fn attempt_result(app: &TestApp, token: &str, attempt: &str) -> Value {
    let r = app
        .client
        .get(app.url(&format!("/v1/authkit/oauth/result/{attempt}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("result");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Follows the provider's redirect back to Keyway's callback like a browser; returns the callback page.
async fn authorize_in_browser(authorize_url: &str) -> (String, String) {
    let http = no_redirects();
    let r = http.get(authorize_url).send().await.expect("authorize");
    assert_eq!(r.status(), 303, "the fake redirects at once");
    let callback = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let page = http.get(&callback).send().await.expect("callback");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    (callback, page.text().await.expect("html"))
}

/// Opens a callback URL as the browser would (again) and returns the JSON its page hands to the modal.
async fn callback_result(url: &str) -> Value {
    let page = no_redirects().get(url).send().await.expect("callback");
    result_of(&page.text().await.expect("html"))
}

/// The JSON the callback page hands to the modal.
fn result_of(page: &str) -> Value {
    let start = page.find(r#"id="keyway-result">"#).expect("result script")
        + r#"id="keyway-result">"#.len();
    let end = start + page[start..].find("</script>").expect("end");
    serde_json::from_str(&page[start..end].replace("\\u003c", "<")).expect("json")
}

async fn connect(app: &TestApp, identity: &str) -> Value {
    let token = app.session_for(identity).await;
    let url = start(app, &token).await;
    let (_, page) = authorize_in_browser(&url).await;
    let result = result_of(&page);
    assert_eq!(result["ok"], true, "{result}");
    result["connection"].clone()
}

async fn stored(app: &TestApp, id: &str) -> Connection {
    let principal = app
        .broker
        .keys
        .authenticate(Some(&app.test_key))
        .await
        .expect("ok")
        .expect("principal");
    app.broker
        .connection(&principal, id)
        .await
        .expect("q")
        .expect("stored")
}

#[tokio::test]
async fn a_user_connects_through_the_provider_and_gets_a_working_connection() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let token = app.session_for("user_123").await;
    let url = start(&app, &token).await;
    let parsed = url::Url::parse(&url).expect("url");
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/connections/oauth/callback", app.base)
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "read write");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["access_type"], "offline");
    assert!(q["state"].len() >= 43);

    let (callback, page) = authorize_in_browser(&url).await;
    let result = result_of(&page);
    assert_eq!(result["source"], "keyway-oauth");
    assert_eq!(result["ok"], true, "{result}");
    let record = &result["connection"];
    assert!(record["key"]
        .as_str()
        .is_some_and(|k| k.starts_with("test::oauthco::default::") && k.ends_with("|user_123")));
    assert!(record["createdAt"].is_i64());
    assert!(
        page.contains(&format!("postMessage(msg,\"{}\")", app.base)),
        "posts to Keyway's own origin only"
    );
    assert!(
        !page.contains("at_") && !page.contains("rt_"),
        "no tokens in the page"
    );
    assert_eq!(fake.token_calls(), 1);

    let listed: Value = app
        .list_connections("identity=user_123")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["rows"][0]["state"], "operational");
    let c = stored(&app, record["id"].as_str().expect("id")).await;
    assert!(c.oauth_expires_at.is_some());
    assert_eq!(c.oauth_scopes.as_deref(), Some("read write"));
    let creds = app.broker.usable_credentials(&c).await.expect("creds");
    assert!(creds
        .get("accessToken")
        .is_some_and(|t| t.starts_with("at_")));
    assert!(creds.get("refreshToken").is_some());

    // The state works once.
    assert_eq!(callback_result(&callback).await["code"], "invalid_state");
    assert_eq!(fake.token_calls(), 1);
    assert_eq!(
        app.list_connections("")
            .await
            .json::<Value>()
            .await
            .expect("json")["total"],
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn declined_unknown_state_and_misconfiguration_are_clear_errors_that_create_nothing() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    let token = app.session_for("user_1").await;
    let r = app
        .client
        .post(app.url("/v1/authkit/oauth/start"))
        .bearer_auth(&token)
        .json(&json!({"platform": "oauthco"}))
        .send()
        .await
        .expect("r");
    assert_error(r, 403, "integration_disabled").await;
    app.enable_integration(&app.test_key, "oauthco").await;
    let r = app
        .client
        .post(app.url("/v1/authkit/oauth/start"))
        .bearer_auth(&token)
        .json(&json!({"platform": "oauthco"}))
        .send()
        .await
        .expect("r");
    assert_error(r, 400, "oauth_app_missing").await;
    configure(&app).await;

    fake.deny_next(true);
    let (_, page) = authorize_in_browser(&start(&app, &token).await).await;
    let result = result_of(&page);
    assert_eq!(result["ok"], false);
    assert_eq!(result["code"], "access_denied");
    assert!(
        result["message"]
            .as_str()
            .is_some_and(|m| m.contains("OAuth Co")),
        "{result}"
    );
    fake.deny_next(false);

    let forged =
        callback_result(&app.url("/connections/oauth/callback?code=x&state=forged-state")).await;
    assert_eq!(forged["code"], "invalid_state");
    let alias = no_redirects()
        .get(app.url("/oauth/callback?error=access_denied"))
        .send()
        .await
        .expect("r");
    assert_eq!(alias.status(), 200);
    assert_eq!(
        result_of(&alias.text().await.expect("html"))["code"],
        "invalid_state"
    );

    assert_eq!(fake.token_calls(), 0);
    assert_eq!(
        app.list_connections("")
            .await
            .json::<Value>()
            .await
            .expect("json")["total"],
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn the_outcome_is_kept_for_the_session_that_started_the_attempt_and_no_one_else() {
    // For a modal the callback page cannot reach (the provider severed window.opener): it asks instead.
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let token = app.session_for("user_1").await;
    let stranger = app.session_for("user_2").await;

    let (url, attempt) = start_attempt(&app, &token).await;
    assert_eq!(
        attempt_result(&app, &token, &attempt).await,
        json!({"status": "pending"})
    );
    let (_, page) = authorize_in_browser(&url).await;
    let reported = result_of(&page);
    assert_eq!(reported["ok"], true, "{reported}");
    let kept = attempt_result(&app, &token, &attempt).await;
    assert_eq!(kept["status"], "done");
    assert_eq!(kept["result"], reported, "the same report the page posted");
    assert!(
        !kept.to_string().contains("at_"),
        "no token in the result: {kept}"
    );
    // Another session, or an id that was never issued, learns nothing.
    assert_eq!(
        attempt_result(&app, &stranger, &attempt).await,
        json!({"status": "pending"})
    );
    assert_eq!(
        attempt_result(&app, &token, "att_forged").await,
        json!({"status": "pending"})
    );

    // A refusal is kept too.
    fake.deny_next(true);
    let (url, attempt) = start_attempt(&app, &token).await;
    let (_, page) = authorize_in_browser(&url).await;
    fake.deny_next(false);
    let kept = attempt_result(&app, &token, &attempt).await;
    assert_eq!(kept["result"]["code"], "access_denied");
    assert_eq!(kept["result"], result_of(&page));
    app.stop().await;
}

#[tokio::test]
async fn a_callback_naming_another_issuer_or_none_is_refused_and_its_code_never_exchanged() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let token = app.session_for("user_1").await;

    // A mix-up: the answer names another provider (RFC 9207). Refused before the code goes anywhere.
    fake.send_iss(Iss::Other("https://evil.example".into()));
    let (callback, page) = authorize_in_browser(&start(&app, &token).await).await;
    let result = result_of(&page);
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["code"], "issuer_mismatch");
    assert!(
        callback.contains("iss=https%3A%2F%2Fevil.example"),
        "{callback}"
    );
    // The state was spent: the same answer with the right issuer cannot be replayed.
    let replay = callback.replace(
        "iss=https%3A%2F%2Fevil.example",
        &format!(
            "iss={}",
            url::form_urlencoded::byte_serialize(fake.issuer().as_bytes()).collect::<String>()
        ),
    );
    assert_eq!(callback_result(&replay).await["code"], "invalid_state");

    // This provider always names itself (the catalog says so): an answer without `iss` is refused too,
    // and so is a refusal without it.
    fake.send_iss(Iss::Absent);
    let (_, page) = authorize_in_browser(&start(&app, &token).await).await;
    assert_eq!(result_of(&page)["code"], "issuer_mismatch");
    fake.deny_next(true);
    let (_, page) = authorize_in_browser(&start(&app, &token).await).await;
    assert_eq!(result_of(&page)["code"], "issuer_mismatch");
    fake.deny_next(false);

    assert_eq!(fake.token_calls(), 0);
    let listed = app
        .list_connections("")
        .await
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(listed["total"], 0);

    // Its own issuer: connected.
    fake.send_iss(Iss::Own);
    let (callback, page) = authorize_in_browser(&start(&app, &token).await).await;
    assert!(callback.contains("&iss="), "{callback}");
    assert_eq!(result_of(&page)["ok"], true);
    assert_eq!(fake.token_calls(), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_on_use_and_a_rotated_refresh_token_is_kept() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.expires_in
        .store(60, std::sync::atomic::Ordering::SeqCst); // inside the 120 s margin
    let record = connect(&app, "user_r").await;
    let c = stored(&app, record["id"].as_str().expect("id")).await;
    let first_refresh = fake.current_refresh_token();

    fake.expires_in
        .store(3600, std::sync::atomic::Ordering::SeqCst);
    let creds = app.broker.usable_credentials(&c).await.expect("refreshed");
    assert_eq!(fake.refresh_calls(), 1);
    assert_ne!(
        fake.current_refresh_token(),
        first_refresh,
        "the provider rotated it"
    );
    assert_eq!(
        creds.get("refreshToken").map(str::to_owned),
        fake.current_refresh_token(),
        "rotation persisted"
    );
    // Fresh now: no more token calls.
    let c = stored(&app, &c.id).await;
    app.broker.usable_credentials(&c).await.expect("fresh");
    assert_eq!(fake.refresh_calls(), 1);
    // And the rotated token is what the next refresh uses (the fake refuses the old one).
    let forced = app
        .broker
        .refresh(
            &c,
            Need::Stale {
                seen: c.oauth_expires_at,
            },
        )
        .await
        .expect("forced refresh");
    assert!(forced.get("accessToken").is_some());
    assert_eq!(fake.refresh_calls(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_thousand_concurrent_uses_of_an_expired_connection_make_one_token_call() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.expires_in
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let record = connect(&app, "user_race").await;
    fake.expires_in
        .store(3600, std::sync::atomic::Ordering::SeqCst);
    let c = Arc::new(stored(&app, record["id"].as_str().expect("id")).await);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (broker, c) = (app.broker.clone(), c.clone());
        tasks.spawn(async move {
            broker
                .usable_credentials(&c)
                .await
                .map(|cr| cr.get("accessToken").map(str::to_owned))
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(r) = tasks.join_next().await {
        tokens.insert(r.expect("join").expect("credentials"));
    }
    assert_eq!(fake.refresh_calls(), 1, "exactly one refresh");
    assert_eq!(tokens.len(), 1, "everyone got the same new token");
    app.stop().await;
}

#[tokio::test]
async fn two_nodes_on_one_database_share_one_refresh() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.expires_in
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let record = connect(&app, "user_2n").await;
    fake.expires_in
        .store(3600, std::sync::atomic::Ordering::SeqCst);
    let c = Arc::new(stored(&app, record["id"].as_str().expect("id")).await);

    // A second node: its own pool, locks and lease identity, the same database and keys.
    let catalog =
        keyway_catalog::load::Catalog::load(true, Some(&app.db.dir.path().join("catalog")))
            .expect("catalog");
    let store = keyway_store::Store::open(&app.db.url, &keyway_store::PoolSettings::default())
        .await
        .expect("store");
    let keyring = app.broker.sealer.keyring();
    let ring = keyway_crypto::keyring::Keyring::new(
        keyring
            .keys()
            .iter()
            .map(|k| {
                keyway_crypto::master_key::MasterKey::from_base64(
                    secrecy::ExposeSecret::expose_secret(&k.to_base64()),
                )
                .expect("k")
            })
            .collect(),
    )
    .expect("ring");
    let (other, _) = Broker::start(store, ring, catalog)
        .await
        .expect("second node");

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let broker = if i % 2 == 0 {
            app.broker.clone()
        } else {
            other.clone()
        };
        let c = c.clone();
        tasks.spawn(async move {
            broker
                .usable_credentials(&c)
                .await
                .map(|cr| cr.get("accessToken").map(str::to_owned))
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(r) = tasks.join_next().await {
        tokens.insert(r.expect("join").expect("credentials"));
    }
    assert_eq!(
        fake.refresh_calls(),
        1,
        "exactly one refresh across both nodes"
    );
    assert_eq!(tokens.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_grant_fails_the_connection_and_it_is_not_retried() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.expires_in
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let record = connect(&app, "user_rev").await;
    let id = record["id"].as_str().expect("id").to_owned();
    fake.set_mode(Mode::InvalidGrant);
    let c = stored(&app, &id).await;
    let err = app
        .broker
        .usable_credentials(&c)
        .await
        .expect_err("revoked");
    assert!(err.to_string().contains("reconnect"), "{err}");
    assert_eq!(fake.refresh_calls(), 1);
    let view: Value = app
        .get_connection(&id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "failed");
    // Not retried until the user reconnects, even if the provider recovers.
    fake.set_mode(Mode::Normal);
    let c = stored(&app, &id).await;
    assert!(app.broker.usable_credentials(&c).await.is_err());
    assert!(app
        .broker
        .refresh(&c, Need::ExpiringWithin(600))
        .await
        .is_err());
    let swept = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!(swept, 0, "failed connections are not swept");
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_flaky_provider_degrades_then_recovers() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.expires_in
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let record = connect(&app, "user_flaky").await;
    let id = record["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // now really expired
    fake.set_mode(Mode::ServerError);
    let c = stored(&app, &id).await;
    let err = app
        .broker
        .usable_credentials(&c)
        .await
        .expect_err("no usable token");
    assert!(err.to_string().contains("not answering"), "{err}");
    let view: Value = app
        .get_connection(&id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "degraded");
    let (failures, next) = app
        .broker
        .store
        .refresh_backoff(&id)
        .await
        .expect("backoff");
    assert_eq!(failures, 1);
    assert!(
        next.is_some_and(|t| t > keyway_core::timestamp::Timestamp::now().plus_seconds(20)),
        "backoff ≈30 s"
    );
    // The sweep respects the backoff.
    assert_eq!(
        keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
            .await
            .expect("sweep"),
        0
    );

    fake.set_mode(Mode::Normal);
    fake.expires_in
        .store(3600, std::sync::atomic::Ordering::SeqCst);
    let c = stored(&app, &id).await;
    let creds = app
        .broker
        .usable_credentials(&c)
        .await
        .expect("recovered: an expired token is retried on use");
    assert!(creds.get("accessToken").is_some());
    let view: Value = app
        .get_connection(&id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "operational");
    assert_eq!(app.broker.store.refresh_backoff(&id).await.expect("b").0, 0);
    assert_eq!(stored(&app, &id).await.state, ConnectionState::Operational);
    app.stop().await;
}

#[tokio::test]
async fn the_sweep_refreshes_tokens_nearing_expiry() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.expires_in
        .store(300, std::sync::atomic::Ordering::SeqCst); // within the 10-minute horizon
    let a = connect(&app, "user_s1").await;
    fake.expires_in
        .store(7200, std::sync::atomic::Ordering::SeqCst);
    let b = connect(&app, "user_s2").await; // not due
    let before = stored(&app, a["id"].as_str().expect("id"))
        .await
        .oauth_expires_at;
    let n = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!(n, 1);
    assert_eq!(fake.refresh_calls(), 1);
    let after = stored(&app, a["id"].as_str().expect("id"))
        .await
        .oauth_expires_at;
    assert!(after > before, "{before:?} -> {after:?}");
    assert_eq!(
        stored(&app, b["id"].as_str().expect("id")).await.state,
        ConnectionState::Operational
    );
    assert_eq!(
        keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
            .await
            .expect("sweep"),
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn client_credentials_platforms_get_tokens_without_a_user_step() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    fake.expires_in
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let r = app
        .import_connection(
            &app.test_key,
            json!({"platform": "oauthcc", "identity": "org_1", "identityType": "organization",
            "authFormData": {"clientId": "cc-id", "clientSecret": "cc-secret"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let c = stored(
        &app,
        r.json::<Value>().await.expect("json")["id"]
            .as_str()
            .expect("id"),
    )
    .await;
    assert_eq!(fake.token_calls(), 1);
    fake.expires_in
        .store(3600, std::sync::atomic::Ordering::SeqCst);
    let creds = app.broker.usable_credentials(&c).await.expect("re-issued");
    assert!(creds.get("accessToken").is_some());
    assert_eq!(
        fake.token_calls(),
        2,
        "a new client-credentials token, no refresh token involved"
    );
    let bad = app
        .import_connection(
            &app.test_key,
            json!({"platform": "oauthcc", "identity": "org_1", "identityType": "organization",
            "authFormData": {"clientId": "cc-id", "clientSecret": "wrong"}}),
        )
        .await;
    assert_error(bad, 422, "credentials_rejected").await;
    app.stop().await;
}
