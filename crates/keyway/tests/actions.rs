//! The actions catalog over HTTP: available actions (list shape, filters), search (a bare array, best
//! first), knowledge (by id and by platform), connector tool counts, and action ids on passthrough
//! (checked when sent, required when the environment's settings say so; a revoked connection's actions
//! answer 401 `reconnect_required`).

mod support;

use serde_json::{json, Value};
use support::fake_platform::GOOD_KEY;
use support::oauth_flow::{profile_action_id, revoked_connection};
use support::{
    assert_error, spawn_app, spawn_app_with_fake_oauth, spawn_app_with_fake_platform_actions,
    TestApp,
};

const ACME_ACTIONS: &str = r#"{
  "platform": "acme",
  "actions": [
    {"key": "issues-list", "title": "List issues", "method": "GET", "path": "/echo/repos/{{owner}}/{{repo}}/issues",
     "tags": ["issues"], "parameters": [{"name": "owner", "in": "path"}, {"name": "repo", "in": "path"}]},
    {"title": "Create an issue", "method": "POST", "path": "/echo/repos/{{owner}}/{{repo}}/issues"},
    {"title": "Get file contents", "method": "GET", "path": "/echo/files/{{path}}"}
  ]
}"#;

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = app.get_with(path, &app.test_key).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("json")
}

