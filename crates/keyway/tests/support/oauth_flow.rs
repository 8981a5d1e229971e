//! Driving an OAuth connect like the modal and a browser do, against the fake provider: configure the app,
//! start an attempt, follow the provider's redirect to the callback, read the page's result.

use keyway_core::connection::Connection;
use serde_json::{json, Value};

use super::fake_oauth::{FakeOAuth, CLIENT_ID, CLIENT_SECRET};
use super::TestApp;

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn configure(app: &TestApp) {
    let r = app
        .patch_integration(
            &app.test_key,
            "oauthco",
            json!({"enabled": true,
            "oauthApp": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

pub async fn start(app: &TestApp, token: &str) -> String {
    start_attempt(app, token).await.0
}

/// Starts an attempt: (authorize URL, attempt id).
pub async fn start_attempt(app: &TestApp, token: &str) -> (String, String) {
    let r = app
        .client
        .post(app.url("/v1/authkit/oauth/start"))
        .bearer_auth(token)
        .json(&json!({"platform": "oauthco"}))
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), 200);
    let body = r.json::<Value>().await.expect("json");
    let text = |k: &str| body[k].as_str().expect(k).to_owned();
    (text("authorizeUrl"), text("attemptId"))
}

/// What `GET /v1/authkit/oauth/result/{attempt}` answers the session `token`.
pub async fn attempt_result(app: &TestApp, token: &str, attempt: &str) -> Value {
    let r = app
        .client
        .get(app.url(&format!("/v1/authkit/oauth/result/{attempt}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("result");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Follows the provider's redirect back to Keyway's callback like a browser; returns the callback page.
pub async fn authorize_in_browser(authorize_url: &str) -> (String, String) {
    let (callback, _, page) = authorize_in_browser_with_status(authorize_url).await;
    (callback, page)
}

/// Like [`authorize_in_browser`], with the callback page's status.
pub async fn authorize_in_browser_with_status(authorize_url: &str) -> (String, u16, String) {
    let http = no_redirects();
    let r = http.get(authorize_url).send().await.expect("authorize");
    assert_eq!(r.status(), 303, "the fake redirects at once");
    let callback = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let page = http.get(&callback).send().await.expect("callback");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let status = page.status().as_u16();
    (callback, status, page.text().await.expect("html"))
}

/// Opens a callback URL as the browser would (again) and returns the JSON its page hands to the modal.
pub async fn callback_result(url: &str) -> Value {
    let page = no_redirects().get(url).send().await.expect("callback");
    result_of(&page.text().await.expect("html"))
}

/// The JSON the callback page hands to the modal.
pub fn result_of(page: &str) -> Value {
    let start = page.find(r#"id="keyway-result">"#).expect("result script")
        + r#"id="keyway-result">"#.len();
    let end = start + page[start..].find("</script>").expect("end");
    serde_json::from_str(&page[start..end].replace("\\u003c", "<")).expect("json")
}

pub async fn connect(app: &TestApp, identity: &str) -> Value {
    let token = app.session_for(identity).await;
    let url = start(app, &token).await;
    let (_, page) = authorize_in_browser(&url).await;
    let result = result_of(&page);
    assert_eq!(result["ok"], true, "{result}");
    result["connection"].clone()
}

pub async fn stored(app: &TestApp, id: &str) -> Connection {
    let principal = app
        .broker
        .keys
        .authenticate(Some(&app.test_key))
        .await
        .expect("ok")
        .expect("principal");
    app.broker
        .connection(&principal, id)
        .await
        .expect("q")
        .expect("stored")
}

/// An OAuth connection for `identity` whose access token the provider issued for one second and which has
/// expired (so every use must refresh it first), stored; tokens issued after it last an hour.
pub async fn expiring_connection(app: &TestApp, fake: &FakeOAuth, identity: &str) -> Connection {
    fake.set_expires_in(1);
    let record = connect(app, identity).await;
    fake.set_expires_in(3600);
    outlive_a_one_second_token().await;
    stored(app, record["id"].as_str().expect("id")).await
}

/// Waits until a token issued for one second just before has expired. (A token is not refreshed before
/// half its lifetime has passed, so a fresh one-second token is not due yet.)
pub async fn outlive_a_one_second_token() {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

/// The id of `oauthco`'s one action, `GET /me`.
pub fn profile_action_id(app: &TestApp) -> String {
    app.broker
        .catalog
        .actions()
        .for_platform("oauthco")
        .first()
        .expect("actions/oauthco.json")
        .id()
        .as_str()
        .to_owned()
}

/// An OAuth connection whose grant the provider has revoked: its token is expiring, so its next use asks
/// for a refresh, which the provider refuses with `invalid_grant`.
pub async fn revoked_connection(app: &TestApp, fake: &FakeOAuth, identity: &str) -> Connection {
    configure(app).await;
    let connection = expiring_connection(app, fake, identity).await;
    fake.set_mode(super::fake_oauth::Mode::InvalidGrant);
    connection
}
