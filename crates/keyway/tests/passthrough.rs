//! Passthrough against a local upstream: methods, streaming, header hygiene, egress refusals, timeouts,
//! upstream errors, OAuth 401 → refresh → retry, and a revoked grant → 401 `reconnect_required`.

mod support;

use std::io::{Read, Write};

use futures_util::StreamExt;

use serde_json::{json, Value};
use support::fake_platform::GOOD_KEY;
use support::oauth_flow::revoked_connection;
use support::{assert_error, spawn_app_with_fake_platform, TestApp};

async fn connection_key(app: &TestApp) -> String {
    app.acme_connection_key("user_p").await
}

fn pass(app: &TestApp, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(&format!("/v1/passthrough{path}")))
        .header("x-pica-secret", &app.test_key)
        .header("x-pica-connection-key", key)
}

#[tokio::test]
async fn every_method_reaches_the_platform_with_credentials_injected_and_our_headers_stripped() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let key = connection_key(&app).await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let body = if method == reqwest::Method::GET {
            String::new()
        } else {
            r#"{"hello":"world"}"#.to_owned()
        };
        let r = pass(&app, method.clone(), "/echo/users/me?limit=5&q=a+b", &key)
            .header("content-type", "application/json")
            .header("authorization", "Bearer caller-token")
            .header("cookie", "session=abc")
            .header("x-keyway-secret", &app.test_key)
            .header("x-custom", "kept")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{method}");
        assert!(r.headers().get("x-request-id").is_some());
        let echo: Value = r.json().await.expect("json");
        assert_eq!(echo["method"], method.as_str());
        assert_eq!(echo["path"], "/echo/users/me");
        assert_eq!(echo["query"], "limit=5&q=a+b");
        assert_eq!(echo["bodyLen"], body.len());
        let headers = echo["headers"].as_object().expect("headers");
        assert_eq!(headers["x-api-key"], GOOD_KEY, "credential injected");
        assert_eq!(headers["x-custom"], "kept");
        for gone in [
            "authorization",
            "cookie",
            "x-pica-secret",
            "x-pica-connection-key",
            "x-keyway-secret",
        ] {
            assert!(!headers.contains_key(gone), "{gone} went upstream");
        }
        assert!(
            !echo.to_string().contains(&app.test_key),
            "the secret key never goes upstream"
        );
    }
    let alias = app
        .client
        .get(app.url("/v1/passthrough/echo"))
        .header("x-keyway-secret", &app.test_key)
        .header("x-keyway-connection-key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(alias.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn upstream_status_headers_and_content_type_come_back_untouched() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let key = connection_key(&app).await;
    let csv = pass(&app, reqwest::Method::GET, "/csv", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.headers()["x-upstream"], "yes");
    let ids: Vec<_> = csv.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "one request id: ours replaces the platform's");
    assert!(
        ids[0].to_str().expect("ascii").starts_with("req_"),
        "{ids:?}"
    );
    assert_eq!(csv.text().await.expect("text"), "a,b\n1,2\n");
    for code in [400u16, 404, 422, 429, 500, 503] {
        let r = pass(&app, reqwest::Method::GET, &format!("/status/{code}"), &key)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), code);
        assert_eq!(
            r.text().await.expect("body"),
            r#"{"error":"upstream says no"}"#,
            "upstream body, not ours"
        );
    }
    let redirect = pass(&app, reqwest::Method::GET, "/redirect", &key);
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = no_follow
        .execute(redirect.build().expect("req"))
        .await
        .expect("request");
    assert_eq!(r.status(), 302, "redirects are returned, never followed");
    app.stop().await;
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let key = connection_key(&app).await;
    let down = pass(&app, reqwest::Method::GET, "/big/64", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(down.status(), 200);
    let mut total = 0usize;
    let mut stream = down.bytes_stream();
    while let Some(chunk) = stream.next().await {
        total += chunk.expect("chunk").len();
    }
    assert_eq!(total, 64 * 1024 * 1024);

    let chunk = bytes::Bytes::from(vec![7u8; 256 * 1024]);
    let upload =
        futures_util::stream::iter((0..128).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let r = pass(&app, reqwest::Method::POST, "/upload", &key)
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json")["received"],
        128 * 256 * 1024
    );
    app.stop().await;
}

