//! OAuth tokens after the connect: refresh on demand and by the sweep, single-flight under load (one node
//! and two), one refresh per token however short-lived, revoked and flaky providers, client-credentials
//! platforms.

mod support;

use std::sync::Arc;

use keyway_broker::oauth::refresh::Need;
use keyway_broker::Broker;
use keyway_core::connection::ConnectionState;
use serde_json::{json, Value};
use support::fake_oauth::Mode;
use support::oauth_flow::{
    configure, connect, expiring_connection, outlive_a_one_second_token, stored,
};
use support::{assert_error, spawn_app_with_fake_oauth};

#[tokio::test]
async fn an_expiring_token_is_refreshed_on_use_and_a_rotated_refresh_token_is_kept() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.set_expires_in(1);
    let record = connect(&app, "user_r").await;
    let c = stored(&app, record["id"].as_str().expect("id")).await;
    let first_refresh = fake.current_refresh_token();

    fake.set_expires_in(3600);
    outlive_a_one_second_token().await;
    let creds = app.broker.usable_credentials(&c).await.expect("refreshed");
    assert_eq!(fake.refresh_calls(), 1);
    assert_ne!(
        fake.current_refresh_token(),
        first_refresh,
        "the provider rotated it"
    );
    assert_eq!(
        creds.get("refreshToken").map(str::to_owned),
        fake.current_refresh_token(),
        "rotation persisted"
    );
    // Fresh now: no more token calls.
    let c = stored(&app, &c.id).await;
    app.broker.usable_credentials(&c).await.expect("fresh");
    assert_eq!(fake.refresh_calls(), 1);
    // And the rotated token is what the next refresh uses (the fake refuses the old one).
    let forced = app
        .broker
        .refresh(&c, Need::after_unauthorized(&c))
        .await
        .expect("forced refresh");
    assert!(forced.get("accessToken").is_some());
    assert_eq!(fake.refresh_calls(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_thousand_concurrent_uses_of_an_expired_connection_make_one_token_call() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let c = Arc::new(expiring_connection(&app, &fake, "user_race").await);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (broker, c) = (app.broker.clone(), c.clone());
        tasks.spawn(async move {
            broker
                .usable_credentials(&c)
                .await
                .map(|cr| cr.get("accessToken").map(str::to_owned))
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(r) = tasks.join_next().await {
        tokens.insert(r.expect("join").expect("credentials"));
    }
    assert_eq!(fake.refresh_calls(), 1, "exactly one refresh");
    assert_eq!(tokens.len(), 1, "everyone got the same new token");
    app.stop().await;
}

#[tokio::test]
async fn two_nodes_on_one_database_share_one_refresh() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let c = Arc::new(expiring_connection(&app, &fake, "user_2n").await);

    // A second node: its own pool, locks and lease identity, the same database and keys.
    let catalog =
        keyway_catalog::load::Catalog::load(true, Some(&app.db.dir.path().join("catalog")))
            .expect("catalog");
    let store = keyway_store::Store::open(&app.db.url, &keyway_store::PoolSettings::default())
        .await
        .expect("store");
    let keyring = app.broker.sealer.keyring();
    let ring = keyway_crypto::keyring::Keyring::new(
        keyring
            .keys()
            .iter()
            .map(|k| {
                keyway_crypto::master_key::MasterKey::from_base64(
                    secrecy::ExposeSecret::expose_secret(&k.to_base64()),
                )
                .expect("k")
            })
            .collect(),
    )
    .expect("ring");
    let (other, _) = Broker::start(store, ring, catalog)
        .await
        .expect("second node");

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let broker = if i % 2 == 0 {
            app.broker.clone()
        } else {
            other.clone()
        };
        let c = c.clone();
        tasks.spawn(async move {
            broker
                .usable_credentials(&c)
                .await
                .map(|cr| cr.get("accessToken").map(str::to_owned))
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(r) = tasks.join_next().await {
        tokens.insert(r.expect("join").expect("credentials"));
    }
    assert_eq!(
        fake.refresh_calls(),
        1,
        "exactly one refresh across both nodes"
    );
    assert_eq!(tokens.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_grant_fails_the_connection_and_it_is_not_retried() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.set_expires_in(1);
    let record = connect(&app, "user_rev").await;
    let id = record["id"].as_str().expect("id").to_owned();
    outlive_a_one_second_token().await;
    fake.set_mode(Mode::InvalidGrant);
    let c = stored(&app, &id).await;
    let err = app
        .broker
        .usable_credentials(&c)
        .await
        .expect_err("revoked");
    assert!(err.to_string().contains("reconnect"), "{err}");
    assert_eq!(fake.refresh_calls(), 1);
    let view: Value = app
        .get_connection(&id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "failed");
    // Not retried until the user reconnects, even if the provider recovers.
    fake.set_mode(Mode::Normal);
    let c = stored(&app, &id).await;
    assert!(app.broker.usable_credentials(&c).await.is_err());
    let swept = Need::Due {
        seen: c.oauth_issued_at,
        within_seconds: 600,
    };
    assert!(app.broker.refresh(&c, swept).await.is_err());
    let swept = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!(swept, 0, "failed connections are not swept");
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_flaky_provider_degrades_then_recovers() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.set_expires_in(1);
    let record = connect(&app, "user_flaky").await;
    let id = record["id"].as_str().expect("id").to_owned();
    outlive_a_one_second_token().await;
    fake.set_mode(Mode::ServerError);
    let c = stored(&app, &id).await;
    let err = app
        .broker
        .usable_credentials(&c)
        .await
        .expect_err("no usable token");
    assert!(err.to_string().contains("not answering"), "{err}");
    let view: Value = app
        .get_connection(&id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "degraded");
    let (failures, next) = app
        .broker
        .store
        .refresh_backoff(&id)
        .await
        .expect("backoff");
    assert_eq!(failures, 1);
    assert!(
        next.is_some_and(|t| t > keyway_core::timestamp::Timestamp::now().plus_seconds(20)),
        "backoff ≈30 s"
    );
    // The sweep respects the backoff.
    assert_eq!(
        keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
            .await
            .expect("sweep"),
        0
    );

    fake.set_mode(Mode::Normal);
    fake.set_expires_in(3600);
    let c = stored(&app, &id).await;
    let creds = app
        .broker
        .usable_credentials(&c)
        .await
        .expect("recovered: an expired token is retried on use");
    assert!(creds.get("accessToken").is_some());
    let view: Value = app
        .get_connection(&id, &app.test_key)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["state"], "operational");
    assert_eq!(app.broker.store.refresh_backoff(&id).await.expect("b").0, 0);
    assert_eq!(stored(&app, &id).await.state, ConnectionState::Operational);
    app.stop().await;
}

#[tokio::test]
async fn the_sweep_refreshes_tokens_nearing_expiry() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    fake.set_expires_in(1);
    let a = connect(&app, "user_s1").await;
    fake.set_expires_in(7200);
    let b = connect(&app, "user_s2").await; // not due
    outlive_a_one_second_token().await;
    fake.set_expires_in(3600);
    let before = stored(&app, a["id"].as_str().expect("id"))
        .await
        .oauth_expires_at;
    let n = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!(n, 1);
    assert_eq!(fake.refresh_calls(), 1);
    let after = stored(&app, a["id"].as_str().expect("id"))
        .await
        .oauth_expires_at;
    assert!(after > before, "{before:?} -> {after:?}");
    assert_eq!(
        stored(&app, b["id"].as_str().expect("id")).await.state,
        ConnectionState::Operational
    );
    assert_eq!(
        keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
            .await
            .expect("sweep"),
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn client_credentials_platforms_get_tokens_without_a_user_step() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    fake.set_expires_in(1);
    let r = app
        .import_connection(
            &app.test_key,
            json!({"platform": "oauthcc", "identity": "org_1", "identityType": "organization",
            "authFormData": {"clientId": "cc-id", "clientSecret": "cc-secret"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let c = stored(
        &app,
        r.json::<Value>().await.expect("json")["id"]
            .as_str()
            .expect("id"),
    )
    .await;
    assert_eq!(fake.token_calls(), 1);
    fake.set_expires_in(3600);
    outlive_a_one_second_token().await;
    let creds = app.broker.usable_credentials(&c).await.expect("re-issued");
    assert!(creds.get("accessToken").is_some());
    assert_eq!(
        fake.token_calls(),
        2,
        "a new client-credentials token, no refresh token involved"
    );
    let bad = app
        .import_connection(
            &app.test_key,
            json!({"platform": "oauthcc", "identity": "org_1", "identityType": "organization",
            "authFormData": {"clientId": "cc-id", "clientSecret": "wrong"}}),
        )
        .await;
    assert_error(bad, 422, "credentials_rejected").await;
    app.stop().await;
}

/// Connects `identity` with a one-second token and lets it expire, then has the provider issue tokens
/// living `lifetime` seconds (none: replies without `expires_in`). Returns the connection's id and key.
async fn expired_connection_then_tokens_of(
    app: &support::TestApp,
    fake: &support::fake_oauth::FakeOAuth,
    identity: &str,
    lifetime: Option<i64>,
) -> (String, String) {
    let c = expiring_connection(app, fake, identity).await;
    match lifetime {
        Some(seconds) => fake.set_expires_in(seconds),
        None => fake.omit_expires_in(),
    }
    (c.id, c.key.as_str().to_owned())
}

/// `GET /me` on the fake provider through passthrough; the status.
async fn passthrough_me(app: &support::TestApp, key: &str) -> u16 {
    app.client
        .get(app.url("/v1/passthrough/me"))
        .header("x-pica-secret", &app.test_key)
        .header("x-pica-connection-key", key)
        .send()
        .await
        .expect("passthrough")
        .status()
        .as_u16()
}

/// `n` passthrough requests at once, then `then` one after another; every one must succeed.
async fn concurrent_then_sequential(app: &support::TestApp, key: &str, n: usize, then: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, url, secret, key) = (
            app.client.clone(),
            app.url("/v1/passthrough/me"),
            app.test_key.clone(),
            key.to_owned(),
        );
        tasks.spawn(async move {
            client
                .get(url)
                .header("x-pica-secret", secret)
                .header("x-pica-connection-key", key)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.expect("join").expect("passthrough"), 200);
    }
    for _ in 0..then {
        assert_eq!(passthrough_me(app, key).await, 200);
    }
}

/// Tokens living less than the 120 s margin were refreshed again by every caller (each re-checked
/// "expires within 120 s" after waiting, and the fresh token still did): now the margin is at most half
/// the token's lifetime, and a caller that waited uses the token the refresh it waited for produced.
#[tokio::test]
async fn tokens_living_a_minute_are_refreshed_once_for_two_hundred_concurrent_requests() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let (_, key) = expired_connection_then_tokens_of(&app, &fake, "user_60", Some(60)).await;
    assert_eq!(fake.refresh_calls(), 0);
    concurrent_then_sequential(&app, &key, 200, 0).await;
    assert_eq!(fake.refresh_calls(), 1, "one refresh for 200 requests");
    concurrent_then_sequential(&app, &key, 0, 10).await;
    assert_eq!(fake.refresh_calls(), 1, "none for the next ten");
    app.stop().await;
}

#[tokio::test]
async fn tokens_living_a_day_are_refreshed_once_for_two_hundred_concurrent_requests() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let (_, key) = expired_connection_then_tokens_of(&app, &fake, "user_day", Some(86_400)).await;
    concurrent_then_sequential(&app, &key, 200, 10).await;
    assert_eq!(fake.refresh_calls(), 1);
    app.stop().await;
}

/// A refresh reply without `expires_in` left the old (expired) expiry in place, so every request refreshed
/// again. A token whose lifetime was not said is now used until the platform refuses it.
#[tokio::test]
async fn tokens_without_expires_in_are_refreshed_once_and_then_used_until_refused() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let (id, key) = expired_connection_then_tokens_of(&app, &fake, "user_none", None).await;
    concurrent_then_sequential(&app, &key, 200, 10).await;
    assert_eq!(fake.refresh_calls(), 1);
    let c = stored(&app, &id).await;
    assert_eq!(c.oauth_expires_at, None, "unknown, not the old expiry");
    // Refused by the platform: refreshed once more, and the request retried.
    fake.revoke_access_tokens();
    assert_eq!(passthrough_me(&app, &key).await, 200);
    assert_eq!(fake.refresh_calls(), 2);
    app.stop().await;
}

/// One-second tokens must be refreshed often, but a token is never refreshed before half its lifetime has
/// passed and each refresh is shared by everyone waiting for it: refreshes are at least half a second
/// apart, so at most 1 + elapsed / 0.5 s of them, however many requests come meanwhile.
#[tokio::test]
async fn one_second_tokens_are_refreshed_at_most_once_per_half_second() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    let (_, key) = expired_connection_then_tokens_of(&app, &fake, "user_1s", Some(1)).await;
    let started = std::time::Instant::now();
    concurrent_then_sequential(&app, &key, 200, 10).await;
    let bound = 1 + (started.elapsed().as_millis() / 500) as usize;
    let refreshes = fake.refresh_calls();
    assert!(
        (1..=bound).contains(&refreshes),
        "{refreshes} refreshes in {:?} (at most {bound})",
        started.elapsed()
    );
    app.stop().await;
}

/// The sweep refreshed every token expiring within its 10-minute horizon, so tokens living less than that
/// were refreshed again on every pass, just issued or not. It follows the on-use rule now: within the
/// horizon and past half the token's lifetime.
#[tokio::test]
async fn the_sweep_leaves_short_lived_tokens_alone_until_half_their_lifetime_has_passed() {
    let (app, fake) = spawn_app_with_fake_oauth().await;
    configure(&app).await;
    for (identity, lifetime) in [("user_sw60", 60), ("user_sw300", 300)] {
        fake.set_expires_in(lifetime);
        connect(&app, identity).await;
    }
    let swept = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!(swept, 0);
    assert_eq!(fake.refresh_calls(), 0);

    // A two-second token, once past its half-life, is swept; the token that replaces it is not, at once.
    fake.set_expires_in(2);
    let c = connect(&app, "user_sw2").await;
    let before = stored(&app, c["id"].as_str().expect("id")).await;
    fake.set_expires_in(60);
    outlive_a_one_second_token().await;
    let swept = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!(swept, 1);
    assert_eq!(fake.refresh_calls(), 1);
    let after = stored(&app, &before.id).await;
    assert_ne!(after.oauth_issued_at, before.oauth_issued_at);
    let swept = keyway_broker::oauth::sweep::sweep_once(&app.broker, &Default::default())
        .await
        .expect("sweep");
    assert_eq!((swept, fake.refresh_calls()), (0, 1));
    app.stop().await;
}
