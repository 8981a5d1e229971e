//! Start-up checks, keys and rotation against a real store (SQLite, or Postgres with KEYWAY_TEST_DATABASE=postgres).

use keyway_broker::error::BrokerError;
use keyway_broker::keys::AuthError;
use keyway_broker::Broker;
use keyway_core::environment::Environment;
use keyway_crypto::keyring::Keyring;
use keyway_crypto::master_key::MasterKey;
use keyway_store::{PoolSettings, Store};
use keyway_testkit::fresh_database;
use secrecy::ExposeSecret;

fn ring(keys: &[&MasterKey]) -> Keyring {
    Keyring::new(
        keys.iter()
            .map(|k| MasterKey::from_base64(k.to_base64().expose_secret()).expect("copy"))
            .collect(),
    )
    .expect("ring")
}

async fn open(url: &str) -> Store {
    Store::open(url, &PoolSettings::default())
        .await
        .expect("store")
}

#[tokio::test]
async fn first_start_mints_working_keys_once_and_a_restart_keeps_them() {
    let db = fresh_database().await;
    let key = MasterKey::generate();
    let (broker, first) = Broker::start(
        open(&db.url).await,
        ring(&[&key]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("start");
    let first = first.expect("first start creates the default project");
    assert!(first.test_key.key.expose().starts_with("sk_test_"));
    assert!(first.live_key.key.expose().starts_with("sk_live_"));

    let principal = broker
        .keys
        .authenticate(Some(first.live_key.key.expose()))
        .await
        .expect("store ok")
        .expect("authenticates");
    assert_eq!(principal.environment, Environment::Live);
    assert_eq!(principal.project_id, first.project.id);

    // Restart: same keys work, nothing new is minted.
    let (again, second) = Broker::start(
        open(&db.url).await,
        ring(&[&key]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("restart");
    assert!(second.is_none());
    assert!(again
        .keys
        .authenticate(Some(first.test_key.key.expose()))
        .await
        .expect("ok")
        .is_ok());
}

#[tokio::test]
async fn unknown_malformed_missing_and_revoked_keys_are_refused() {
    let db = fresh_database().await;
    let (broker, first) = Broker::start(
        open(&db.url).await,
        ring(&[&MasterKey::generate()]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("start");
    let first = first.expect("first");
    let keys = &broker.keys;
    assert_eq!(
        keys.authenticate(None).await.expect("ok"),
        Err(AuthError::Missing)
    );
    assert_eq!(
        keys.authenticate(Some("sk_test_nope")).await.expect("ok"),
        Err(AuthError::Malformed)
    );
    let stranger = format!("sk_test_{}", "A".repeat(40));
    assert_eq!(
        keys.authenticate(Some(&stranger)).await.expect("ok"),
        Err(AuthError::Unknown)
    );

    let actor = keyway_core::audit::Actor::cli(Some("tester"));
    let extra = keys
        .create(
            &first.project.id,
            Environment::Test,
            Some("billing".into()),
            &actor,
        )
        .await
        .expect("create");
    assert_eq!(extra.record.name.as_deref(), Some("billing"));
    assert!(keys
        .authenticate(Some(extra.key.expose()))
        .await
        .expect("ok")
        .is_ok());
    let revoked = keys
        .revoke(extra.record.id.as_str(), &actor)
        .await
        .expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        keys.authenticate(Some(extra.key.expose()))
            .await
            .expect("ok"),
        Err(AuthError::Revoked)
    );
    assert!(matches!(
        keys.revoke(extra.record.id.as_str(), &actor).await,
        Err(BrokerError::SecretKeyNotFound(_))
    ));
    // Revoking by the key itself works too.
    keys.revoke(first.test_key.key.expose(), &actor)
        .await
        .expect("revoke by key");
    // Each change is in the audit trail, newest first, with who made it and nothing secret.
    let (events, _) = broker
        .audit_events(&Default::default(), None, 10)
        .await
        .expect("audit");
    let actions: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_deref()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("key.revoked", Some(first.test_key.record.id.as_str())),
            ("key.revoked", Some(extra.record.id.as_str())),
            ("key.created", Some(extra.record.id.as_str())),
        ]
    );
    assert!(events.iter().all(
        |e| e.actor.label == "cli (tester)" && e.project_id.as_ref() == Some(&first.project.id)
    ));
    assert_eq!(
        events[2].detail.get("name").map(String::as_str),
        Some("billing")
    );
    let text = format!("{events:?}");
    assert!(!text.contains(extra.key.expose()) && !text.contains(first.test_key.key.expose()));
    assert_eq!(
        keys.authenticate(Some(first.test_key.key.expose()))
            .await
            .expect("ok"),
        Err(AuthError::Revoked)
    );
    // The other key is untouched.
    assert!(keys
        .authenticate(Some(first.live_key.key.expose()))
        .await
        .expect("ok")
        .is_ok());
}

#[tokio::test]
async fn a_wrong_master_key_refuses_to_start_and_names_both_keys() {
    let db = fresh_database().await;
    let right = MasterKey::generate();
    Broker::start(
        open(&db.url).await,
        ring(&[&right]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("start");
    let wrong = MasterKey::generate();
    let err = Broker::start(
        open(&db.url).await,
        ring(&[&wrong]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect_err("must refuse");
    let msg = err.to_string();
    assert!(matches!(err, BrokerError::WrongMasterKey { .. }), "{msg}");
    assert!(
        msg.contains(right.id()) && msg.contains(wrong.id()),
        "{msg}"
    );
}

#[tokio::test]
async fn rotation_rewraps_everything_and_the_old_key_can_then_be_dropped() {
    let db = fresh_database().await;
    let old = MasterKey::generate();
    let (broker, first) = Broker::start(
        open(&db.url).await,
        ring(&[&old]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("start");
    let first = first.expect("first");
    for i in 0..450 {
        let row = broker.sealer.seal(
            &format!("test/{i:04}"),
            "prj_x",
            "test.value",
            format!("v{i}").as_bytes(),
        );
        broker
            .store
            .put_sealed(&row, keyway_core::timestamp::Timestamp::now())
            .await
            .expect("put");
    }

    // Dropping the old key before rotating is refused.
    let new = MasterKey::generate();
    let err = Broker::start(
        open(&db.url).await,
        ring(&[&new]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect_err("refuse");
    assert!(matches!(err, BrokerError::WrongMasterKey { .. }), "{err}");

    let (both, _) = Broker::start(
        open(&db.url).await,
        ring(&[&new, &old]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("new + old");
    let mut last = None;
    let report = both
        .sealer
        .rotate(|p| last = Some(p))
        .await
        .expect("rotate");
    assert_eq!(report.rewrapped, 451, "450 values + the pepper");
    assert!(report.failed.is_empty());
    let last = last.expect("progress reported");
    assert_eq!((last.total, last.done), (451, 451));
    // A second run has nothing left to do.
    assert_eq!(
        both.sealer
            .rotate(|_| {})
            .await
            .expect("rotate again")
            .rewrapped,
        0
    );

    let (new_only, _) = Broker::start(
        open(&db.url).await,
        ring(&[&new]),
        keyway_catalog::load::Catalog::default(),
    )
    .await
    .expect("new key alone");
    let row = new_only
        .store
        .sealed("test/0123")
        .await
        .expect("q")
        .expect("row");
    assert_eq!(row.blob.key_id(), new.id());
    assert_eq!(
        new_only.sealer.open(&row).expect("opens").expose_secret(),
        b"v123"
    );
    assert!(new_only
        .keys
        .authenticate(Some(first.live_key.key.expose()))
        .await
        .expect("ok")
        .is_ok());
}