#[tokio::test]
async fn missing_unknown_and_foreign_connection_keys_are_refused() {
    let (app, fake) = spawn_app_with_fake_platform().await;
    let key = connection_key(&app).await;
    let before = fake.calls();
    let none = app
        .client
        .get(app.url("/v1/passthrough/echo"))
        .header("x-pica-secret", &app.test_key)
        .send()
        .await
        .expect("r");
    assert_error(none, 400, "missing_connection_key").await;
    let unknown = pass(
        &app,
        reqwest::Method::GET,
        "/echo",
        "test::acme::default::00000000000000000000000000000000|x",
    )
    .send()
    .await
    .expect("r");
    assert_error(unknown, 404, "not_found").await;
    let other_env = app
        .client
        .get(app.url("/v1/passthrough/echo"))
        .header("x-pica-secret", &app.live_key)
        .header("x-pica-connection-key", &key)
        .send()
        .await
        .expect("r");
    assert_error(other_env, 404, "not_found").await;
    let no_secret = app
        .client
        .get(app.url("/v1/passthrough/echo"))
        .header("x-pica-connection-key", &key)
        .send()
        .await
        .expect("r");
    assert_error(no_secret, 401, "unauthorized").await;
    let conflicting = pass(&app, reqwest::Method::GET, "/echo", &key)
        .header("x-keyway-connection-key", "other")
        .send()
        .await
        .expect("r");
    assert_error(conflicting, 400, "conflicting_headers").await;
    let action = pass(&app, reqwest::Method::GET, "/echo", &key)
        .header("x-pica-action-id", "nonsense")
        .send()
        .await
        .expect("r");
    assert_error(action, 400, "invalid_action_id").await;
    let action = pass(&app, reqwest::Method::GET, "/echo", &key)
        .header(
            "x-pica-action-id",
            "conn_mod_def::F_JeCYGuzvg::yAM6bqGdRdm91ZbYejlbEA",
        )
        .send()
        .await
        .expect("r");
    assert_error(action, 400, "unknown_action").await;
    // A deleted connection stops working at once on this node.
    let id = app
        .list_connections("")
        .await
        .json::<Value>()
        .await
        .expect("json")["rows"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        pass(&app, reqwest::Method::GET, "/echo", &key)
            .send()
            .await
            .expect("r")
            .status(),
        200
    );
    assert_eq!(
        app.delete_connection(&id, &app.test_key).await.status(),
        200
    );
    assert_error(
        pass(&app, reqwest::Method::GET, "/echo", &key)
            .send()
            .await
            .expect("r"),
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        fake.calls(),
        before + 1,
        "refused requests never reached the upstream"
    );
    app.stop().await;
}

/// Sends a request line as-is (clients normalise `..` and friends away).
fn raw_get(app: &TestApp, path: &str, key: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(app.addr).expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nx-pica-secret: {}\r\nx-pica-connection-key: {}\r\nConnection: close\r\n\r\n",
        app.addr, app.test_key, key
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn crafted_paths_never_leave_the_platform() {
    let (app, fake) = spawn_app_with_fake_platform().await;
    let key = connection_key(&app).await;
    let before = fake.calls();
    let crafted = [
        "/v1/passthrough//evil.com/x",
        "/v1/passthrough/..",
        "/v1/passthrough/../admin",
        "/v1/passthrough/echo/../../x",
        "/v1/passthrough/%2e%2e/x",
        "/v1/passthrough/.%2E/x",
        "/v1/passthrough/%2E./x",
        "/v1/passthrough/./echo",
        "/v1/passthrough/echo%2f..%2fadmin",
        "/v1/passthrough/echo%2Fx",
        "/v1/passthrough/echo%5cx",
        "/v1/passthrough/echo\\x",
        "/v1/passthrough/echo%00",
        "/v1/passthrough/echo%0d%0aHost:%20evil.com",
        "/v1/passthrough/%252e%252e/x",
        "/v1/passthrough/echo/%2e",
        "/v1/passthrough/echo//x",
        "/v1/passthrough/echo%09x",
        "/v1/passthrough/echo/%2E%2E/%2E%2E/etc/passwd",
        "/v1/passthrough/echo/.%2e/.%2e/",
    ];
    for path in crafted {
        let status = tokio::task::block_in_place(|| raw_get(&app, path, &key));
        assert!(status == 400 || status == 404, "{path} answered {status}");
    }
    assert_eq!(fake.calls(), before, "no crafted path reached the upstream");
    // A harmless look-alike still works.
    let ok = pass(&app, reqwest::Method::GET, "/echo/a.b/..c/%40user", &key)
        .send()
        .await
        .expect("r");
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<Value>().await.expect("json")["path"],
        "/echo/a.b/..c/%40user"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_unreachable_upstreams_are_clear_json_errors() {
    let (app, _fake) =
        support::spawn_app_with_fake_platform_config(|config| keyway::config::Config {
            passthrough_first_byte_timeout_seconds: 1,
            passthrough_idle_timeout_seconds: 1,
            ..config
        })
        .await;
    let key = connection_key(&app).await;
    let slow = pass(&app, reqwest::Method::GET, "/slow", &key)
        .send()
        .await
        .expect("r");
    let body = assert_error(slow, 504, "upstream_timeout").await;
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("Acme CRM")));

    // A body that stalls mid-way is cut off after the idle timeout (the status was already sent).
    let stall = pass(&app, reqwest::Method::GET, "/stall", &key)
        .send()
        .await
        .expect("r");
    assert_eq!(stall.status(), 200);
    let started = std::time::Instant::now();
    assert!(
        stall.bytes().await.is_err(),
        "the stalled body ends in an error"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    app.stop().await;
}

/// The first-byte timer used to cover sending the body: any upload lasting longer than the first-byte
/// timeout failed with a 504 while it was still flowing. It starts when the body has been sent now; until
/// then only the idle timeout applies.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_still_flowing_is_not_cut_off_by_the_first_byte_timeout() {
    let (app, _fake) =
        support::spawn_app_with_fake_platform_config(|config| keyway::config::Config {
            passthrough_first_byte_timeout_seconds: 1,
            passthrough_idle_timeout_seconds: 5,
            ..config
        })
        .await;
    let key = connection_key(&app).await;
    // 3 MiB at about 1 MiB/s: 48 chunks of 64 KiB, one every 60 ms, to a platform that reads slowly.
    let chunk = bytes::Bytes::from(vec![3u8; 64 * 1024]);
    let upload = futures_util::stream::iter(0..48).then(move |_| {
        let chunk = chunk.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
            Ok::<_, std::io::Error>(chunk)
        }
    });
    let r = pass(&app, reqwest::Method::POST, "/upload/slow", &key)
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json")["received"],
        48 * 64 * 1024
    );

    // A platform that reads the whole body, then stays silent, still times out on the first byte.
    let silent = pass(&app, reqwest::Method::POST, "/upload/then-silence", &key)
        .body(vec![4u8; 64 * 1024])
        .send()
        .await
        .expect("r");
    assert_error(silent, 504, "upstream_timeout").await;
    app.stop().await;
}

