//! The test harness: the real application on port 0 with a fresh database (SQLite file, or a new Postgres
//! schema with KEYWAY_TEST_DATABASE=postgres), and one helper per endpoint.
#![allow(dead_code)]

pub mod dashboard;
pub mod fake_oauth;
pub mod fake_platform;
pub mod oauth_flow;
pub mod process;

use std::net::SocketAddr;

use keyway::config::Config;
use keyway::serve::Application;
use keyway_broker::Broker;
use keyway_crypto::master_key::MasterKey;
use keyway_testkit::{fresh_database, TestDatabase};
use secrecy::{ExposeSecret, SecretString};

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub test_key: String,
    pub live_key: String,
    pub broker: Broker,
    pub db: TestDatabase,
    /// The one-time link's token `keyway serve` printed (no dashboard account existed yet).
    pub setup_token: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn test_config(db: &TestDatabase) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: db.dir.path().to_path_buf(),
        database_url: Some(db.url.clone()),
        master_key: Some(SecretString::from(
            MasterKey::generate().to_base64().expose_secret().to_owned(),
        )),
        log: "warn".into(),
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    let db = fresh_database().await;
    let config = test_config(&db);
    spawn_with(db, config).await
}

/// The app with a custom catalog describing the fake OAuth provider (`oauthco`, `oauthcc`).
pub async fn spawn_app_with_fake_oauth() -> (TestApp, fake_oauth::FakeOAuth) {
    let fake = fake_oauth::FakeOAuth::start().await;
    let db = fresh_database().await;
    let catalog = db.dir.path().join("catalog");
    fake.write_catalog(&catalog);
    let config = Config {
        catalog_dir: Some(catalog),
        refresh_sweep_seconds: 0,
        ..test_config(&db)
    };
    (spawn_with(db, config).await, fake)
}

/// The app with a custom catalog describing a fake platform running on loopback.
pub async fn spawn_app_with_fake_platform() -> (TestApp, fake_platform::FakePlatform) {
    spawn_app_with_fake_platform_config(|config| config).await
}

/// The app with the fake platform in its catalog and its configuration changed by `adjust`.
pub async fn spawn_app_with_fake_platform_config(
    adjust: impl FnOnce(Config) -> Config,
) -> (TestApp, fake_platform::FakePlatform) {
    let fake = fake_platform::FakePlatform::start().await;
    let db = fresh_database().await;
    let catalog = db.dir.path().join("catalog");
    fake.write_catalog(&catalog);
    let config = adjust(Config {
        catalog_dir: Some(catalog),
        ..test_config(&db)
    });
    (spawn_with(db, config).await, fake)
}

pub async fn spawn_with(db: TestDatabase, config: Config) -> TestApp {
    let app = Application::build(&config)
        .await
        .expect("application builds");
    let first = app
        .first_start
        .as_ref()
        .expect("fresh database: first start");
    let (test_key, live_key) = (
        first.test_key.key.expose().to_owned(),
        first.live_key.key.expose().to_owned(),
    );
    serve(app, db, test_key, live_key)
}

/// Another node on `first`'s database, built from `config` (the same master key): the database is
/// already set up, so this node answers to `first`'s keys.
pub async fn spawn_another_node(first: &TestApp, config: Config) -> TestApp {
    let app = Application::build(&config)
        .await
        .expect("application builds");
    assert!(app.first_start.is_none(), "the database was already set up");
    let db = TestDatabase {
        url: first.db.url.clone(),
        dir: tempfile::tempdir().expect("temp dir"),
    };
    serve(app, db, first.test_key.clone(), first.live_key.clone())
}

