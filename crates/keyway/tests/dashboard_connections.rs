//! The dashboard's browsing pages over real HTTP on either store: connections (search by identity,
//! keyset pages, tags, a test through the connection, deletion after confirmation) and the request log.

mod support;

use support::dashboard::{between, first_owner};
use support::{fake_platform, spawn_app_with_fake_platform, TestApp};

async fn json(r: reqwest::Response) -> serde_json::Value {
    r.json().await.expect("json")
}
async fn import(app: &TestApp, identity: &str, tags: &[&str]) -> String {
    let r = app
        .import_connection(
            &app.test_key,
            serde_json::json!({"platform": "acme", "identity": identity, "identityType": "user",
                "authFormData": {"apiKey": fake_platform::GOOD_KEY}, "tags": tags}),
        )
        .await;
    assert_eq!(r.status(), 201);
    json(r).await["id"].as_str().expect("id").to_owned()
}

/// Identities linked on a connections page, in order.
fn identities(page: &str) -> Vec<String> {
    page.split("class=\"cell-link break\" href=\"")
        .skip(1)
        .filter_map(|s| between(s, "\">", "</a>"))
        .collect()
}

#[tokio::test]
async fn connections_are_found_by_identity_paged_tagged_tested_and_deleted() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let empty = owner.get(&format!("{root}/connections")).await;
    assert!(
        empty.body.contains("No connections yet") && empty.body.contains("Try the modal"),
        "the empty state teaches"
    );

    for i in 0..60 {
        import(
            &app,
            &format!("user_{i:03}"),
            if i % 2 == 0 { &["even"] } else { &[] },
        )
        .await;
    }
    let target = import(&app, "org_acme", &["vip"]).await;

    // Prefix search lists in identity order; exact finds one.
    let prefix = owner
        .get(&format!("{root}/connections?identity=user_01&match=prefix"))
        .await;
    assert_eq!(
        identities(&prefix.body),
        (10..20).map(|i| format!("user_{i:03}")).collect::<Vec<_>>()
    );
    let exact = owner
        .get(&format!("{root}/connections?identity=org_acme&match=exact"))
        .await;
    assert_eq!(identities(&exact.body), vec!["org_acme".to_owned()]);
    let tagged = owner
        .get(&format!("{root}/connections?tags=even&identity=user_00"))
        .await;
    assert_eq!(
        identities(&tagged.body),
        vec!["user_000", "user_002", "user_004", "user_006", "user_008"]
    );
    let bad = owner
        .get(&format!("{root}/connections?identity=has%20space"))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("must not contain spaces"));

    // Keyset pages cover every row once, newest first.
    let mut seen = Vec::new();
    let mut next = Some(format!("{root}/connections"));
    let mut pages = 0;
    while let Some(path) = next {
        let page = owner.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("61 connections"));
        seen.extend(identities(&page.body));
        next = page.link("next");
        pages += 1;
        assert!(pages < 5, "paging does not end: {next:?}");
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 61);
    assert_eq!(seen[0], "org_acme");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 61);

    // Detail: tags edited with the API's rules, a test through the connection, then delete.
    let detail_path = format!("{root}/connections/{target}");
    let detail = owner.get(&detail_path).await;
    assert!(detail.body.contains("org_acme") && detail.body.contains("vip"));
    let csrf = detail.csrf();
    let too_long = "x".repeat(65);
    let bad_tags = owner
        .post(
            &format!("{detail_path}/tags"),
            &[("_csrf", &csrf), ("tags", &too_long)],
        )
        .await;
    assert_eq!(bad_tags.status, 400);
    assert!(bad_tags
        .body
        .contains("each tag must be 1 to 64 characters"));
    let tags = owner
        .post(
            &format!("{detail_path}/tags"),
            &[("_csrf", &csrf), ("tags", "vip, renewal")],
        )
        .await;
    assert_eq!(tags.status, 303);
    let api = json(app.get_connection(&target, &app.test_key).await).await;
    assert_eq!(api["tags"], serde_json::json!(["vip", "renewal"]));

    let tested = owner
        .post(&format!("{detail_path}/test"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(tested.status, 303);
    app.broker.request_log.flush().await;
    let after = owner.get(&detail_path).await;
    assert!(
        after.body.contains("Test passed: GET /me answered 200"),
        "{}",
        after.body
    );
    assert!(
        after.body.contains("<code>/me</code>"),
        "the test is in the connection's recent requests"
    );
    assert!(
        after.body.contains("Set the tags of a connection to"),
        "history"
    );

    let confirm = owner
        .post(
            &format!("{detail_path}/delete"),
            &[("_csrf", &csrf), ("confirmed", "")],
        )
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm
        .text()
        .contains("Delete org_acme's Acme CRM connection?"));
    assert_eq!(
        app.get_connection(&target, &app.test_key).await.status(),
        200,
        "not yet"
    );
    let deleted = owner
        .post(
            &format!("{detail_path}/delete"),
            &[("_csrf", &csrf), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        app.get_connection(&target, &app.test_key).await.status(),
        404
    );
    assert_eq!(owner.get(&detail_path).await.status, 404);
    let audit = owner.get(&format!("{root}/audit?kind=connection")).await;
    assert!(audit.text().contains("Deleted org_acme's acme connection"));
    assert!(audit.body.contains("owner@example.com"));
}

#[tokio::test]
async fn requests_are_listed_filtered_and_opened_without_query_values() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let key = app.acme_connection_key("user_req").await;
    for path in ["/me?secret=hunter2", "/missing"] {
        app.client
            .get(app.url(&format!("/v1/passthrough{path}")))
            .header("x-pica-secret", &app.test_key)
            .header("x-pica-connection-key", &key)
            .send()
            .await
            .expect("passthrough");
    }
    app.broker.request_log.flush().await;
    let page = owner.get(&format!("{root}/requests")).await;
    assert!(
        page.body.contains("/me?secret") && page.body.contains("/missing"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("hunter2"));
    let only_4xx = owner.get(&format!("{root}/requests?status=4")).await;
    assert!(only_4xx.body.contains("/missing") && !only_4xx.body.contains("/me?secret"));
    let by_identity = owner.get(&format!("{root}/requests?identity=nobody")).await;
    assert!(by_identity.body.contains("No request matches"));
    let id = between(&page.body, &format!("href=\"{root}/requests/"), "\"").expect("a row link");
    let detail = owner.get(&format!("{root}/requests/{id}")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains("req_") && detail.body.contains("user_req"));
}