#[tokio::test]
async fn an_oauth_401_refreshes_once_and_retries() {
    let (app, fake) = support::spawn_app_with_fake_oauth().await;
    let r = app
        .patch_integration(&app.test_key, "oauthco", json!({"enabled": true,
            "oauthApp": {"clientId": support::fake_oauth::CLIENT_ID, "clientSecret": support::fake_oauth::CLIENT_SECRET}}))
        .await;
    assert_eq!(r.status(), 200);
    let imported = app
        .import_connection(&app.test_key, json!({"platform": "oauthco", "identity": "u", "identityType": "user",
            "authFormData": {"accessToken": "at_unknown_to_the_provider", "refreshToken": "rt_unknown", "expiresIn": "3600"}}))
        .await;
    // The provider does not know that token: the connect-time check refuses it.
    assert_error(imported, 422, "credentials_rejected").await;

    // Connect properly, then revoke the access token at the provider behind Keyway's back.
    let token = app.session_for("u").await;
    let start: Value = app
        .client
        .post(app.url("/v1/authkit/oauth/start"))
        .bearer_auth(&token)
        .json(&json!({"platform": "oauthco"}))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("c");
    let to_callback = http
        .get(start["authorizeUrl"].as_str().expect("url"))
        .send()
        .await
        .expect("authorize");
    let callback = to_callback.headers()["location"]
        .to_str()
        .expect("loc")
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
    let key = app
        .list_connections("identity=u")
        .await
        .json::<Value>()
        .await
        .expect("json")["rows"][0]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_eq!(
        pass(&app, reqwest::Method::GET, "/me", &key)
            .send()
            .await
            .expect("r")
            .status(),
        200
    );
    fake.revoke_access_tokens();
    let retried = pass(&app, reqwest::Method::GET, "/me", &key)
        .send()
        .await
        .expect("r");
    assert_eq!(retried.status(), 200, "refreshed once and retried");
    assert_eq!(fake.refresh_calls(), 1);
    // A POST with a body is not retried: the 401 comes back as it is.
    fake.revoke_access_tokens();
    let post = pass(&app, reqwest::Method::POST, "/me", &key)
        .body("{}")
        .send()
        .await
        .expect("r");
    assert_eq!(
        post.status(),
        405,
        "the fake only has GET /me; the point is no retry happened"
    );
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}

