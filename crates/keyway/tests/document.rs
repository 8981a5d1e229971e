//! The OpenAPI document is as strict as the server, no looser: every status an operation can answer is
//! documented, the limits the code enforces are written into the schemas, and the server refuses what
//! the schemas exclude (paging past its bound, NUL in text, methods passthrough does not relay). The
//! whole document is also fuzzed against the binary by `scripts/schemathesis`.

mod support;

use serde_json::{json, Value};
use support::{assert_error, spawn_app, spawn_app_with_fake_platform, TestApp};

const MAX_PAGING: u64 = 2_147_483_647;

async fn document(app: &TestApp) -> Value {
    app.get("/openapi.json").await.json().await.expect("json")
}

/// Every operation of the served document, as (label, operation).
fn operations(doc: &Value) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            all.push((
                format!("{} {path}", method.to_uppercase()),
                operation.clone(),
            ));
        }
    }
    all
}

fn component<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

#[tokio::test]
async fn every_status_an_operation_can_answer_is_documented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (label, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        let has = |status: &str| responses.contains_key(status);
        let security = operation["security"].to_string();
        let query = operation["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        let json_body = operation["requestBody"]["content"]["application/json"].is_object();
        if security.contains("secretKey") {
            for status in ["400", "401", "429"] {
                assert!(has(status), "{label} lacks {status}");
            }
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{label}: 429 without Retry-After"
            );
        }
        if security.contains("authkitSession") {
            assert!(has("401"), "{label} lacks 401");
        }
        if query {
            assert!(has("400"), "{label} takes a query but lacks 400");
        }
        if json_body {
            for status in ["400", "413", "415"] {
                assert!(has(status), "{label} takes JSON but lacks {status}");
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_limits_the_code_enforces_are_in_the_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    // Paging: every list's skip, page and limit are bounded.
    let mut paged = 0;
    for (label, operation) in operations(&doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if ["skip", "page", "limit"].contains(&parameter["name"].as_str().unwrap_or("")) {
                assert_eq!(parameter["schema"]["minimum"], 0, "{label}");
                assert_eq!(parameter["schema"]["maximum"], MAX_PAGING, "{label}");
                paged += 1;
            }
        }
        // No string a request carries may hold NUL: each has a pattern (the server refuses NUL).
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let schema = &parameter["schema"];
            if parameter["in"] == "query" && schema["type"] == "string" && schema["enum"].is_null()
            {
                assert!(
                    schema["pattern"].is_string(),
                    "{label} {}",
                    parameter["name"]
                );
            }
        }
    }
    assert!(paged >= 20, "{paged}");
    let schemas = &doc["components"]["schemas"];
    let import = &schemas["ImportConnection"]["properties"];
    assert_eq!(import["tags"]["maxItems"], 32);
    assert!(import["tags"]["items"]["pattern"]
        .as_str()
        .is_some_and(|p| p.contains("{0,62}")));
    assert!(import["identity"]["pattern"]
        .as_str()
        .is_some_and(|p| p.contains("{1,128}") && p.contains(":|")));
    assert_eq!(
        component(&doc, &import["identityType"])["enum"],
        json!(["user", "team", "organization", "project"])
    );
    assert_eq!(
        import["authFormData"]["additionalProperties"]["type"],
        "string"
    );
    let authkit = &schemas["AuthkitRequest"];
    assert_eq!(authkit["required"], json!(["identity", "identityType"]));
    let app_input = &schemas["OAuthAppInput"]["properties"];
    assert!(app_input["clientId"]["pattern"]
        .as_str()
        .is_some_and(|p| p.contains("{0,510}")));
    assert!(app_input["clientSecret"]["pattern"]
        .as_str()
        .is_some_and(|p| p.contains("{0,4094}")));
    assert!(app_input["scopes"]["items"]["pattern"]
        .as_str()
        .is_some_and(|p| p.contains("{1,256}")));
    let passthrough = &doc["paths"]["/v1/passthrough/{path}"]["get"]["parameters"];
    let action = passthrough
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "x-pica-action-id")
        .expect("x-pica-action-id");
    assert_eq!(
        action["schema"]["pattern"],
        "^conn_mod_def::[A-Za-z0-9_-]{11}::[A-Za-z0-9_-]{22}$"
    );
    app.stop().await;
}

#[tokio::test]
async fn paging_numbers_past_the_bound_are_refused() {
    let app = spawn_app().await;
    for query in [
        "skip=2147483648",
        "skip=9223372036854775808",
        "page=2147483648",
        "limit=2147483648",
        "skip=%2B1",
        "skip=1.0",
        "skip=",
    ] {
        assert_error(app.list_connections(query).await, 400, "invalid_parameter").await;
    }
    let r = app.list_connections("skip=2147483647&limit=1000").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["skip"], MAX_PAGING);
    assert_eq!(body["page"], MAX_PAGING / 1000 + 1);
    app.stop().await;
}