#[tokio::test]
async fn available_actions_are_a_filtered_paged_list() {
    let app = spawn_app().await;
    let count = app.broker.catalog.actions().for_platform("github").len() as u64;
    assert!(count > 500);
    let page = get_json(&app, "/v1/available-actions/github?limit=100&page=2").await;
    assert_eq!(page["total"], count);
    assert_eq!(
        (page["page"].as_u64(), page["limit"].as_u64()),
        (Some(2), Some(100))
    );
    assert_eq!(page["pages"], count.div_ceil(100));
    let rows = page["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 100);
    for row in rows {
        assert_eq!(row["platform"], "github");
        assert!(row["tags"].is_array());
        assert!(row["path"].as_str().is_some_and(|p| p.starts_with('/')));
        let method = row["method"].as_str().expect("method");
        assert_eq!(method, method.to_uppercase());
        assert!(row["systemId"]
            .as_str()
            .is_some_and(|id| id.starts_with("conn_mod_def::")));
    }
    let posts = get_json(&app, "/v1/available-actions/github?method=post&limit=1000").await;
    assert!(posts["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["method"] == "POST"));
    assert_eq!(
        posts["total"],
        posts["rows"].as_array().expect("rows").len()
    );
    let one = get_json(
        &app,
        "/v1/available-actions/github?key=issues/list-for-repo",
    )
    .await;
    assert_eq!(one["total"], 1);
    assert_eq!(one["rows"][0]["path"], "/repos/{{owner}}/{{repo}}/issues");
    let titled = get_json(&app, "/v1/available-actions/github?title=repository+issues").await;
    assert!(titled["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .any(|r| r["title"] == "List repository issues"));
    let past = get_json(&app, "/v1/available-actions/github?skip=100000").await;
    assert_eq!(
        (
            past["rows"].as_array().map(Vec::len),
            past["total"].as_u64()
        ),
        (Some(0), Some(count))
    );

    let r = app
        .get_with("/v1/available-actions/github?bogus=1", &app.test_key)
        .await;
    assert_error(r, 400, "unknown_parameter").await;
    let r = app
        .get_with("/v1/available-actions/nope", &app.test_key)
        .await;
    assert_error(r, 404, "not_found").await;
    let r = app.get("/v1/available-actions/github").await;
    assert_error(r, 401, "unauthorized").await;
}

#[tokio::test]
async fn search_is_a_bare_array_with_the_obvious_action_first() {
    let app = spawn_app().await;
    let hits = get_json(
        &app,
        "/v1/available-actions/search/github?query=list+issues&limit=5&executeAgent=true",
    )
    .await;
    let hits = hits.as_array().expect("a bare array");
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0]["method"], "GET");
    assert_eq!(hits[0]["path"], "/repos/{{owner}}/{{repo}}/issues");
    assert!(hits[0]["systemId"]
        .as_str()
        .is_some_and(|id| id.starts_with("conn_mod_def::")));
    assert!(hits[0]["tags"].is_array());
    assert!(hits[0].get("knowledge").is_none());

    let hits = get_json(
        &app,
        "/v1/available-actions/search/gmail?query=send%20email&limit=3&knowledgeAgent=true",
    )
    .await;
    assert_eq!(hits[0]["path"], "/users/{{userId}}/messages/send");
    assert_eq!(hits[0]["method"], "POST");
    assert!(hits[0]["knowledge"]
        .as_str()
        .is_some_and(|k| k.contains("https://gmail.googleapis.com/gmail/v1/users/")));

    let none = get_json(&app, "/v1/available-actions/search/github?query=zzzqqq").await;
    assert_eq!(none, json!([]));
    let r = app
        .get_with("/v1/available-actions/search/github", &app.test_key)
        .await;
    assert_error(r, 400, "invalid_parameter").await;
    let r = app
        .get_with(
            "/v1/available-actions/search/github?query=x&page=2",
            &app.test_key,
        )
        .await;
    assert_error(r, 400, "unknown_parameter").await;
    let r = app
        .get_with("/v1/available-actions/search/nope?query=x", &app.test_key)
        .await;
    assert_error(r, 404, "not_found").await;
}

#[tokio::test]
async fn knowledge_by_id_and_by_platform() {
    let app = spawn_app().await;
    let hit = get_json(
        &app,
        "/v1/available-actions/search/github?query=create+an+issue&limit=1",
    )
    .await;
    let id = hit[0]["systemId"].as_str().expect("id").to_owned();
    let by_id = get_json(&app, &format!("/v1/knowledge?_id={id}")).await;
    assert_eq!(by_id["total"], 1);
    let row = &by_id["rows"][0];
    assert_eq!(row["_id"], id.as_str());
    assert_eq!(row["connectionPlatform"], "github");
    assert_eq!(row["method"], "POST");
    assert_eq!(row["path"], "/repos/{{owner}}/{{repo}}/issues");
    assert_eq!(row["baseUrl"], "https://api.github.com");
    assert_eq!(row["active"], true);
    assert!(row["tags"].is_array());
    let knowledge = row["knowledge"].as_str().expect("knowledge");
    assert!(
        knowledge.contains("POST https://api.github.com/repos/"),
        "{knowledge}"
    );
    assert!(knowledge.contains("title"), "{knowledge}");

    let count = app.broker.catalog.actions().for_platform("github").len() as u64;
    let page = get_json(
        &app,
        "/v1/knowledge?supported=true&connectionPlatform=github&skip=0&limit=100",
    )
    .await;
    assert_eq!(
        (page["total"].as_u64(), page["limit"].as_u64()),
        (Some(count), Some(100))
    );
    assert_eq!(page["rows"].as_array().map(Vec::len), Some(100));
    let mut collected = 0;
    let mut skip = 0;
    while collected < count {
        let page = get_json(
            &app,
            &format!(
                "/v1/knowledge?supported=true&connectionPlatform=github&skip={skip}&limit=100"
            ),
        )
        .await;
        let n = page["rows"].as_array().map_or(0, Vec::len) as u64;
        assert!(n > 0, "total must be reachable");
        collected += n;
        skip += 100;
    }
    assert_eq!(collected, count);
    let unknown = get_json(
        &app,
        "/v1/knowledge?_id=conn_mod_def::AAAAAAAAAAA::AAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    assert_eq!(
        (
            unknown["total"].as_u64(),
            unknown["rows"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let r = app
        .get_with("/v1/knowledge?platform=github", &app.test_key)
        .await;
    assert_error(r, 400, "unknown_parameter").await;

    let connectors = get_json(&app, "/v1/available-connectors?platform=github").await;
    assert_eq!(connectors["rows"][0]["tools"], count);
}

async fn acme_connection(app: &TestApp) -> String {
    app.acme_connection_key("user_a").await
}

fn id_of(app: &TestApp, platform: &str, method: &str, path: &str) -> String {
    app.broker
        .catalog
        .actions()
        .for_platform(platform)
        .iter()
        .find(|a| a.method().as_str() == method && a.path().as_str() == path)
        .expect("action")
        .id()
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn passthrough_checks_the_action_id_against_platform_method_and_path() {
    let (app, _fake) = spawn_app_with_fake_platform_actions(ACME_ACTIONS).await;
    let key = acme_connection(&app).await;
    let list = id_of(&app, "acme", "GET", "/echo/repos/{{owner}}/{{repo}}/issues");
    let file = id_of(&app, "acme", "GET", "/echo/files/{{path}}");
    let send = |method: reqwest::Method, path: &str, action: &str| {
        app.client
            .request(method, app.url(&format!("/v1/passthrough{path}")))
            .header("x-pica-secret", &app.test_key)
            .header("x-pica-connection-key", &key)
            .header("x-pica-action-id", action)
            .send()
    };
    for path in [
        "/echo/repos/octo/hello/issues",
        "/echo/repos/oc%20to/hel%40lo/issues",
        "/echo/repos/octo/hello/issues/",
    ] {
        let r = send(reqwest::Method::GET, path, &list).await.expect("r");
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = send(reqwest::Method::GET, "/echo/files/docs/readme.md", &file)
        .await
        .expect("r");
    assert_eq!(r.status(), 200, "a raw file path fills {{path}}");

    let r = send(
        reqwest::Method::POST,
        "/echo/repos/octo/hello/issues",
        &list,
    )
    .await
    .expect("r");
    let body = assert_error(r, 400, "action_method_mismatch").await;
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("GET /echo/repos/{{owner}}/{{repo}}/issues")));
    let r = send(reqwest::Method::GET, "/echo/repos/octo/issues", &list)
        .await
        .expect("r");
    assert_error(r, 400, "action_path_mismatch").await;
    let github = id_of(&app, "github", "GET", "/repos/{{owner}}/{{repo}}/issues");
    let r = send(
        reqwest::Method::GET,
        "/echo/repos/octo/hello/issues",
        &github,
    )
    .await
    .expect("r");
    let body = assert_error(r, 400, "action_platform_mismatch").await;
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("github")));
    let r = send(
        reqwest::Method::GET,
        "/echo/x",
        "conn_mod_def::AAAAAAAAAAA::AAAAAAAAAAAAAAAAAAAAAA",
    )
    .await
    .expect("r");
    assert_error(r, 400, "unknown_action").await;
    let r = send(reqwest::Method::GET, "/echo/x", "not-an-id")
        .await
        .expect("r");
    assert_error(r, 400, "invalid_action_id").await;

    let acme = get_json(&app, "/v1/available-actions/acme").await;
    assert_eq!(acme["total"], 3);
    assert_eq!(acme["rows"][0]["tags"], json!([]));
}

#[tokio::test]
async fn an_action_on_a_revoked_connection_answers_401_reconnect_required() {
    // What @picahq/toolkit's execute does: passthrough with the action's id.
    let (app, fake) = spawn_app_with_fake_oauth().await;
    let connection = revoked_connection(&app, &fake, "user_toolkit").await;
    let r = app
        .client
        .get(app.url("/v1/passthrough/me"))
        .header("x-pica-secret", &app.test_key)
        .header("x-pica-connection-key", connection.key.to_string())
        .header("x-pica-action-id", profile_action_id(&app))
        .send()
        .await
        .expect("r");
    let body = assert_error(r, 401, "reconnect_required").await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("have the user reconnect")),
        "{body}"
    );
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_environment_can_require_action_ids_on_passthrough_and_stop_at_once() {
    let (app, fake) = spawn_app_with_fake_platform_actions(ACME_ACTIONS).await;
    let key = acme_connection(&app).await;
    let list = id_of(&app, "acme", "GET", "/echo/repos/{{owner}}/{{repo}}/issues");
    let send = |secret: &str, connection: &str, action: Option<&str>| {
        let mut request = app
            .client
            .get(app.url("/v1/passthrough/echo/repos/octo/hello/issues"))
            .header("x-pica-secret", secret)
            .header("x-pica-connection-key", connection);
        if let Some(action) = action {
            request = request.header("x-keyway-action-id", action);
        }
        request.send()
    };
    let settings = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.expect("json")
    };

    // Off by default: no action id needed (and this request caches the verified key).
    assert_eq!(
        settings(app.settings(&app.test_key).await).await,
        json!({"environment": "test", "requireActionIds": false})
    );
    let r = send(&app.test_key, &key, None).await.expect("r");
    assert_eq!(r.status(), 200, "off: allowed without an action id");

    let on = settings(
        app.patch_settings(&app.test_key, json!({"requireActionIds": true}))
            .await,
    )
    .await;
    assert_eq!(on, json!({"environment": "test", "requireActionIds": true}));
    assert_eq!(
        settings(app.settings(&app.test_key).await).await["requireActionIds"],
        true
    );
    let before = fake.calls();
    let r = send(&app.test_key, &key, None).await.expect("r");
    let body = assert_error(r, 400, "action_id_required").await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("x-pica-action-id")),
        "{body}"
    );
    assert_eq!(fake.calls(), before, "nothing reached the platform");
    let r = send(&app.test_key, &key, Some(&list)).await.expect("r");
    assert_eq!(r.status(), 200, "on: a matching action id is served");
    let echo: Value = r.json().await.expect("json");
    assert_eq!(echo["path"], "/echo/repos/octo/hello/issues");
    assert_eq!(fake.calls(), before + 1);

    // Settings are per environment: the live key sees, and passes through under, live's own.
    assert_eq!(
        settings(app.settings(&app.live_key).await).await,
        json!({"environment": "live", "requireActionIds": false})
    );
    let r = app
        .import_connection(
            &app.live_key,
            json!({"platform": "acme", "identity": "user_a", "identityType": "user",
            "authFormData": {"apiKey": GOOD_KEY}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let live_key = r.json::<Value>().await.expect("json")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let r = send(&app.live_key, &live_key, None).await.expect("r");
    assert_eq!(r.status(), 200, "live does not require action ids");

    // Turning it off applies to the very next request on this node (the verified key was cached on).
    let off = settings(
        app.patch_settings(&app.test_key, json!({"requireActionIds": false}))
            .await,
    )
    .await;
    assert_eq!(off["requireActionIds"], false);
    let r = send(&app.test_key, &key, None).await.expect("r");
    assert_eq!(r.status(), 200, "off again: allowed at once");

    // An empty change keeps everything; bad bodies are refused; the routes need a secret key.
    let same = settings(app.patch_settings(&app.test_key, json!({})).await).await;
    assert_eq!(same["requireActionIds"], false);
    for bad in [
        json!({"requireActionIDs": true}),
        json!({"require_action_ids": true}),
        json!({"requireActionIds": "yes"}),
    ] {
        let r = app.patch_settings(&app.test_key, bad).await;
        assert_error(r, 400, "invalid_body").await;
    }
    assert_error(app.get("/v1/settings").await, 401, "unauthorized").await;
    let r = app
        .client
        .patch(app.url("/v1/settings"))
        .json(&json!({"requireActionIds": true}))
        .send()
        .await
        .expect("r");
    assert_error(r, 401, "unauthorized").await;
    assert_eq!(
        settings(app.settings(&app.test_key).await).await["requireActionIds"],
        false,
        "refused changes changed nothing"
    );
    app.stop().await;
}

#[test]
fn import_openapi_writes_an_actions_file_and_reports_what_it_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "openapi: 3.0.0\nservers: [{url: 'https://api.stripe.com/'}]\npaths:\n  /v1/things/{id}:\n    get: {summary: Get a thing, responses: {'200': {description: ok}}}\n    head: {responses: {'200': {description: ok}}}\n  /v2/other:\n    get: {summary: Elsewhere, responses: {}}\n",
    )
    .expect("spec");
    let out = dir.path().join("actions");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_keyway"))
        .args(["catalog", "import-openapi"])
        .arg(&spec)
        .args(["--platform", "stripe", "--out"])
        .arg(&out)
        .current_dir(dir.path())
        .env_remove("KEYWAY_CATALOG_DIR")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("stripe: imported 1 action(s)"), "{stdout}");
    assert!(stdout.contains("skipped 2 operation(s)"), "{stdout}");
    assert!(stdout.contains("method HEAD is not supported"), "{stdout}");
    assert!(
        stdout.contains("outside the platform's base URL path `/v1`"),
        "{stdout}"
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("stripe.json")).expect("file"))
            .expect("json");
    assert_eq!(file["actions"][0]["path"], "/things/{{id}}");
    assert_eq!(file["sources"], json!(["spec.yaml"]));
}