#[tokio::test]
async fn requests_are_logged_without_query_values_bodies_or_secrets() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let key = connection_key(&app).await;
    let r = pass(
        &app,
        reqwest::Method::POST,
        "/echo/items?token=supersecretvalue&page=2",
        &key,
    )
    .body("x".repeat(1000))
    .send()
    .await
    .expect("r");
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.expect("body");
    assert_eq!(
        pass(&app, reqwest::Method::GET, "/status/404", &key)
            .send()
            .await
            .expect("r")
            .status(),
        404
    );
    app.broker.request_log.flush().await;

    let logs: Value = app
        .get_with("/v1/logs?limit=10", &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(logs["total"], 2, "{logs}");
    let newest = &logs["rows"][0];
    assert_eq!(newest["status"], 404);
    let post = &logs["rows"][1];
    assert_eq!(post["method"], "POST");
    assert_eq!(post["path"], "/echo/items?token=&page=");
    assert_eq!(post["platform"], "acme");
    assert_eq!(post["connectionKey"], key);
    assert_eq!(post["bytesIn"], 1000);
    assert_eq!(post["bytesOut"], body.len());
    assert!(post["requestId"]
        .as_str()
        .is_some_and(|r| r.starts_with("req_")));
    let text = logs.to_string();
    assert!(!text.contains("supersecretvalue") && !text.contains(GOOD_KEY));
    let filtered: Value = app
        .get_with("/v1/logs?status=404", &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(filtered["total"], 1);
    let live: Value = app
        .get_with("/v1/logs", &app.live_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(live["total"], 0);
    assert_error(
        app.get_with("/v1/logs?body=1", &app.test_key).await,
        400,
        "unknown_parameter",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_the_passthrough_limit_are_a_413_and_never_reach_the_platform_whole() {
    let (app, fake) =
        support::spawn_app_with_fake_platform_config(|config| keyway::config::Config {
            passthrough_max_body_bytes: 1024,
            ..config
        })
        .await;
    let key = connection_key(&app).await;

    let small = pass(&app, reqwest::Method::POST, "/upload", &key)
        .body(vec![1u8; 1000])
        .send()
        .await
        .expect("small");
    assert_eq!(small.status(), 200);
    assert_eq!(small.json::<Value>().await.expect("json")["received"], 1000);

    // Declared too large: refused before anything is sent upstream.
    let before = fake.calls();
    let declared = pass(&app, reqwest::Method::POST, "/upload", &key)
        .body(vec![1u8; 2048])
        .send()
        .await
        .expect("declared");
    let body = assert_error(declared, 413, "payload_too_large").await;
    assert!(body["requestId"]
        .as_str()
        .is_some_and(|id| id.starts_with("req_")));
    assert_eq!(fake.calls(), before, "nothing reached the platform");

    // Streamed without a length: cut off when it passes the limit, and the caller hears why.
    let chunk = bytes::Bytes::from(vec![2u8; 512]);
    let stream =
        futures_util::stream::iter((0..8).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let streamed = pass(&app, reqwest::Method::POST, "/upload", &key)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("streamed");
    assert_error(streamed, 413, "payload_too_large").await;
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_connection_answers_401_reconnect_required_and_a_bad_secret_key_401_unauthorized()
{
    let (app, fake) = support::spawn_app_with_fake_oauth().await;
    let connection = revoked_connection(&app, &fake, "user_revoked").await;
    let key = connection.key.to_string();
    let refresh_token = fake.current_refresh_token().expect("issued");
    // The first use asks for a refresh, which the provider refuses; the second finds the connection
    // failed and asks nobody.
    for _ in 0..2 {
        let r = pass(&app, reqwest::Method::GET, "/me", &key)
            .send()
            .await
            .expect("r");
        let body = assert_error(r, 401, "reconnect_required").await;
        let message = body["message"].as_str().expect("message");
        assert!(
            message.contains("revoked or expired")
                && message.contains("failed")
                && message.contains("reconnect"),
            "{message}"
        );
        assert!(!body.to_string().contains(&refresh_token), "{body}");
    }
    assert_eq!(fake.refresh_calls(), 1);
    let view: Value = app
        .get_connection(&connection.id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "failed");

    // A secret key that is wrong, unknown or missing is still `unauthorized`.
    let unknown = format!("sk_test_{}", "A".repeat(40));
    for secret in [Some(unknown.as_str()), Some("not-a-key"), None] {
        let mut r = app
            .client
            .get(app.url("/v1/passthrough/me"))
            .header("x-pica-connection-key", &key);
        if let Some(secret) = secret {
            r = r.header("x-pica-secret", secret);
        }
        assert_error(r.send().await.expect("r"), 401, "unauthorized").await;
    }
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}
