//! Integration settings (AuthKit visibility, customer OAuth apps with sealed secrets), the connectors
//! catalogue and logos, from outside the process.

mod support;

use serde_json::{json, Value};
use support::{assert_error, spawn_app_with_fake_platform};

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

#[tokio::test]
async fn integration_settings_keep_client_secrets_sealed_and_show_the_redirect_uri() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let list = json_of(
        app.get_with("/v1/integrations?limit=1000", &app.test_key)
            .await,
    )
    .await;
    assert!(
        list["total"].as_u64().is_some_and(|t| t >= 42),
        "built-in catalog plus the two fakes: {}",
        list["total"]
    );
    assert!(list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["enabled"] == false));

    let secret = "super-secret-client-value-1234";
    let r = app
        .patch_integration(&app.test_key, "acme-oauth", json!({"enabled": true,
            "oauthApp": {"clientId": "client-abc", "clientSecret": secret, "scopes": ["read", "write"]}}))
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    assert!(!text.contains(secret), "{text}");
    let view: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(view["oauthApp"]["clientId"], "client-abc");
    assert_eq!(view["oauthApp"]["clientSecretDisplay"], "••••••••1234");
    assert_eq!(view["oauthApp"]["scopes"], "read write");
    assert_eq!(
        view["redirectUri"],
        format!("{}/connections/oauth/callback", app.base)
    );

    let token = json_of(
        app.create_authkit_token(
            &app.test_key,
            json!({"identity": "u1", "identityType": "user"}),
        )
        .await,
    )
    .await;
    let row = &token["rows"][0];
    assert_eq!(row["clientIdDisplay"], "client-abc");
    assert_eq!(row["clientSecretDisplay"], "••••••••1234");
    assert!(!token.to_string().contains(secret));

    // Changing scopes keeps the stored secret; an API-key platform takes no OAuth app; null removes it.
    let kept = json_of(
        app.patch_integration(
            &app.test_key,
            "acme-oauth",
            json!({"oauthApp": {"clientId": "client-abc", "scopes": ["read"]}}),
        )
        .await,
    )
    .await;
    assert_eq!(kept["oauthApp"]["clientSecretDisplay"], "••••••••1234");
    assert_error(
        app.patch_integration(
            &app.test_key,
            "acme",
            json!({"oauthApp": {"clientId": "x", "clientSecret": "y"}}),
        )
        .await,
        422,
        "not_oauth",
    )
    .await;
    assert_error(
        app.patch_integration(&app.test_key, "nope", json!({"enabled": true}))
            .await,
        404,
        "unknown_platform",
    )
    .await;
    assert_error(
        app.patch_integration(&app.test_key, "acme", json!({"enabeld": true}))
            .await,
        400,
        "invalid_body",
    )
    .await;
    let removed = json_of(
        app.patch_integration(&app.test_key, "acme-oauth", json!({"oauthApp": null}))
            .await,
    )
    .await;
    assert!(removed["oauthApp"].is_null());
    assert_eq!(removed["enabled"], true);

    // Test and live are separate.
    let live = json_of(
        app.get_with("/v1/integrations?enabled=true", &app.live_key)
            .await,
    )
    .await;
    assert_eq!(live["total"], 0);
    app.stop().await;
}

#[tokio::test]
async fn available_connectors_and_logos() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let all = json_of(
        app.get_with("/v1/available-connectors?limit=100", &app.test_key)
            .await,
    )
    .await;
    assert!(all["total"].as_u64().is_some_and(|t| t >= 42));
    let slack = all["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["platform"] == "slack")
        .expect("slack")
        .clone();
    assert_eq!(slack["key"], "api::slack::v1");
    assert_eq!(slack["oauth"], true);
    assert_eq!(slack["active"], true);
    assert_eq!(slack["deprecated"], false);
    assert!(slack["tags"].is_array());

    let none = json_of(
        app.get_with(
            "/v1/available-connectors?authkit=true&skip=0&limit=100",
            &app.test_key,
        )
        .await,
    )
    .await;
    assert_eq!(none["total"], 0);
    app.enable_integration(&app.test_key, "acme").await;
    let one = json_of(
        app.get_with("/v1/available-connectors?authkit=true", &app.test_key)
            .await,
    )
    .await;
    assert_eq!(one["total"], 1);
    assert_eq!(one["rows"][0]["platform"], "acme");
    let page = json_of(
        app.get_with("/v1/available-connectors?limit=5&page=2", &app.test_key)
            .await,
    )
    .await;
    assert_eq!(page["rows"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["skip"], 5);
    assert_error(
        app.get_with("/v1/available-connectors?bogus=1", &app.test_key)
            .await,
        400,
        "unknown_parameter",
    )
    .await;

    let logo = app.get("/logos/slack").await;
    assert_eq!(logo.status(), 200);
    assert_eq!(
        logo.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/svg+xml")
    );
    assert!(logo.text().await.expect("svg").contains("<svg"));
    assert_error(app.get("/logos/nope").await, 404, "not_found").await;
    app.stop().await;
}
