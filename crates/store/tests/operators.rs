//! Operator storage contract, on either backend: single-use links, the first owner created once, the last
//! owner kept, sessions that end when idle or old, throttle counting.

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::id::OperatorId;
use keyway_core::operator::{Operator, Role};
use keyway_core::timestamp::Timestamp;
use keyway_store::dashboard_sessions::DashboardSession;
use keyway_store::operators::{AccountRefusal, LinkPurpose, NewLink};
use keyway_store::{PoolSettings, Store};
use keyway_testkit::fresh_database;

async fn store() -> (Store, keyway_testkit::TestDatabase) {
    let db = fresh_database().await;
    let store = Store::open(&db.url, &PoolSettings::default())
        .await
        .expect("store");
    (store, db)
}

fn operator(email: &str, role: Role) -> Operator {
    let now = Timestamp::now();
    Operator {
        id: OperatorId::generate(),
        email: email.into(),
        role,
        has_password: false,
        created_at: now,
        updated_at: now,
    }
}

fn event(action: &str) -> AuditEvent {
    AuditEvent::new(&Actor::cli(Some("test")), action, None)
}

fn link(hash: &str, purpose: LinkPurpose, op: Option<&OperatorId>, expires_in: i64) -> NewLink {
    let now = Timestamp::now();
    NewLink {
        token_hash: hash.into(),
        purpose,
        operator_id: op.cloned(),
        created_at: now,
        expires_at: now.plus_seconds(expires_in),
    }
}

#[tokio::test]
async fn the_first_owner_is_created_once_and_setup_links_die_with_it() {
    let (s, _db) = store().await;
    s.insert_operator_link(&link("setup-a", LinkPurpose::Setup, None, 60), None)
        .await
        .expect("link a");
    s.insert_operator_link(&link("setup-b", LinkPurpose::Setup, None, 60), None)
        .await
        .expect("link b");
    s.insert_operator_link(&link("setup-old", LinkPurpose::Setup, None, -1), None)
        .await
        .expect("expired link");
    let now = Timestamp::now();
    let ada = operator("ada@example.com", Role::Owner);
    assert_eq!(
        s.create_first_owner(
            "setup-old",
            &ada,
            "$argon2id$x",
            now,
            &event("operator.created")
        )
        .await
        .expect("query"),
        Err(AccountRefusal::LinkInvalid)
    );
    assert_eq!(
        s.create_first_owner(
            "setup-a",
            &ada,
            "$argon2id$x",
            now,
            &event("operator.created")
        )
        .await
        .expect("query"),
        Ok(())
    );
    // Spent, and the other setup link died with the first owner's creation.
    let bob = operator("bob@example.com", Role::Owner);
    for used in ["setup-a", "setup-b"] {
        assert_eq!(
            s.create_first_owner(used, &bob, "$argon2id$y", now, &event("operator.created"))
                .await
                .expect("query"),
            Err(AccountRefusal::LinkInvalid)
        );
    }
    assert_eq!(s.operator_count().await.expect("count"), 1);
    let (found, hash) = s
        .operator_by_email("ada@example.com")
        .await
        .expect("query")
        .expect("ada");
    assert!(found.has_password);
    assert_eq!(hash.as_deref(), Some("$argon2id$x"));
}

#[tokio::test]
async fn password_links_work_once_and_end_every_session() {
    let (s, _db) = store().await;
    let dev = operator("dev@example.com", Role::Viewer);
    s.create_operator(
        &dev,
        &link("pw-1", LinkPurpose::Password, Some(&dev.id), 60),
        &event("operator.created"),
    )
    .await
    .expect("create");
    assert!(
        !s.operator(&dev.id)
            .await
            .expect("q")
            .expect("dev")
            .has_password
    );
    let now = Timestamp::now();
    let session = DashboardSession {
        id: "dss_1".into(),
        operator_id: dev.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus_seconds(3600),
        client_address: None,
    };
    s.insert_dashboard_session(&session, "session-hash")
        .await
        .expect("session");
    let set = s
        .set_password_with_link("pw-1", "$argon2id$z", now, |o| {
            AuditEvent::new(
                &Actor::cli(None),
                "operator.password_set",
                Some(o.email.clone()),
            )
        })
        .await
        .expect("query")
        .expect("set");
    assert!(set.has_password);
    assert!(s
        .dashboard_session("session-hash", now, now.plus_seconds(-60))
        .await
        .expect("q")
        .is_none());
    let again = s
        .set_password_with_link("pw-1", "$argon2id$w", now, |o| {
            AuditEvent::new(&Actor::cli(None), "x", Some(o.email.clone()))
        })
        .await
        .expect("query");
    assert_eq!(again.err(), Some(AccountRefusal::LinkInvalid));
    // A duplicate email is a conflict; removing the last owner is refused, others are removed.
    let dup = operator("dev@example.com", Role::Admin);
    assert!(s
        .create_operator(
            &dup,
            &link("pw-2", LinkPurpose::Password, Some(&dup.id), 60),
            &event("operator.created")
        )
        .await
        .is_err());
    let owner = operator("owner@example.com", Role::Owner);
    s.create_operator(
        &owner,
        &link("pw-3", LinkPurpose::Password, Some(&owner.id), 60),
        &event("operator.created"),
    )
    .await
    .expect("owner");
    assert_eq!(
        s.delete_operator(&owner.id, &event("operator.removed"))
            .await
            .expect("q"),
        Err(AccountRefusal::LastOwner)
    );
    assert_eq!(
        s.set_operator_role(&owner.id, Role::Admin, now, &event("operator.role_changed"))
            .await
            .expect("q"),
        Err(AccountRefusal::LastOwner)
    );
    assert_eq!(
        s.delete_operator(&dev.id, &event("operator.removed"))
            .await
            .expect("q"),
        Ok(())
    );
    assert_eq!(s.list_operators().await.expect("list").len(), 1);
}