#[tokio::test]
async fn passthrough_refuses_methods_it_does_not_relay_with_405_and_allow() {
    let (app, fake) = spawn_app_with_fake_platform().await;
    let key = app.acme_connection_key("user_m").await;
    let calls = fake.calls();
    for method in ["TRACE", "OPTIONS", "QUERY", "HEAD", "PROPFIND"] {
        let r = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                app.url("/v1/passthrough/echo"),
            )
            .header("x-pica-secret", &app.test_key)
            .header("x-pica-connection-key", &key)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 405, "{method}");
        assert_eq!(
            r.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("GET,POST,PUT,PATCH,DELETE"),
            "{method}"
        );
        if method != "HEAD" {
            assert_error(r, 405, "method_not_allowed").await;
        }
    }
    assert_eq!(fake.calls(), calls, "nothing reached the platform");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_connection_is_a_404_whatever_the_action_id_says() {
    let app = spawn_app().await;
    let pass = |action: Option<&str>| {
        let mut request = app
            .client
            .get(app.url("/v1/passthrough/repos/o/r/issues"))
            .header("x-pica-secret", &app.test_key)
            .header("x-pica-connection-key", "test::github::default::0|nobody");
        if let Some(action) = action {
            request = request.header("x-pica-action-id", action);
        }
        request.send()
    };
    let unknown = "conn_mod_def::AAAAAAAAAAA::AAAAAAAAAAAAAAAAAAAAAA";
    assert_error(pass(Some(unknown)).await.expect("r"), 404, "not_found").await;
    let r = app
        .patch_settings(&app.test_key, json!({"requireActionIds": true}))
        .await;
    assert_eq!(r.status(), 200);
    assert_error(pass(None).await.expect("r"), 404, "not_found").await;
    app.stop().await;
}

#[tokio::test]
async fn text_with_nul_is_refused_on_either_store_never_a_server_error() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    for (path, name) in [
        ("/v1/vault/connections?identity=a%00", "identity"),
        ("/v1/vault/connections?name=%00", "name"),
        ("/v1/logs?connectionKey=a%00b", "connectionKey"),
        ("/v1/available-connectors?category=%00", "category"),
    ] {
        let body = assert_error(
            app.get_with(path, &app.test_key).await,
            400,
            "invalid_parameter",
        )
        .await;
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(name) && m.contains("NUL")),
            "{path}: {body}"
        );
    }
    assert_error(
        app.get_connection("conn%00x", &app.test_key).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch_connection("conn%00x", &app.test_key, json!({"tags": []}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.delete_connection("conn%00x", &app.test_key).await,
        404,
        "not_found",
    )
    .await;
    // A public form field is stored as given: NUL in it is refused before anything is stored.
    assert_error(
        app.import_connection(
            &app.test_key,
            json!({"platform": "acme", "identity": "user_n", "identityType": "user",
                "authFormData": {"apiKey": support::fake_platform::GOOD_KEY, "region": "eu\u{0}"}}),
        )
        .await,
        400,
        "invalid_body",
    )
    .await;
    assert_error(
        app.patch_integration(
            &app.test_key,
            "acme-oauth",
            json!({"oauthApp": {"clientId": "id\u{0}", "clientSecret": "s"}}),
        )
        .await,
        400,
        "invalid_body",
    )
    .await;
    let r = app.list_connections("").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["total"], 0, "nothing was stored: {body}");
    app.stop().await;
}

#[tokio::test]
async fn the_limits_the_document_states_are_the_ones_enforced() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    app.acme_connection_key("user_l").await;
    let id = app
        .list_connections("")
        .await
        .json::<Value>()
        .await
        .expect("json")["rows"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Tags: at most 32 as given (duplicates are dropped after counting), each 1–64 characters trimmed.
    let mut tags: Vec<String> = (0..32).map(|i| format!("t{i}")).collect();
    let r = app
        .patch_connection(&id, &app.test_key, json!({"tags": tags}))
        .await;
    assert_eq!(r.status(), 200);
    tags.push("t0".into());
    assert_error(
        app.patch_connection(&id, &app.test_key, json!({"tags": tags}))
            .await,
        400,
        "invalid_body",
    )
    .await;
    let r = app
        .patch_connection(
            &id,
            &app.test_key,
            json!({"tags": [format!(" {} ", "é".repeat(64))]}),
        )
        .await;
    assert_eq!(r.status(), 200, "64 characters once trimmed");
    // OAuth app settings count characters, not bytes.
    let r = app
        .patch_integration(
            &app.test_key,
            "acme-oauth",
            json!({"oauthApp": {"clientId": "é".repeat(512), "clientSecret": "é".repeat(4096),
                "scopes": ["é".repeat(256)]}}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert_error(
        app.patch_integration(
            &app.test_key,
            "acme-oauth",
            json!({"oauthApp": {"clientId": "é".repeat(513)}}),
        )
        .await,
        400,
        "invalid_body",
    )
    .await;
    // An OAuth app for a platform that does not use OAuth: the request is well formed, the platform
    // does not take it.
    assert_error(
        app.patch_integration(
            &app.test_key,
            "acme",
            json!({"oauthApp": {"clientId": "id", "clientSecret": "s"}}),
        )
        .await,
        422,
        "not_oauth",
    )
    .await;
    // Connection keys: at most 500 in each of key and keys.
    let keys = |n: usize| vec!["k"; n].join(",");
    let r = app
        .list_connections(&format!("key={}&keys={}", keys(500), keys(300)))
        .await;
    assert_eq!(r.status(), 200);
    assert_error(
        app.list_connections(&format!("keys={}", keys(501))).await,
        400,
        "invalid_parameter",
    )
    .await;
    // Search: the query must hold something besides white space (Unicode's, as trimming sees it).
    for blank in ["", "+", "%E3%80%80"] {
        assert_error(
            app.get_with(
                &format!("/v1/available-actions/search/github?query={blank}"),
                &app.test_key,
            )
            .await,
            400,
            "invalid_parameter",
        )
        .await;
    }
    app.stop().await;
}
