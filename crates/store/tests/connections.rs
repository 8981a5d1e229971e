//! Connection storage contract: scoping, filters, exact totals, stable paging. Runs on both backends.

use std::collections::BTreeMap;

use keyway_core::connection::{Connection, ConnectionFilter, ConnectionKey, ConnectionState};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::project::Project;
use keyway_core::timestamp::Timestamp;
use keyway_crypto::envelope::{seal, Aad};
use keyway_crypto::keyring::Keyring;
use keyway_crypto::master_key::MasterKey;
use keyway_store::connections::Window;
use keyway_store::sealed::SealedRow;
use keyway_store::{PoolSettings, Store};
use keyway_testkit::fresh_database;

struct Fixture {
    store: Store,
    ring: Keyring,
    _db: keyway_testkit::TestDatabase,
}

impl Fixture {
    async fn new() -> Self {
        let db = fresh_database().await;
        let store = Store::open(&db.url, &PoolSettings::default())
            .await
            .expect("store");
        Self {
            store,
            ring: Keyring::new(vec![MasterKey::generate()]).expect("ring"),
            _db: db,
        }
    }

    async fn project(&self, name: &str) -> ProjectId {
        let p = Project {
            id: ProjectId::generate(),
            name: name.into(),
            created_at: Timestamp::now(),
        };
        self.store.create_project(&p, None).await.expect("project");
        p.id
    }

    async fn connect(
        &self,
        project: &ProjectId,
        env: Environment,
        platform: &str,
        identity: &str,
        tags: &[&str],
        created: i64,
    ) -> Connection {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let identity = Identity::parse(identity).expect("identity");
        let c = Connection {
            id: format!("conn_{hex}"),
            key: ConnectionKey::build(env, platform, &hex, &identity),
            project_id: project.clone(),
            environment: env,
            platform: platform.into(),
            platform_version: "v1".into(),
            identity,
            identity_type: IdentityType::User,
            name: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            state: ConnectionState::Operational,
            active: true,
            version: 1,
            fields: BTreeMap::from([("subdomain".to_string(), "acme".to_string())]),
            oauth_expires_at: None,
            oauth_issued_at: None,
            oauth_scopes: None,
            created_at: Timestamp::from_unix_millis(created),
            updated_at: Timestamp::from_unix_millis(created),
        };
        let secret_id = format!("{}/credentials", c.id);
        let row = SealedRow {
            blob: seal(
                &self.ring,
                &Aad::new("connection.credentials", project.as_str(), &secret_id),
                b"{}",
            ),
            id: secret_id,
            scope: project.as_str().into(),
            purpose: "connection.credentials".into(),
        };
        self.store
            .insert_connection(&c, &row)
            .await
            .expect("insert");
        c
    }
}

const ALL: Window = Window {
    skip: 0,
    limit: 100,
};

#[tokio::test]
async fn lists_are_scoped_to_project_and_environment() {
    let f = Fixture::new().await;
    let (a, b) = (f.project("a").await, f.project("b").await);
    let mine = f
        .connect(&a, Environment::Test, "slack", "u1", &[], 1)
        .await;
    f.connect(&a, Environment::Live, "slack", "u1", &[], 2)
        .await;
    f.connect(&b, Environment::Test, "slack", "u1", &[], 3)
        .await;

    let (rows, total) = f
        .store
        .list_connections(&a, Environment::Test, &ConnectionFilter::default(), ALL)
        .await
        .expect("list");
    assert_eq!(total, 1);
    assert_eq!(rows, vec![mine.clone()]);
    assert!(f
        .store
        .connection(&a, Environment::Test, &mine.id)
        .await
        .expect("q")
        .is_some());
    assert!(f
        .store
        .connection(&a, Environment::Live, &mine.id)
        .await
        .expect("q")
        .is_none());
    assert!(f
        .store
        .connection(&b, Environment::Test, &mine.id)
        .await
        .expect("q")
        .is_none());
}

