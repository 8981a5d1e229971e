//! The HTTP API from outside: authentication, the error shape, operations endpoints, the vault list.

mod support;

use support::{assert_error, spawn_app};

#[tokio::test]
async fn vault_list_is_an_empty_page_with_a_key_and_401_without() {
    let app = spawn_app().await;
    let response = app.list_connections("").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({"rows": [], "total": 0, "page": 1, "pages": 1, "skip": 0, "limit": 20})
    );

    let anonymous = app
        .client
        .get(app.url("/v1/vault/connections"))
        .send()
        .await
        .expect("request");
    assert_error(anonymous, 401, "unauthorized").await;
    let unknown = app
        .list_connections_with("", &format!("sk_test_{}", "x".repeat(40)))
        .await;
    assert_error(unknown, 401, "unauthorized").await;
    let garbage = app.list_connections_with("", "Bearer something").await;
    assert_error(garbage, 401, "unauthorized").await;
    app.stop().await;
}

#[tokio::test]
async fn secret_header_names_are_case_insensitive_and_aliases_must_agree() {
    let app = spawn_app().await;
    let url = app.url("/v1/vault/connections");
    for name in [
        "x-pica-secret",
        "X-Pica-Secret",
        "x-keyway-secret",
        "X-KEYWAY-SECRET",
    ] {
        let r = app
            .client
            .get(&url)
            .header(name, &app.test_key)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{name}");
    }
    let same = app
        .client
        .get(&url)
        .header("x-pica-secret", &app.test_key)
        .header("x-keyway-secret", &app.test_key)
        .send()
        .await
        .expect("request");
    assert_eq!(same.status(), 200);
    let differ = app
        .client
        .get(&url)
        .header("x-pica-secret", &app.test_key)
        .header("x-keyway-secret", &app.live_key)
        .send()
        .await
        .expect("request");
    assert_error(differ, 400, "conflicting_headers").await;
    app.stop().await;
}

