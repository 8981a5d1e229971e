//! The MCP server driven by a real MCP client (rmcp's, over stdio with `keyway mcp`) and over streamable
//! HTTP at `/mcp`: tools listed, actions searched, an action executed end to end against a local platform.

mod support;

use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use support::fake_platform::GOOD_KEY;
use support::oauth_flow::{profile_action_id, revoked_connection};
use support::{spawn_app_with_fake_oauth, spawn_app_with_fake_platform_actions, TestApp};

const ACME_ACTIONS: &str = r#"{
  "platform": "acme",
  "actions": [
    {"title": "List issues", "method": "GET", "path": "/echo/repos/{{owner}}/{{repo}}/issues", "tags": ["issues"],
     "parameters": [{"name": "owner", "in": "path", "required": true}, {"name": "repo", "in": "path", "required": true},
                    {"name": "state", "in": "query"}]},
    {"title": "Create an issue", "method": "POST", "path": "/echo/repos/{{owner}}/{{repo}}/issues", "tags": ["issues"]},
    {"title": "Delete a repository", "method": "DELETE", "path": "/echo/repos/{{owner}}/{{repo}}"}
  ]
}"#;

async fn connect(app: &TestApp, identity: &str) -> String {
    let r = app
        .import_connection(
            &app.test_key,
            json!({"platform": "acme", "identity": identity, "identityType": "user",
            "authFormData": {"apiKey": GOOD_KEY}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.expect("json")["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

fn args(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().expect("object")
}

/// The text of a tool result, parsed as JSON when it is JSON.
fn content(result: &impl serde::Serialize) -> (Value, bool) {
    let v = serde_json::to_value(result).expect("serialize");
    let text = v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let is_error = v["isError"].as_bool().unwrap_or(false);
    (
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        is_error,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_client_over_stdio_searches_and_executes_within_its_identity_and_permissions() {
    let (app, _fake) = spawn_app_with_fake_platform_actions(ACME_ACTIONS).await;
    let mine = connect(&app, "user_mcp").await;
    let theirs = connect(&app, "someone_else").await;
    let master_key = app
        .broker
        .sealer
        .keyring()
        .primary()
        .to_base64()
        .expose_secret()
        .to_owned();

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyway"));
    command
        .args([
            "mcp",
            "--identity",
            "user_mcp",
            "--identity-type",
            "user",
            "--permissions",
            "read",
        ])
        .env_clear()
        .env("KEYWAY_DATABASE_URL", &app.db.url)
        .env("KEYWAY_DATA_DIR", app.db.dir.path())
        .env("KEYWAY_MASTER_KEY", &master_key)
        .env("KEYWAY_CATALOG_DIR", app.db.dir.path().join("catalog"))
        .env("KEYWAY_SECRET_KEY", &app.test_key)
        .env("KEYWAY_PUBLIC_URL", "https://keyway.example.test");
    let client =
        ().serve(TokioChildProcess::new(command).expect("spawn"))
            .await
            .expect("initialize");
    let info = client.peer_info().expect("server info");
    let server = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(
        (server.name.as_str(), server.version.as_str()),
        ("keyway", env!("CARGO_PKG_VERSION")),
        "Keyway names itself, not the MCP library"
    );
    let instructions = info.instructions.as_deref().unwrap_or_default();
    assert!(
        instructions.contains("https://keyway.example.test") && !instructions.contains("127.0.0.1"),
        "the configured public URL: {instructions}"
    );

    let tools = client.list_all_tools().await.expect("tools");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "execute_action",
            "get_action_knowledge",
            "list_connections",
            "list_integrations",
            "search_actions"
        ]
    );
    assert!(
        tools
            .iter()
            .all(|t| t.description.as_ref().is_some_and(|d| d.len() > 40)),
        "descriptions an LLM can use"
    );

    let call = |name: &'static str, a: Value| {
        let client = &client;
        async move {
            client
                .call_tool(CallToolRequestParams::new(name).with_arguments(args(a)))
                .await
                .expect("call")
        }
    };
    let (connections, _) = content(&call("list_connections", json!({})).await);
    let keys: Vec<&str> = connections["connections"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        [mine.as_str()],
        "only the configured identity's connections"
    );

    let (found, _) = content(
        &call(
            "search_actions",
            json!({"platform": "acme", "query": "list issues"}),
        )
        .await,
    );
    let actions = found["actions"].as_array().expect("actions");
    assert_eq!(actions[0]["title"], "List issues", "{found}");
    assert!(
        actions.iter().all(|a| a["method"] == "GET"),
        "read permission hides writes: {found}"
    );
    let action_id = actions[0]["actionId"].as_str().expect("id").to_owned();

    let (knowledge, _) =
        content(&call("get_action_knowledge", json!({"action_id": action_id})).await);
    assert!(
        knowledge
            .as_str()
            .is_some_and(|k| k.contains("/echo/repos/{{owner}}/{{repo}}/issues")),
        "{knowledge}"
    );

    let (result, is_error) = content(
        &call("execute_action", json!({"action_id": action_id, "connection_key": mine,
            "path_variables": {"owner": "octo", "repo": "hello world"}, "query": {"state": "open"}}))
        .await,
    );
    assert!(!is_error, "{result}");
    assert_eq!(result["status"], 200);
    assert_eq!(
        result["body"]["path"],
        "/echo/repos/octo/hello%20world/issues"
    );
    assert_eq!(result["body"]["query"], "state=open");
    assert_eq!(
        result["body"]["headers"]["x-api-key"], GOOD_KEY,
        "credentials injected by Keyway"
    );

    // Someone else's connection, and a write under read permission, are refused.
    let (_, is_error) = content(
        &call(
            "execute_action",
            json!({"action_id": action_id, "connection_key": theirs,
            "path_variables": {"owner": "o", "repo": "r"}}),
        )
        .await,
    );
    assert!(is_error);
    let create = app
        .broker
        .catalog
        .actions()
        .for_platform("acme")
        .iter()
        .find(|a| a.method().as_str() == "POST")
        .expect("post")
        .id()
        .as_str()
        .to_owned();
    let (message, is_error) = content(
        &call("execute_action", json!({"action_id": create, "connection_key": mine, "path_variables": {"owner": "o", "repo": "r"}, "body": {"title": "x"}}))
        .await,
    );
    assert!(
        is_error && message.to_string().contains("permission"),
        "{message}"
    );
    client.cancel().await.expect("close");

    // The `keyway mcp` process writes its log entries as it exits.
    let mut logs = Value::Null;
    for _ in 0..50 {
        logs = app
            .get_with("/v1/logs", &app.test_key)
            .await
            .json()
            .await
            .expect("json");
        if logs["total"].as_u64() > Some(0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        logs["rows"][0]["actionId"], action_id,
        "executions are logged with their action"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_http_endpoint_requires_a_secret_key_and_serves_the_same_tools() {
    let (app, _fake) = spawn_app_with_fake_platform_actions(ACME_ACTIONS).await;
    let key = connect(&app, "user_http").await;
    let rpc = |body: Value, secret: Option<&str>| {
        let mut r = app
            .client
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body);
        if let Some(s) = secret {
            r = r.header("x-pica-secret", s);
        }
        r.send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
        "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
    let anonymous = rpc(init.clone(), None).await.expect("r");
    support::assert_error(anonymous, 401, "unauthorized").await;
    let r = rpc(init, Some(&app.test_key)).await.expect("r");
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().await.expect("json");
    assert!(
        reply["result"]["capabilities"]["tools"].is_object(),
        "{reply}"
    );
    assert_eq!(
        reply["result"]["serverInfo"],
        json!({"name": "keyway", "version": env!("CARGO_PKG_VERSION")})
    );
    assert!(
        reply["result"]["instructions"]
            .as_str()
            .is_some_and(|i| i.contains(&app.base)),
        "{reply}"
    );

    let list: Value = rpc(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}),
        Some(&app.test_key),
    )
    .await
    .expect("r")
    .json()
    .await
    .expect("json");
    assert_eq!(
        list["result"]["tools"].as_array().map(Vec::len),
        Some(5),
        "{list}"
    );

    let action = app
        .broker
        .catalog
        .actions()
        .for_platform("acme")
        .iter()
        .find(|a| a.method().as_str() == "GET")
        .expect("get")
        .id()
        .as_str()
        .to_owned();
    let called: Value = rpc(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "execute_action", "arguments": {
            "action_id": action, "connection_key": key, "path_variables": {"owner": "a", "repo": "b"}}}}),
        Some(&app.test_key),
    )
    .await
    .expect("r")
    .json()
    .await
    .expect("json");
    let text = called["result"]["content"][0]["text"]
        .as_str()
        .expect("text");
    let result: Value = serde_json::from_str(text).expect("json result");
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["body"]["path"], "/echo/repos/a/b/issues");
    app.stop().await;
}

/// POSTs `body` (raw bytes, as `content-type: application/json`) to `/mcp` with the test key.
async fn post_raw(app: &TestApp, body: &'static str) -> reqwest::Response {
    app.client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("content-type", "application/json")
        .header("x-pica-secret", &app.test_key)
        .body(body)
        .send()
        .await
        .expect("r")
}

#[tokio::test]
async fn a_body_that_is_not_json_rpc_gets_a_json_rpc_error_not_a_media_type_error() {
    let (app, _fake) = spawn_app_with_fake_platform_actions(ACME_ACTIONS).await;
    for (body, code) in [
        (r#"{"jsonrpc": "2.0", "id": 1, "method": "#, -32700),
        ("not json at all", -32700),
        (r#"{"hello": "world"}"#, -32600),
        ("[]", -32600),
    ] {
        let r = post_raw(&app, body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert!(r.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/json")));
        let reply: Value = r.json().await.expect("json");
        assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
        assert_eq!(reply["id"], Value::Null, "{reply}");
        assert_eq!(reply["error"]["code"], code, "{body}: {reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{reply}"
        );
    }
    // Authentication still comes first; a wrong content type is still a 415; a good message still works.
    let anonymous = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("r");
    support::assert_error(anonymous, 401, "unauthorized").await;
    let text = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .header("x-pica-secret", &app.test_key)
        .body("{}")
        .send()
        .await
        .expect("r");
    support::assert_error(text, 415, "unsupported_media_type").await;
    let ping = post_raw(&app, r#"{"jsonrpc": "2.0", "id": 7, "method": "ping"}"#).await;
    assert_eq!(ping.status(), 200);
    let reply: Value = ping.json().await.expect("json");
    assert_eq!(reply["id"], 7, "{reply}");
    app.stop().await;
}

#[tokio::test]
async fn executing_on_a_revoked_connection_is_a_tool_error_with_reconnect_required() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    let connection = revoked_connection(&app, &fake, "user_mcp_revoked").await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "execute_action",
        "arguments": {"action_id": profile_action_id(&app), "connection_key": connection.key.to_string()}}});
    let r = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("x-pica-secret", &app.test_key)
        .json(&call)
        .send()
        .await
        .expect("r");
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().await.expect("json");
    let result = &reply["result"];
    assert_eq!(result["isError"], true, "{reply}");
    let error = &result["structuredContent"];
    assert_eq!(error["code"], "reconnect_required", "{reply}");
    assert_eq!(error["status"], 401, "{reply}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("reconnect")),
        "{reply}"
    );
    let (text, _) = content(result);
    assert_eq!(&text, error, "the text an LLM reads says the same");
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}
