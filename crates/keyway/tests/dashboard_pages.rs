//! What an operator does in the dashboard, end to end over HTTP on either store: integrations and
//! OAuth apps, connections, keys, settings and branding, requests, accounts, projects, "Try the modal",
//! and the audit trail that records it all (with the API's and the CLI's changes) without a secret.

mod support;

use keyway_core::operator::Role;
use support::dashboard::{account_with_role, between, first_owner, Browser};
use support::{fake_platform, spawn_app_with_fake_platform, TestApp};

async fn json(r: reqwest::Response) -> serde_json::Value {
    r.json().await.expect("json")
}

async fn modal_platforms(app: &TestApp) -> Vec<String> {
    let token = app.session_for("someone").await;
    let list = json(app.modal_integrations(&token).await).await;
    list["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["platform"].as_str().expect("platform").to_owned())
        .collect()
}

#[tokio::test]
async fn an_integration_switched_on_shows_in_the_modal_and_the_filters_narrow_the_list() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let page = owner.get(&format!("{root}/integrations")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Acme CRM") && page.body.contains("Slack"));
    assert!(page.body.contains("/logos/acme"));
    assert!(modal_platforms(&app).await.is_empty());

    let csrf = page.csrf();
    let on = owner
        .post(
            &format!("{root}/integrations/acme/visibility"),
            &[("_csrf", &csrf), ("enabled", "true")],
        )
        .await;
    assert_eq!(on.status, 303);
    assert_eq!(modal_platforms(&app).await, vec!["acme".to_owned()]);
    let after = owner.get(on.location().expect("back")).await;
    assert!(
        after
            .body
            .contains("Acme CRM now shows in the connect modal."),
        "one-time message"
    );
    assert!(
        !owner
            .get(&format!("{root}/integrations"))
            .await
            .body
            .contains("now shows in"),
        "shown once"
    );
    // The live environment is untouched.
    let live = json(
        app.create_authkit_token(
            &app.live_key,
            serde_json::json!({"identity": "u", "identityType": "user"}),
        )
        .await,
    )
    .await;
    assert_eq!(live["rows"].as_array().expect("rows").len(), 0);

    // Filters without script: rows not matching are hidden, counted out.
    let crm = owner
        .get(&format!("{root}/integrations?category=CRM&show=enabled"))
        .await;
    assert!(
        crm.body.contains("1 listed"),
        "{}",
        between(&crm.body, "data-shown-count>", "<").unwrap_or_default()
    );
    let none = owner
        .get(&format!("{root}/integrations?q=zzzz-nothing"))
        .await;
    assert!(none.body.contains("0 listed"));
}

#[tokio::test]
async fn an_oauth_app_is_checked_like_the_api_and_its_secret_never_comes_back() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let detail = owner.get(&format!("{root}/integrations/acme-oauth")).await;
    assert_eq!(detail.status, 200);
    let redirect = format!("{}/connections/oauth/callback", app.base);
    assert!(
        detail.body.contains(&redirect),
        "the redirect URI to register"
    );
    assert!(
        detail.body.contains("value=\"read\""),
        "the catalog's default scopes pre-filled"
    );
    let csrf = detail.csrf();
    let path = format!("{root}/integrations/acme-oauth/oauth-app");

    let bad = owner
        .post(
            &path,
            &[
                ("_csrf", &csrf),
                ("client_id", "  "),
                ("client_secret", "x"),
                ("scopes", "read"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("clientId must be 1 to 512 characters"),
        "the API's own check"
    );
    let bad_scope = owner
        .post(
            &path,
            &[
                ("_csrf", &csrf),
                ("client_id", "cid"),
                ("client_secret", "x"),
                ("scopes", "read wr\u{1}ite"),
            ],
        )
        .await;
    assert_eq!(bad_scope.status, 400);

    let secret = "super-secret-client-value-1234";
    let saved = owner
        .post(
            &path,
            &[
                ("_csrf", &csrf),
                ("client_id", "my-client"),
                ("client_secret", secret),
                ("scopes", "read write"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shown = owner.get(&format!("{root}/integrations/acme-oauth")).await;
    assert!(shown.body.contains("••••••••1234"), "a masked hint");
    assert!(!shown.body.contains(secret), "never the secret");
    assert!(
        shown.body.contains("value=\"my-client\"") && shown.body.contains("value=\"read write\"")
    );
    // The API sees the same app.
    let listed = json(app.get_with("/v1/integrations", &app.test_key).await).await;
    let row = listed["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["platform"] == "acme-oauth")
        .cloned()
        .expect("row");
    assert_eq!(row["oauthApp"]["clientId"], "my-client");
    // Saving again without a secret keeps the stored one.
    let kept = owner
        .post(
            &path,
            &[
                ("_csrf", &csrf),
                ("client_id", "my-client-2"),
                ("client_secret", ""),
                ("scopes", "read"),
            ],
        )
        .await;
    assert_eq!(kept.status, 303);
    assert!(owner
        .get(&format!("{root}/integrations/acme-oauth"))
        .await
        .body
        .contains("••••••••1234"));
    // Back to Keyway's defaults.
    let removed = owner
        .post(&format!("{path}/remove"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(removed.status, 303);
    let after = owner.get(&format!("{root}/integrations/acme-oauth")).await;
    assert!(after.body.contains("Not configured") && after.body.contains("value=\"read\""));

    // The audit trail names the changes, never the secret.
    let audit = owner.get(&format!("{root}/audit")).await;
    assert!(audit
        .body
        .contains("Configured the OAuth app of acme-oauth"));
    assert!(audit.body.contains("Removed the OAuth app of acme-oauth"));
    assert!(audit.body.contains("replaced") && audit.body.contains("kept"));
    assert!(!audit.body.contains(secret));
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
async fn a_key_is_shown_once_works_until_revoked_and_can_be_checked() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("live").await;
    let page = owner.get(&format!("{root}/keys")).await;
    let csrf = page.csrf();
    let created = owner
        .post(
            &format!("{root}/keys"),
            &[("_csrf", &csrf), ("name", "Billing backend")],
        )
        .await;
    assert_eq!(created.status, 201);
    let key = between(&created.body, "<code id=\"new-key\">", "</code>").expect("the key, once");
    assert!(key.starts_with("sk_live_"), "{key}");
    assert!(created.body.contains("shown only this once"));
    let list = owner.get(&format!("{root}/keys")).await;
    assert!(list.body.contains("Billing backend") && !list.body.contains(&key));

    assert_eq!(
        app.get_with("/v1/vault/connections", &key).await.status(),
        200
    );
    let mut last_used = false;
    for _ in 0..40 {
        let page = owner.get(&format!("{root}/keys")).await;
        let row = between(&page.body, "Billing backend", "</tr>").expect("row");
        if !row.contains(">Never<") {
            last_used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(last_used, "last used is recorded");

    let valid = owner
        .post(
            &format!("{root}/keys/check"),
            &[("_csrf", &csrf), ("key", &key)],
        )
        .await;
    assert!(valid
        .text()
        .contains("Valid: a live key of project \"default\"."));
    assert!(!valid.body.contains(&key), "the checked key is not echoed");
    let id = between(&list.body, "action=\"", "/revoke\"")
        .and_then(|a| a.rsplit('/').next().map(str::to_owned))
        .expect("a revoke form");
    let revoked = owner
        .post(&format!("{root}/keys/{id}/revoke"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(
        app.get_with("/v1/vault/connections", &key).await.status(),
        401
    );
    let invalid = owner
        .post(
            &format!("{root}/keys/check"),
            &[("_csrf", &csrf), ("key", &key)],
        )
        .await;
    assert!(invalid.body.contains("Not a valid key"));
    let audit = owner.get(&format!("{root}/audit?kind=key")).await;
    assert!(
        audit.body.contains("Created secret key sk_live_")
            && audit.body.contains("Revoked secret key sk_live_")
    );
    assert!(!audit.body.contains(&key));
}

#[tokio::test]
async fn settings_branding_and_projects_change_through_the_same_checks_as_the_api() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let page = owner.get(&format!("{root}/settings")).await;
    assert!(page
        .body
        .contains(&format!("{}/connections/oauth/callback", app.base)));
    let csrf = page.csrf();

    let saved = owner
        .post(
            &format!("{root}/settings/environment"),
            &[("_csrf", &csrf), ("require_action_ids", "on")],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert_eq!(
        json(app.settings(&app.test_key).await).await["requireActionIds"],
        true
    );
    assert_eq!(
        json(app.settings(&app.live_key).await).await["requireActionIds"],
        false
    );

    let bad = owner
        .post(
            &format!("{root}/settings/branding"),
            &[
                ("_csrf", &csrf),
                ("company_name", "Northwind"),
                ("logo_url", "javascript:alert(1)"),
                ("theme", "dark"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("The logo must be an https://"));
    let good = owner
        .post(
            &format!("{root}/settings/branding"),
            &[
                ("_csrf", &csrf),
                ("company_name", "Northwind"),
                ("logo_url", "https://example.com/logo.png"),
                ("theme", "dark"),
            ],
        )
        .await;
    assert_eq!(good.status, 303);
    let token = app.session_for("u").await;
    let modal = json(app.modal_integrations(&token).await).await;
    assert_eq!(
        modal["branding"],
        serde_json::json!({"companyName": "Northwind", "imageUrl": "https://example.com/logo.png", "appTheme": "dark"})
    );

    let renamed = owner
        .post(
            &format!("{root}/settings/rename"),
            &[("_csrf", &csrf), ("name", "Northwind app")],
        )
        .await;
    assert_eq!(renamed.status, 303);
    let created = owner
        .post(
            &format!("{root}/settings/projects"),
            &[("_csrf", &csrf), ("name", "Second product")],
        )
        .await;
    assert_eq!(created.status, 303);
    let new_keys = owner
        .get(created.location().expect("to the new project"))
        .await;
    assert!(
        new_keys.body.contains("Second product") && new_keys.body.contains("Northwind app"),
        "both in the switcher"
    );
    let taken = owner
        .post(
            &format!("{root}/settings/projects"),
            &[("_csrf", &csrf), ("name", "Second product")],
        )
        .await;
    assert_eq!(taken.status, 400);
    assert!(taken.body.contains("exists already"));
    let names: Vec<String> = app
        .broker
        .projects()
        .await
        .expect("projects")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, vec!["Northwind app", "Second product"]);
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

#[tokio::test]
async fn owners_add_accounts_with_one_time_links_and_keyway_keeps_an_owner() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let page = owner.get(&format!("{root}/accounts")).await;
    let csrf = page.csrf();
    let invited = owner
        .post(
            &format!("{root}/accounts"),
            &[
                ("_csrf", &csrf),
                ("email", "dev@example.com"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(invited.status, 201);
    let link = between(&invited.body, "<code id=\"one-time-link\">", "</code>").expect("link");
    let path = link.trim_start_matches(&app.base).to_owned();
    let mut dev = Browser::new(&app);
    let form = dev.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("dev@example.com"));
    let dup = owner
        .post(
            &format!("{root}/accounts"),
            &[
                ("_csrf", &csrf),
                ("email", "DEV@example.com"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(dup.status, 400);
    assert!(dup.body.contains("exists already"));

    let owner_id = app
        .broker
        .operators()
        .await
        .expect("ops")
        .into_iter()
        .find(|o| o.role == Role::Owner)
        .expect("owner")
        .id;
    let demote = owner
        .post(
            &format!("{root}/accounts/{owner_id}/role"),
            &[("_csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(demote.status, 303);
    let back = owner.get(demote.location().expect("back")).await;
    assert!(back.body.contains("at least one owner"));
    let remove_self = owner
        .post(
            &format!("{root}/accounts/{owner_id}/remove"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(remove_self.status, 303);
    assert!(
        owner
            .get(&format!("{root}/accounts"))
            .await
            .body
            .contains("owner@example.com"),
        "still there"
    );

    let dev_id = app
        .broker
        .operators()
        .await
        .expect("ops")
        .into_iter()
        .find(|o| o.email == "dev@example.com")
        .expect("dev")
        .id;
    let promoted = owner
        .post(
            &format!("{root}/accounts/{dev_id}/role"),
            &[("_csrf", &csrf), ("role", "admin")],
        )
        .await;
    assert_eq!(promoted.status, 303);
    let removed = owner
        .post(
            &format!("{root}/accounts/{dev_id}/remove"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, 303);
    let after = dev.get(&path).await;
    assert_eq!(after.status, 410, "the link died with the account");
    let audit = owner.get(&format!("{root}/audit?kind=operator")).await;
    for what in [
        "Added the viewer account dev@example.com",
        "Made dev@example.com admin (was viewer)",
        "Removed the account dev@example.com",
    ] {
        assert!(audit.body.contains(what), "{what}");
    }
}

#[tokio::test]
async fn try_the_modal_gets_a_session_only_for_editors_with_the_csrf_header() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let page = owner.get(&format!("{root}/try")).await;
    assert!(page.body.contains("/authkit.js"));
    let csrf = between(&page.body, "name=\"csrf-token\" content=\"", "\"").expect("csrf meta");
    let url = format!("{root}/try/token?identity=dash-user&identityType=team");
    let without = owner.post_with(&url, &[], &[]).await;
    assert_eq!(without.status, 403);
    let with = owner.post_with(&url, &[], &[("x-csrf-token", &csrf)]).await;
    assert_eq!(with.status, 200, "{}", with.body);
    let reply: serde_json::Value = serde_json::from_str(&with.body).expect("json");
    assert!(reply["sessionToken"]
        .as_str()
        .expect("token")
        .starts_with("akt_"));
    assert_eq!(
        (reply["identity"].as_str(), reply["identityType"].as_str()),
        (Some("dash-user"), Some("team"))
    );
    let mut viewer = account_with_role(&app, "v@example.com", Role::Viewer).await;
    let vcsrf = viewer.get(&format!("{root}/try")).await;
    let vcsrf = between(&vcsrf.body, "name=\"csrf-token\" content=\"", "\"").expect("csrf");
    assert_eq!(
        viewer
            .post_with(&url, &[], &[("x-csrf-token", &vcsrf)])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn the_audit_trail_records_the_api_and_the_cli_too() {
    let (app, _fake) = spawn_app_with_fake_platform().await;
    let mut owner = first_owner(&app).await;
    let root = owner.project_root("test").await;
    let r = app
        .patch_integration(&app.test_key, "acme-oauth", serde_json::json!({"oauthApp": {"clientId": "api-client", "clientSecret": "api-secret-0000"}}))
        .await;
    assert_eq!(r.status(), 200);
    app.broker
        .change_settings(
            &app.broker.projects().await.expect("p")[0].id,
            keyway_core::environment::Environment::Test,
            keyway_broker::settings::SettingsChange {
                require_action_ids: Some(true),
            },
            &keyway_core::audit::Actor::cli(Some("ops")),
        )
        .await
        .expect("settings");
    let audit = owner.get(&format!("{root}/audit")).await;
    assert!(audit
        .body
        .contains("Configured the OAuth app of acme-oauth"));
    assert!(
        audit.body.contains("test key key_") && audit.body.contains("API"),
        "the API's key is the actor"
    );
    assert!(audit.body.contains("cli (ops)") && audit.body.contains("CLI"));
    assert!(audit
        .body
        .contains("Added the owner account owner@example.com"));
    assert!(!audit.body.contains("api-secret-0000"));
}