#[tokio::test]
async fn sessions_end_when_idle_or_past_their_deadline() {
    let (s, _db) = store().await;
    let op = operator("a@example.com", Role::Admin);
    s.create_operator(
        &op,
        &link("pw", LinkPurpose::Password, Some(&op.id), 60),
        &event("operator.created"),
    )
    .await
    .expect("op");
    let now = Timestamp::now();
    let mk = |id: &str, seen_ago: i64, ends_in: i64| DashboardSession {
        id: id.into(),
        operator_id: op.id.clone(),
        created_at: now.plus_seconds(-seen_ago),
        last_seen_at: now.plus_seconds(-seen_ago),
        expires_at: now.plus_seconds(ends_in),
        client_address: Some("192.0.2.1".into()),
    };
    s.insert_dashboard_session(&mk("dss_fresh", 10, 3600), "fresh")
        .await
        .expect("fresh");
    s.insert_dashboard_session(&mk("dss_idle", 13 * 3600, 3600), "idle")
        .await
        .expect("idle");
    s.insert_dashboard_session(&mk("dss_old", 10, -1), "old")
        .await
        .expect("old");
    let idle_since = now.plus_seconds(-12 * 3600);
    let live = |hash: &'static str| {
        let s = s.clone();
        async move { s.dashboard_session(hash, now, idle_since).await.expect("q") }
    };
    let (session, who) = live("fresh").await.expect("fresh session is live");
    assert_eq!(
        (session.id.as_str(), who.email.as_str()),
        ("dss_fresh", "a@example.com")
    );
    assert!(live("idle").await.is_none(), "idle for 13 h");
    assert!(live("old").await.is_none(), "past its absolute deadline");
    // Touching moves the idle deadline; deleting ends it.
    s.touch_dashboard_session("fresh", now)
        .await
        .expect("touch");
    assert!(s.delete_dashboard_session("fresh").await.expect("delete"));
    assert!(live("fresh").await.is_none());
}

#[tokio::test]
async fn sign_in_failures_are_counted_forgotten_and_blocks_expire() {
    let (s, _db) = store().await;
    let now = Timestamp::now();
    let long_ago = now.plus_seconds(-7200);
    for expected in 1..=3 {
        assert_eq!(
            s.count_sign_in_failure("email:x", now, long_ago)
                .await
                .expect("count"),
            expected
        );
    }
    // A failure after a quiet hour starts over.
    assert_eq!(
        s.count_sign_in_failure(
            "email:x",
            now.plus_seconds(3 * 3600),
            now.plus_seconds(2 * 3600)
        )
        .await
        .expect("count"),
        1
    );
    s.block_sign_in("address:192.0.2.1", now.plus_seconds(30))
        .await
        .expect("block");
    s.count_sign_in_failure("address:192.0.2.1", now, long_ago)
        .await
        .expect("count");
    s.block_sign_in("address:192.0.2.1", now.plus_seconds(30))
        .await
        .expect("block");
    let until = s
        .sign_in_blocked_until(&["email:x", "address:192.0.2.1"], now)
        .await
        .expect("q");
    assert_eq!(until, Some(now.plus_seconds(30)));
    assert_eq!(
        s.sign_in_blocked_until(&["address:192.0.2.1"], now.plus_seconds(31))
            .await
            .expect("q"),
        None
    );
    s.clear_sign_in_failures("email:x").await.expect("clear");
    assert_eq!(
        s.count_sign_in_failure("email:x", now, long_ago)
            .await
            .expect("count"),
        1
    );
}