#[tokio::test]
async fn revoked_keys_stop_working_at_once() {
    let app = spawn_app().await;
    assert_eq!(app.list_connections("").await.status(), 200);
    app.broker
        .keys
        .revoke(&app.test_key, &keyway_core::audit::Actor::cli(None))
        .await
        .expect("revoke");
    assert_error(app.list_connections("").await, 401, "unauthorized").await;
    assert_eq!(
        app.list_connections_with("", &app.live_key).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn every_error_has_the_json_shape_and_the_request_id() {
    let app = spawn_app().await;
    assert_error(app.get("/no/such/route").await, 404, "not_found").await;
    let post = app
        .client
        .post(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_error(post, 405, "method_not_allowed").await;
    assert_error(
        app.list_connections("bogus=1").await,
        400,
        "unknown_parameter",
    )
    .await;
    assert_error(
        app.list_connections("identity=a&identity=b").await,
        400,
        "duplicate_parameter",
    )
    .await;
    assert_error(
        app.list_connections("limit=abc").await,
        400,
        "invalid_parameter",
    )
    .await;
    assert_error(
        app.list_connections("identityType=robot").await,
        400,
        "invalid_parameter",
    )
    .await;
    assert_error(
        app.list_connections("active=maybe").await,
        400,
        "invalid_parameter",
    )
    .await;
    assert_error(
        app.get_connection("conn_missing", &app.test_key).await,
        404,
        "not_found",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn every_parameter_an_sdk_sends_is_accepted() {
    let app = spawn_app().await;
    // @picahq/toolkit, @picahq/ai and @picahq/mcp list calls (pica-compat §4, §9).
    for query in [
        "keys=test::x::default::abc|u&identity=u&identityType=user&page=1&limit=100",
        "key=test::x::default::abc|u&platform=slack&identity=u%40x.com&identityType=user&skip=0&limit=100",
        "tags=a,b&active=true&name=x+y&platformVersion=v1",
    ] {
        let r = app.list_connections(query).await;
        assert_eq!(r.status(), 200, "{query}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["total"], 0);
    }
    app.stop().await;
}

/// Every query parameter of every documented operation, given bytes that are not UTF-8 once
/// percent-decoded (`%FF%FE`), is a 400 naming that parameter: never decoded into U+FFFD and used as a
/// filter that matches nothing. The table is the served document, so a new route is covered when added.
#[tokio::test]
async fn every_query_parameter_refuses_invalid_utf8() {
    let app = spawn_app().await;
    let document: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let concrete = path
                .replace("{platform}", "github")
                .replace("{id}", "conn_missing")
                .replace("{path}", "user")
                .replace("{attemptId}", "attempt");
            for name in parameters
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str())
            {
                let url = app.url(&format!("{concrete}?{name}=%FF%FE"));
                let method =
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let response = app
                    .client
                    .request(method.clone(), url)
                    .header("x-pica-secret", &app.test_key)
                    .send()
                    .await
                    .expect("request");
                let what = format!("{method} {path}?{name}=%FF%FE");
                assert_eq!(response.status(), 400, "{what}");
                if path.starts_with("/connections/oauth/callback") {
                    // The callback answers the popup with its HTML page, whatever went wrong.
                    let page = response.text().await.expect("page");
                    assert!(page.contains("invalid_state"), "{what}: {page}");
                    checked.push(what);
                    continue;
                }
                let body = assert_error(response, 400, "invalid_parameter").await;
                let message = body["message"].as_str().expect("message");
                assert!(message.contains(&format!("{name:?}")), "{what}: {message}");
                assert!(message.contains("UTF-8"), "{what}: {message}");
                checked.push(what);
            }
        }
    }
    // The routes the SDKs page through, and the one with its own parameters, are among them.
    for route in [
        "/v1/vault/connections?identity",
        "/v1/authkit?page",
        "/v1/available-connectors?name",
        "/v1/available-actions/{platform}?title",
        "/v1/available-actions/search/{platform}?query",
        "/v1/knowledge?_id",
        "/v1/logs?connectionKey",
        "/v1/integrations?platform",
    ] {
        assert!(
            checked.iter().any(|c| c.contains(route)),
            "{route} not covered: {checked:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let health: serde_json::Value = app.get("/healthz").await.json().await.expect("json");
    assert_eq!(health["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    app.list_connections("").await;
    let metrics = app.get("/metrics").await;
    assert!(metrics
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = metrics.text().await.expect("text");
    assert!(
        text.contains(r#"keyway_http_requests_total{method="GET",route="/v1/vault/connections",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("keyway_http_request_duration_seconds_bucket"),
        "{text}"
    );

    // Readiness follows the database.
    app.broker.store.close().await;
    assert_error(app.get("/readyz").await, 503, "unavailable").await;
}

#[tokio::test]
async fn the_served_openapi_document_matches_the_committed_copy() {
    let committed = include_str!("../../../openapi.json");
    let generated = keyway_server::openapi::document_json();
    if std::env::var_os("KEYWAY_UPDATE_OPENAPI").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json"),
            &generated,
        )
        .expect("write");
        return;
    }
    assert!(
        committed == generated,
        "openapi.json is stale: run `cargo run -q -- openapi > openapi.json` and commit it"
    );
    let app = spawn_app().await;
    let served: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    let committed: serde_json::Value = serde_json::from_str(committed).expect("valid json");
    assert_eq!(served, committed);
    assert!(served["paths"]["/v1/vault/connections"]["get"].is_object());
    assert!(served["components"]["securitySchemes"]["secretKey"].is_object());
    // Passthrough takes five methods on one path; each is documented, with a body where one is sent.
    let passthrough = &served["paths"]["/v1/passthrough/{path}"];
    for (method, body) in [
        ("get", false),
        ("post", true),
        ("put", true),
        ("patch", true),
        ("delete", false),
    ] {
        assert_eq!(
            passthrough[method]["operationId"],
            format!("passthrough_{method}"),
            "{method}"
        );
        assert_eq!(
            passthrough[method]["requestBody"].is_object(),
            body,
            "{method}"
        );
    }
    // Client generators name methods after operation ids: each must be unique.
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (path, item) in served["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                ids.entry(id.to_owned())
                    .or_default()
                    .push(format!("{method} {path}"));
            }
        }
    }
    let repeated: Vec<_> = ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(
        repeated.is_empty(),
        "operation ids used more than once: {repeated:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_secret_key_over_its_rate_limit_gets_429_with_retry_after() {
    let db = keyway_testkit::fresh_database().await;
    let config = keyway::config::Config {
        rate_limit_per_second: 2,
        ..support::test_config(&db)
    };
    let app = support::spawn_with(db, config).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = app.list_connections("").await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)));
            assert_error(r, 429, "rate_limited").await;
        }
    }
    assert_eq!(
        &statuses[..4],
        [200, 200, 200, 200],
        "a burst of twice the rate passes"
    );
    assert!(statuses[4..].contains(&429), "{statuses:?}");
    // Another key has its own bucket.
    assert_eq!(
        app.list_connections_with("", &app.live_key).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_json_body_is_a_413_in_the_error_shape() {
    let app = spawn_app().await;
    let big = "x".repeat(2 * 1024 * 1024);
    let r = app
        .client
        .post(app.url("/v1/vault/connections"))
        .header("x-pica-secret", &app.test_key)
        .header("content-type", "application/json")
        .body(format!("{{\"platform\":\"{big}\"}}"))
        .send()
        .await
        .expect("request");
    assert_error(r, 413, "payload_too_large").await;
    app.stop().await;
}