fn serve(app: Application, db: TestDatabase, test_key: String, live_key: String) -> TestApp {
    let addr = app.local_addr().expect("bound");
    let setup_token = app
        .setup_link
        .as_ref()
        .map(|l| l.token.expose_secret().to_owned());
    let broker = app.broker.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        test_key,
        live_key,
        broker,
        db,
        setup_token,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /v1/vault/connections?{query}` with the test key.
    pub async fn list_connections(&self, query: &str) -> reqwest::Response {
        self.list_connections_with(query, &self.test_key).await
    }

    pub async fn list_connections_with(&self, query: &str, key: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/v1/vault/connections?{query}")))
            .header("x-pica-secret", key)
            .send()
            .await
            .expect("request")
    }

    /// `GET /v1/vault/connections/{id}` with `key`.
    pub async fn get_connection(&self, id: &str, key: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/v1/vault/connections/{id}")))
            .header("x-pica-secret", key)
            .send()
            .await
            .expect("request")
    }

    /// `POST /v1/authkit` as `@picahq/authkit-token` sends it.
    pub async fn create_authkit_token(
        &self,
        key: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/v1/authkit?limit=100&page=1"))
            .header("X-Pica-Secret", key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// A session token for `identity` (type user) in the test environment.
    pub async fn session_for(&self, identity: &str) -> String {
        let r = self
            .create_authkit_token(
                &self.test_key,
                serde_json::json!({"identity": identity, "identityType": "user"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.expect("json");
        body["sessionToken"]
            .as_str()
            .expect("sessionToken")
            .to_owned()
    }

    /// `GET /v1/authkit/integrations` with a session token.
    pub async fn modal_integrations(&self, token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/v1/authkit/integrations"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// `POST /v1/authkit/connections` with a session token.
    pub async fn modal_connect(&self, token: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/authkit/connections"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `PATCH /v1/integrations/{platform}` with `key`.
    pub async fn patch_integration(
        &self,
        key: &str,
        platform: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/v1/integrations/{platform}")))
            .header("x-pica-secret", key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn enable_integration(&self, key: &str, platform: &str) {
        let r = self
            .patch_integration(key, platform, serde_json::json!({"enabled": true}))
            .await;
        assert_eq!(r.status(), 200, "enable {platform}");
    }

    /// `GET /v1/settings` with `key`.
    pub async fn settings(&self, key: &str) -> reqwest::Response {
        self.get_with("/v1/settings", key).await
    }

    /// `PATCH /v1/settings` with `key`.
    pub async fn patch_settings(&self, key: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .patch(self.url("/v1/settings"))
            .header("x-pica-secret", key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `PATCH /v1/vault/connections/{id}`.
    pub async fn patch_connection(
        &self,
        id: &str,
        key: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/v1/vault/connections/{id}")))
            .header("x-pica-secret", key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `DELETE /v1/vault/connections/{id}`.
    pub async fn delete_connection(&self, id: &str, key: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/v1/vault/connections/{id}")))
            .header("x-pica-secret", key)
            .send()
            .await
            .expect("request")
    }

    /// `POST /v1/vault/connections` (import).
    pub async fn import_connection(&self, key: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/vault/connections"))
            .header("x-pica-secret", key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Imports an acme (fake platform) connection for `identity` with the test key; its connection key.
    pub async fn acme_connection_key(&self, identity: &str) -> String {
        let r = self
            .import_connection(
                &self.test_key,
                serde_json::json!({"platform": "acme", "identity": identity, "identityType": "user",
                "authFormData": {"apiKey": fake_platform::GOOD_KEY}}),
            )
            .await;
        assert_eq!(r.status(), 201);
        r.json::<serde_json::Value>().await.expect("json")["key"]
            .as_str()
            .expect("key")
            .to_owned()
    }

    /// `GET {path}` with `key`.
    pub async fn get_with(&self, path: &str, key: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("x-pica-secret", key)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("join").expect("server exits cleanly");
        }
    }
}

/// Asserts the one error shape and returns the body.
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let body: serde_json::Value = response.json().await.expect("json error body");
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        body["requestId"].as_str(),
        Some(header_id.as_str()),
        "{body}"
    );
    body
}

/// Like [`spawn_app_with_fake_platform`], with `actions/acme.json` (`actions_json`) in the custom catalog.
pub async fn spawn_app_with_fake_platform_actions(
    actions_json: &str,
) -> (TestApp, fake_platform::FakePlatform) {
    let fake = fake_platform::FakePlatform::start().await;
    let db = fresh_database().await;
    let catalog = db.dir.path().join("catalog");
    fake.write_catalog(&catalog);
    std::fs::create_dir_all(catalog.join("actions")).expect("mkdir actions");
    std::fs::write(catalog.join("actions/acme.json"), actions_json).expect("actions file");
    let config = Config {
        catalog_dir: Some(catalog),
        ..test_config(&db)
    };
    (spawn_with(db, config).await, fake)
}
