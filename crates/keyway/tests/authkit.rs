//! AuthKit tokens, the connect session, and the vault from outside the process, against a fake platform.

mod support;

use serde_json::{json, Value};
use support::fake_platform::{GOOD_KEY, GOOD_TOKEN};
use support::{assert_error, spawn_app_with_fake_platform};

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

#[tokio::test]
async fn authkit_token_lists_only_enabled_integrations_in_one_page_with_a_session_token() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let body = json_of(
        app.create_authkit_token(
            &app.test_key,
            json!({"identity": "user_123", "identityType": "user"}),
        )
        .await,
    )
    .await;
    assert_eq!(body["rows"], json!([]), "nothing is enabled by default");
    assert_eq!(
        (
            body["total"].as_u64(),
            body["pages"].as_u64(),
            body["page"].as_u64()
        ),
        (Some(0), Some(1), Some(1))
    );

    app.enable_integration(&app.test_key, "acme").await;
    let r = app
        .create_authkit_token(
            &app.test_key,
            json!({"identity": "user_123", "identityType": "user"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body = json_of(r).await;
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["type"], "acme");
    assert_eq!(row["title"], "Acme CRM");
    assert_eq!(row["environment"], "test");
    assert_eq!(row["active"], true);
    assert_eq!(row["tags"], json!([]));
    assert!(
        row["id"].is_u64() && row["connectionDefId"].is_u64(),
        "{row}"
    );
    assert!(row["image"]
        .as_str()
        .is_some_and(|u| u.starts_with(&app.base) && u.ends_with("/logos/acme")));
    assert!(body["requestId"]
        .as_str()
        .is_some_and(|r| r.starts_with("req_")));
    assert!(body["sessionToken"]
        .as_str()
        .is_some_and(|t| t.starts_with("akt_")));
    assert_eq!(body["identity"], "user_123");

    // The live environment has its own settings.
    let live = json_of(
        app.create_authkit_token(
            &app.live_key,
            json!({"identity": "user_123", "identityType": "user"}),
        )
        .await,
    )
    .await;
    assert_eq!(live["total"], 0);

    let flags = json_of(app.get_with("/v1/users/flags", &app.test_key).await).await;
    assert_eq!(
        flags,
        json!({"accessList": [], "authkitWhitelist": false, "earlyAccess": [], "completedQuickstart": true})
    );
    app.stop().await;
}

#[tokio::test]
async fn authkit_token_refuses_bad_identities_and_keys_with_clear_errors() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    for body in [
        json!({}),
        json!({"identityType": "user"}),
        json!({"identity": "user|123", "identityType": "user"}),
        json!({"identity": "a:b", "identityType": "user"}),
        json!({"identity": "user_123"}),
        json!({"identity": "user_123", "identityType": "robot"}),
    ] {
        let e = assert_error(
            app.create_authkit_token(&app.test_key, body.clone()).await,
            400,
            "invalid_identity",
        )
        .await;
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("identity")),
            "{body}: {e}"
        );
    }
    let not_json = app
        .client
        .post(app.url("/v1/authkit"))
        .header("x-pica-secret", &app.test_key)
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_error(not_json, 400, "invalid_body").await;
    let bad_key = app
        .create_authkit_token(
            "sk_test_nope",
            json!({"identity": "u", "identityType": "user"}),
        )
        .await;
    assert_error(bad_key, 401, "unauthorized").await;
    app.stop().await;
}