#[tokio::test]
async fn filters_combine_and_totals_are_exact() {
    let f = Fixture::new().await;
    let p = f.project("p").await;
    let c1 = f
        .connect(&p, Environment::Test, "slack", "u1", &["crm", "vip"], 1)
        .await;
    let c2 = f
        .connect(&p, Environment::Test, "github", "u1", &["crm"], 2)
        .await;
    let c3 = f
        .connect(&p, Environment::Test, "slack", "u2", &[], 3)
        .await;
    let list = |filter: ConnectionFilter| {
        let store = f.store.clone();
        let p = p.clone();
        async move {
            let (rows, total) = store
                .list_connections(&p, Environment::Test, &filter, ALL)
                .await
                .expect("list");
            assert_eq!(total as usize, rows.len());
            rows.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ConnectionFilter {
            identity: Some("u1".into()),
            ..Default::default()
        })
        .await,
        [c1.id.clone(), c2.id.clone()]
    );
    assert_eq!(
        list(ConnectionFilter {
            platform: Some("slack".into()),
            ..Default::default()
        })
        .await,
        [c1.id.clone(), c3.id.clone()]
    );
    assert_eq!(
        list(ConnectionFilter {
            tags: vec!["crm".into(), "vip".into()],
            ..Default::default()
        })
        .await,
        vec![c1.id.clone()]
    );
    assert_eq!(
        list(ConnectionFilter {
            keys: Some(vec![c3.key.to_string(), c2.key.to_string()]),
            ..Default::default()
        })
        .await,
        [c2.id.clone(), c3.id.clone()]
    );
    assert!(list(ConnectionFilter {
        keys: Some(vec![]),
        ..Default::default()
    })
    .await
    .is_empty());
    assert!(list(ConnectionFilter {
        identity: Some("u1".into()),
        platform: Some("nope".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        list(ConnectionFilter {
            identity_type: Some(IdentityType::Team),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    assert_eq!(
        list(ConnectionFilter {
            active: Some(true),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
}

#[tokio::test]
async fn paging_is_stable_and_skip_past_the_end_keeps_the_total() {
    let f = Fixture::new().await;
    let p = f.project("p").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        // Equal creation times: the id breaks the tie.
        ids.push((
            100 + i / 3,
            f.connect(&p, Environment::Test, "slack", "u", &[], 100 + i / 3)
                .await
                .id,
        ));
    }
    let mut seen = Vec::new();
    for skip in (0..7).step_by(3) {
        let (rows, total) = f
            .store
            .list_connections(
                &p,
                Environment::Test,
                &ConnectionFilter::default(),
                Window { skip, limit: 3 },
            )
            .await
            .expect("page");
        assert_eq!(total, 7);
        seen.extend(rows.into_iter().map(|c| c.id));
    }
    ids.sort();
    let expected: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
    assert_eq!(
        seen, expected,
        "pages concatenate to (created_at, id) order"
    );
    let (rows, total) = f
        .store
        .list_connections(
            &p,
            Environment::Test,
            &ConnectionFilter::default(),
            Window { skip: 50, limit: 3 },
        )
        .await
        .expect("page");
    assert!(rows.is_empty());
    assert_eq!(total, 7);
}

/// Every row of a browse, page by page (keyset cursors), as identities.
async fn browse_all(
    f: &Fixture,
    project: &ProjectId,
    filter: &keyway_store::connection_browse::BrowseFilter,
    page: u32,
) -> Vec<String> {
    use keyway_store::connection_browse::BrowseCursor;
    let mut out = Vec::new();
    let mut after: Option<BrowseCursor> = None;
    loop {
        let (rows, more) = f
            .store
            .browse_connections(project, Environment::Test, filter, after.as_ref(), page)
            .await
            .expect("browse");
        assert!(rows.len() <= page as usize);
        out.extend(rows.iter().map(|c| c.identity.to_string()));
        if !more {
            return out;
        }
        after = rows
            .last()
            .map(|c| BrowseCursor::after(c, filter.by_identity()));
        assert!(out.len() < 10_000, "paging must end");
    }
}

#[tokio::test]
async fn browsing_pages_by_keyset_over_equal_times_and_filters_by_prefix_state_and_tags() {
    use keyway_store::connection_browse::{BrowseFilter, IdentityMatch};
    let f = Fixture::new().await;
    let (a, b) = (f.project("a").await, f.project("b").await);
    // Many rows in the same millisecond: the id breaks ties, so no row is skipped or repeated.
    for i in 0..23 {
        let platform = if i % 3 == 0 { "github" } else { "slack" };
        let tags: &[&str] = if i % 2 == 0 { &["even"] } else { &[] };
        f.connect(
            &a,
            Environment::Test,
            platform,
            &format!("user_{i:02}"),
            tags,
            1_000 + (i / 5),
        )
        .await;
    }
    f.connect(&a, Environment::Test, "slack", "user_", &[], 5)
        .await;
    f.connect(&a, Environment::Test, "slack", "usera", &[], 5)
        .await;
    f.connect(&a, Environment::Live, "slack", "user_99", &[], 5)
        .await;
    f.connect(&b, Environment::Test, "slack", "user_98", &[], 5)
        .await;

    let everything = browse_all(&f, &a, &BrowseFilter::default(), 4).await;
    assert_eq!(everything.len(), 25);
    let mut unique = everything.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 25, "no row twice");
    assert!(
        everything[..2].iter().all(|i| i.starts_with("user_2")),
        "newest first: {everything:?}"
    );
    assert!(everything[23..].contains(&"user_".to_owned()));

    // A prefix lists in byte order; `_` is a literal, not a wildcard; other projects and environments
    // never appear.
    let prefix = |p: &str| BrowseFilter {
        identity: Some(IdentityMatch::Prefix(p.into())),
        ..BrowseFilter::default()
    };
    let ones = browse_all(&f, &a, &prefix("user_1"), 3).await;
    assert_eq!(
        ones,
        (10..20).map(|i| format!("user_{i:02}")).collect::<Vec<_>>()
    );
    let all_users = browse_all(&f, &a, &prefix("user_"), 7).await;
    assert_eq!(
        all_users.len(),
        24,
        "user_ itself and user_00..22, not usera"
    );
    assert_eq!(all_users[0], "user_");
    assert!(all_users.windows(2).all(|w| w[0] < w[1]), "identity order");
    let exact = BrowseFilter {
        identity: Some(IdentityMatch::Exact("user_07".into())),
        ..BrowseFilter::default()
    };
    assert_eq!(browse_all(&f, &a, &exact, 5).await, vec!["user_07"]);

    let github_even = BrowseFilter {
        platform: Some("github".into()),
        tags: vec!["even".into()],
        ..BrowseFilter::default()
    };
    let found = browse_all(&f, &a, &github_even, 2).await;
    assert_eq!(found, vec!["user_18", "user_12", "user_06", "user_00"]);
    let failed = BrowseFilter {
        state: Some(ConnectionState::Failed),
        ..BrowseFilter::default()
    };
    assert!(browse_all(&f, &a, &failed, 10).await.is_empty());

    // Counts stop at the cap.
    let count = |filter: BrowseFilter, cap| {
        let store = f.store.clone();
        let a = a.clone();
        async move {
            store
                .count_connections_up_to(&a, Environment::Test, &filter, cap)
                .await
                .expect("count")
        }
    };
    assert_eq!(count(BrowseFilter::default(), 1000).await, 25);
    assert_eq!(count(BrowseFilter::default(), 10).await, 10);
    assert_eq!(count(prefix("user_1"), 1000).await, 10);
}

#[tokio::test]
async fn bulk_inserts_store_connections_tags_and_credentials_together() {
    use keyway_store::connection_browse::BrowseFilter;
    let f = Fixture::new().await;
    let a = f.project("a").await;
    let template = f
        .connect(&a, Environment::Test, "slack", "seed", &[], 1)
        .await;
    let rows: Vec<(Connection, SealedRow)> = (0..250)
        .map(|i| {
            let hex = format!("{:032x}", i + 1);
            let identity = Identity::parse(&format!("bulk_{i:03}")).expect("identity");
            let c = Connection {
                id: format!("conn_{hex}"),
                key: ConnectionKey::build(Environment::Test, "slack", &hex, &identity),
                identity,
                tags: if i % 50 == 0 {
                    vec!["vip".into(), "eu".into()]
                } else {
                    Vec::new()
                },
                created_at: Timestamp::from_unix_millis(10 + i),
                ..template.clone()
            };
            let secret_id = format!("{}/credentials", c.id);
            let sealed = SealedRow {
                blob: seal(
                    &f.ring,
                    &Aad::new("connection.credentials", a.as_str(), &secret_id),
                    b"{}",
                ),
                id: secret_id,
                scope: a.as_str().into(),
                purpose: "connection.credentials".into(),
            };
            (c, sealed)
        })
        .collect();
    f.store
        .insert_connections(&rows)
        .await
        .expect("bulk insert");
    let all = BrowseFilter::default();
    assert_eq!(
        f.store
            .count_connections_up_to(&a, Environment::Test, &all, 1000)
            .await
            .expect("count"),
        251
    );
    let vip = BrowseFilter {
        tags: vec!["vip".into(), "eu".into()],
        ..BrowseFilter::default()
    };
    assert_eq!(
        browse_all(&f, &a, &vip, 2).await,
        vec!["bulk_200", "bulk_150", "bulk_100", "bulk_050", "bulk_000"]
    );
    let (stored, _) = f
        .store
        .list_connections(&a, Environment::Test, &ConnectionFilter::default(), ALL)
        .await
        .expect("list");
    assert!(stored.contains(&rows[7].0));
    assert!(f
        .store
        .sealed(&rows[249].1.id)
        .await
        .expect("sealed")
        .is_some());
    // A tag on more than 2,000 connections is matched by probing in page order: same answers.
    let many: Vec<(Connection, SealedRow)> = (0..2_100)
        .map(|i| {
            let (mut c, mut s) = rows[0].clone();
            let hex = format!("{:032x}", 100_000 + i);
            c.identity = Identity::parse(&format!("many_{i:04}")).expect("identity");
            c.id = format!("conn_{hex}");
            c.key = ConnectionKey::build(Environment::Test, "slack", &hex, &c.identity);
            c.tags = vec!["many".into()];
            c.created_at = Timestamp::from_unix_millis(1_000 + i);
            s.id = format!("{}/credentials", c.id);
            (c, s)
        })
        .collect();
    f.store
        .insert_connections(&many)
        .await
        .expect("bulk insert");
    let tagged = BrowseFilter {
        tags: vec!["many".into()],
        ..BrowseFilter::default()
    };
    let walked = browse_all(&f, &a, &tagged, 500).await;
    assert_eq!(walked.len(), 2_100);
    assert_eq!(walked[0], "many_2099");
    assert_eq!(
        f.store
            .count_connections_up_to(&a, Environment::Test, &tagged, 10_001)
            .await
            .expect("count"),
        2_100
    );

    // All or nothing: a batch with one duplicate id stores none of its rows.
    let mut again = rows[..3].to_vec();
    for (c, s) in again.iter_mut().take(2) {
        c.id = format!("{}x", c.id);
        c.key = ConnectionKey::from_trusted(format!("{}x", c.key));
        s.id = format!("{}/credentials", c.id);
    }
    assert!(f.store.insert_connections(&again).await.is_err());
    assert!(f
        .store
        .connection(&a, Environment::Test, &again[0].0.id)
        .await
        .expect("read")
        .is_none());
}
