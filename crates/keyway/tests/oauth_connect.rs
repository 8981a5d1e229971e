//! Connecting through an OAuth provider (the fake one): authorize → callback → exchange → connection, the
//! errors that create nothing, the outcome kept for the session that asked, and the RFC 9207 issuer check.

mod support;

use serde_json::{json, Value};
use support::fake_oauth::{Iss, CLIENT_ID};
use support::oauth_flow::{
    attempt_result, authorize_in_browser, authorize_in_browser_with_status, callback_result,
    configure, no_redirects, result_of, start, start_attempt, stored,
};
use support::{assert_error, spawn_app_with_fake_oauth};

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

    let (callback, status, page) = authorize_in_browser_with_status(&url).await;
    assert_eq!(status, 200);
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

    // The state works once: replayed, the page reports `invalid_state` with a 400.
    let replayed = no_redirects().get(&callback).send().await.expect("r");
    assert_eq!(replayed.status(), 400);
    assert!(replayed.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/html")));
    assert_eq!(
        result_of(&replayed.text().await.expect("html"))["code"],
        "invalid_state"
    );
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
    assert_error(r, 409, "oauth_app_missing").await;
    configure(&app).await;

    // The provider reports an error instead of a code: the attempt failed, and the page says so with a
    // 403, as the API answers `access_denied`.
    fake.deny_next(true);
    let (_, status, page) = authorize_in_browser_with_status(&start(&app, &token).await).await;
    assert_eq!(status, 403);
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

    // A forged state, or none at all (on the alias path too): a 400 page reporting `invalid_state`.
    for path in [
        "/connections/oauth/callback?code=x&state=forged-state",
        "/connections/oauth/callback?code=x",
        "/oauth/callback?error=access_denied",
    ] {
        let r = no_redirects().get(app.url(path)).send().await.expect("r");
        assert_eq!(r.status(), 400, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/html")),
            "the page, not the API's JSON error: {path}"
        );
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        let page = r.text().await.expect("html");
        assert_eq!(result_of(&page)["code"], "invalid_state", "{path}");
        assert!(page.contains("postMessage"), "the modal still hears of it");
    }

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
    let (callback, status, page) =
        authorize_in_browser_with_status(&start(&app, &token).await).await;
    assert_eq!(status, 400);
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