#[tokio::test]
async fn a_session_connects_an_api_key_integration_for_its_identity_only() {
    let (app, fake) = spawn_app_with_fake_platform().await;
    app.enable_integration(&app.test_key, "acme").await;
    let token = app.session_for("user_123").await;

    let list = json_of(app.modal_integrations(&token).await).await;
    assert_eq!(list["total"], 1);
    let acme = &list["rows"][0];
    assert_eq!(acme["platform"], "acme");
    assert_eq!(acme["authKind"], "api_key");
    assert_eq!(acme["fields"][0]["name"], "apiKey");
    assert_eq!(acme["fields"][0]["secret"], true);
    assert_eq!(acme["fields"][0]["pattern"], "^acme_[a-z0-9]+$");

    // Malformed value: refused before any upstream call, naming the field, never echoing the value.
    let e = assert_error(
        app.modal_connect(
            &token,
            json!({"platform": "acme", "formData": {"apiKey": "WRONG-shape"}}),
        )
        .await,
        422,
        "invalid_form",
    )
    .await;
    assert!(e["details"]["fields"]["apiKey"].is_string(), "{e}");
    assert!(!e.to_string().contains("WRONG-shape"));
    assert_eq!(fake.calls(), 0);
    let e = assert_error(
        app.modal_connect(&token, json!({"platform": "acme", "formData": {}}))
            .await,
        422,
        "invalid_form",
    )
    .await;
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("apiKey")),
        "{e}"
    );

    // Well-formed but wrong: the platform's test request says no.
    let e = assert_error(
        app.modal_connect(
            &token,
            json!({"platform": "acme", "formData": {"apiKey": "acme_bad"}}),
        )
        .await,
        422,
        "credentials_rejected",
    )
    .await;
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("Acme CRM") && m.contains("401")),
        "{e}"
    );
    assert_eq!(fake.calls(), 1);

    let r = app
        .modal_connect(&token, json!({"platform": "acme", "formData": {"apiKey": GOOD_KEY, "region": "eu"}, "name": "Work"}))
        .await;
    assert_eq!(r.status(), 201);
    let record = json_of(r).await;
    let key = record["key"].as_str().expect("key");
    let (prefix, identity) = key.split_once('|').expect("identity suffix");
    assert_eq!(identity, "user_123");
    let parts: Vec<&str> = prefix.split("::").collect();
    assert_eq!(parts[..3], ["test", "acme", "default"]);
    assert!(
        parts[3].len() == 32 && parts[3].bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    assert!(
        record["createdAt"].is_i64(),
        "LINK_SUCCESS times are epoch ms: {record}"
    );
    assert_eq!(record["_id"], record["id"]);
    assert_eq!(record["name"], "Work");
    assert_eq!(record["state"], "operational");
    assert!(
        !record.to_string().contains(GOOD_KEY),
        "no credentials in the record"
    );
    let id = record["id"].as_str().expect("id").to_owned();

    // Another identity's connection, and the listings.
    let other = app.session_for("user_456").await;
    assert_eq!(
        app.modal_connect(
            &other,
            json!({"platform": "acme", "formData": {"apiKey": GOOD_KEY}})
        )
        .await
        .status(),
        201
    );
    let mine = json_of(app.list_connections("identity=user_123").await).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["rows"][0]["key"], key, "byte-identical key");
    assert_eq!(mine["rows"][0]["identityType"], "user");
    assert!(
        mine["rows"][0]["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "vault times are ISO-8601"
    );
    let all = json_of(app.list_connections("").await).await;
    assert_eq!(all["total"], 2);
    let by_key = json_of(
        app.list_connections(&format!("keys={}", urlencode(key)))
            .await,
    )
    .await;
    assert_eq!(by_key["total"], 1);

    // The live environment sees none of it.
    let live = json_of(app.list_connections_with("", &app.live_key).await).await;
    assert_eq!(live["total"], 0);
    assert_error(
        app.get_connection(&id, &app.live_key).await,
        404,
        "not_found",
    )
    .await;
    let got = json_of(app.get_connection(&id, &app.test_key).await).await;
    assert_eq!(got["key"], key);

    // The credentials are sealed at rest.
    let sealed = app
        .broker
        .store
        .sealed(&format!("{id}/credentials"))
        .await
        .expect("q")
        .expect("sealed row");
    assert!(!sealed
        .blob
        .as_bytes()
        .windows(GOOD_KEY.len())
        .any(|w| w == GOOD_KEY.as_bytes()));
    app.stop().await;
}

