//! What an operator does in the dashboard, end to end over HTTP on either store: integrations and
//! OAuth apps, keys, settings and branding, accounts, projects, "Try the modal",
//! and the audit trail that records it all (with the API's and the CLI's changes) without a secret.

mod support;

use keyway_core::operator::Role;
use support::dashboard::{account_with_role, between, first_owner, Browser};
use support::{spawn_app_with_fake_platform, TestApp};

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