#[tokio::test]
async fn tags_can_be_set_and_filtered_and_delete_removes_the_connection_and_its_secret() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    app.enable_integration(&app.test_key, "acme").await;
    let token = app.session_for("user_123").await;
    let record = json_of(
        app.modal_connect(
            &token,
            json!({"platform": "acme", "formData": {"apiKey": GOOD_KEY}}),
        )
        .await,
    )
    .await;
    let id = record["id"].as_str().expect("id").to_owned();

    let updated = json_of(
        app.patch_connection(&id, &app.test_key, json!({"tags": ["crm", "vip", "crm"]}))
            .await,
    )
    .await;
    assert_eq!(updated["tags"], json!(["crm", "vip"]));
    let tagged = json_of(app.list_connections("tags=vip").await).await;
    assert_eq!(tagged["total"], 1);
    let untagged = json_of(app.list_connections("tags=vip,other").await).await;
    assert_eq!(untagged["total"], 0);
    assert_error(
        app.patch_connection(&id, &app.test_key, json!({"tags": ["a,b"]}))
            .await,
        400,
        "invalid_body",
    )
    .await;
    assert_error(
        app.patch_connection(&id, &app.test_key, json!({"tags": ["x"], "active": false}))
            .await,
        400,
        "invalid_body",
    )
    .await;
    assert_error(
        app.patch_connection(&id, &app.live_key, json!({"tags": ["x"]}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.delete_connection(&id, &app.live_key).await,
        404,
        "not_found",
    )
    .await;

    let deleted = app.delete_connection(&id, &app.test_key).await;
    assert_eq!(deleted.status(), 200);
    assert!(deleted.text().await.expect("body").is_empty());
    assert_error(
        app.get_connection(&id, &app.test_key).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(json_of(app.list_connections("").await).await["total"], 0);
    assert!(app
        .broker
        .store
        .sealed(&format!("{id}/credentials"))
        .await
        .expect("q")
        .is_none());
    assert_error(
        app.delete_connection(&id, &app.test_key).await,
        404,
        "not_found",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn sessions_are_bound_and_refusals_create_nothing() {
    let (app, fake) = spawn_app_with_fake_platform().await;
    let token = app.session_for("user_123").await;
    // Not enabled yet; unknown platform; OAuth through the form; garbage and missing tokens.
    assert_error(
        app.modal_connect(
            &token,
            json!({"platform": "acme", "formData": {"apiKey": GOOD_KEY}}),
        )
        .await,
        403,
        "integration_disabled",
    )
    .await;
    assert_error(
        app.modal_connect(&token, json!({"platform": "nope", "formData": {}}))
            .await,
        404,
        "unknown_platform",
    )
    .await;
    app.enable_integration(&app.test_key, "acme-oauth").await;
    assert_error(
        app.modal_connect(&token, json!({"platform": "acme-oauth", "formData": {}}))
            .await,
        422,
        "oauth_required",
    )
    .await;
    assert_error(
        app.modal_connect("akt_garbage", json!({"platform": "acme", "formData": {}}))
            .await,
        401,
        "invalid_session",
    )
    .await;
    let no_token = app
        .client
        .post(app.url("/v1/authkit/connections"))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_error(no_token, 401, "invalid_session").await;
    // A secret key is not a session token, and a session token is not a secret key.
    assert_error(
        app.modal_integrations(&app.test_key).await,
        401,
        "invalid_session",
    )
    .await;
    assert_error(
        app.list_connections_with("", &token).await,
        401,
        "unauthorized",
    )
    .await;

    // An expired session stops working.
    app.enable_integration(&app.test_key, "acme").await;
    let expiring = app.session_for("user_789").await;
    assert_eq!(app.modal_integrations(&expiring).await.status(), 200);
    expire_all_sessions(&app).await;
    assert_error(
        app.modal_integrations(&expiring).await,
        401,
        "invalid_session",
    )
    .await;
    assert_error(
        app.modal_connect(
            &expiring,
            json!({"platform": "acme", "formData": {"apiKey": GOOD_KEY}}),
        )
        .await,
        401,
        "invalid_session",
    )
    .await;

    assert_eq!(
        json_of(app.list_connections("").await).await["total"],
        0,
        "nothing was created"
    );
    assert_eq!(fake.calls(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_backend_imports_existing_credentials_including_oauth_tokens() {
    let (app, fake) = spawn_app_with_fake_platform().await;
    let r = app
        .import_connection(
            &app.test_key,
            json!({"platform": "acme", "identity": "team_9", "identityType": "team",
            "authFormData": {"apiKey": GOOD_KEY}, "tags": ["imported"]}),
        )
        .await;
    assert_eq!(r.status(), 201, "import needs no AuthKit enablement");
    let c = json_of(r).await;
    assert_eq!(c["identityType"], "team");
    assert_eq!(c["tags"], json!(["imported"]));
    assert!(c["createdAt"].is_string());

    let r = app
        .import_connection(&app.test_key, json!({"platform": "acme-oauth", "identity": "team_9", "identityType": "team",
            "authFormData": {"accessToken": GOOD_TOKEN, "refreshToken": "r1", "expiresIn": "3600"}}))
        .await;
    assert_eq!(r.status(), 201);
    let oauth = json_of(r).await;
    assert_eq!(oauth["platform"], "acme-oauth");
    let stored = app
        .broker
        .connection(
            &app.broker
                .keys
                .authenticate(Some(&app.test_key))
                .await
                .expect("ok")
                .expect("principal"),
            oauth["id"].as_str().expect("id"),
        )
        .await
        .expect("q")
        .expect("stored");
    assert!(stored.oauth_expires_at.is_some());

    assert_error(
        app.import_connection(
            &app.test_key,
            json!({"platform": "acme-oauth", "identity": "t", "identityType": "team",
        "authFormData": {"accessToken": "tok_bad"}}),
        )
        .await,
        422,
        "credentials_rejected",
    )
    .await;
    assert_error(
        app.import_connection(
            &app.test_key,
            json!({"platform": "acme-oauth", "identity": "t", "identityType": "team",
        "authFormData": {}}),
        )
        .await,
        422,
        "invalid_form",
    )
    .await;
    assert_error(
        app.import_connection(
            &app.test_key,
            json!({"platform": "acme", "identity": "a b", "identityType": "team",
        "authFormData": {"apiKey": GOOD_KEY}}),
        )
        .await,
        400,
        "invalid_identity",
    )
    .await;
    assert_error(
        app.import_connection(
            &app.test_key,
            json!({"platform": "acme", "identity": "t", "identityType": "team",
        "authFormData": {"apiKey": GOOD_KEY}, "extra": 1}),
        )
        .await,
        400,
        "invalid_body",
    )
    .await;
    assert_eq!(
        json_of(app.list_connections("identity=team_9").await).await["total"],
        2
    );
    assert_eq!(fake.calls(), 3);
    app.stop().await;
}

async fn expire_all_sessions(app: &support::TestApp) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.db.url)
        .await
        .expect("connect");
    sqlx::query("UPDATE authkit_sessions SET expires_at = 0")
        .execute(&mut conn)
        .await
        .expect("expire");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
