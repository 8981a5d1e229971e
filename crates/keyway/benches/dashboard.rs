//! Dashboard pages over a large store: the connections page found by identity (exact, prefix), by
//! platform (first page and the next), by state and by tag, with `BENCH_CONNECTIONS` connections
//! (default 1,000,000) in SQLite or PostgreSQL. The real server on loopback, a signed-in session, whole
//! pages (HTTP GET to last byte) timed from the client. Method and results: BENCHMARKS.md.
//!
//!   cargo bench -p keyway --bench dashboard                      # SQLite, 1,000,000 connections
//!   KEYWAY_TEST_DATABASE=postgres cargo bench -p keyway --bench dashboard
//!   BENCH_CONNECTIONS=100000 BENCH_REQUESTS=200 cargo bench -p keyway --bench dashboard

use std::time::{Duration, Instant};

use keyway::config::Config;
use keyway::serve::Application;
use keyway_core::connection::{Connection, ConnectionKey, ConnectionState};
use keyway_core::environment::Environment;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::operator::Role;
use keyway_core::timestamp::Timestamp;
use keyway_crypto::master_key::MasterKey;
use secrecy::{ExposeSecret, SecretString};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift), so every run seeds and asks the same things.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[tokio::main]
async fn main() {
    let connections = env_number("BENCH_CONNECTIONS", 1_000_000);
    let requests = env_number("BENCH_REQUESTS", 300);
    let db = keyway_testkit::fresh_database().await;
    let backend = match keyway_testkit::backend() {
        keyway_testkit::TestBackend::Sqlite => "SQLite",
        keyway_testkit::TestBackend::Postgres => "PostgreSQL",
    };
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: db.dir.path().to_path_buf(),
        database_url: Some(db.url.clone()),
        master_key: Some(SecretString::from(
            MasterKey::generate().to_base64().expose_secret().to_owned(),
        )),
        log: "warn".into(),
        refresh_sweep_seconds: 0,
        ..Config::default()
    };
    let app = Application::build(&config).await.expect("application");
    let broker = app.broker.clone();
    let base = format!("http://{}", app.local_addr().expect("addr"));
    let project = broker.projects().await.expect("projects")[0].clone();
    let platforms: Vec<String> = broker
        .catalog
        .iter()
        .map(|p| p.slug().as_str().to_owned())
        .collect();

    // Seed: identities user_0000000…, platforms round-robin, 1 in 100 failed, 1 in 10 tagged "vip", 1 in
    // 10,000 also "rare".
    eprintln!("seeding {connections} connections into {backend}…");
    let started = Instant::now();
    let start_ms = Timestamp::now().unix_millis() - connections as i64;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..connections {
        let hex = format!("{:032x}", (i as u128) * 7919 + 1);
        let identity = Identity::parse(&format!("user_{i:07}")).expect("identity");
        let platform = &platforms[i % platforms.len()];
        let created = Timestamp::from_unix_millis(start_ms + i as i64);
        let c = Connection {
            id: format!("conn_{hex}"),
            key: ConnectionKey::build(Environment::Test, platform, &hex, &identity),
            project_id: project.id.clone(),
            environment: Environment::Test,
            platform: platform.clone(),
            platform_version: "v1".into(),
            identity,
            identity_type: IdentityType::User,
            name: None,
            tags: match (i % 10, i % 10_000) {
                (_, 0) => vec!["vip".into(), "rare".into()],
                (0, _) => vec!["vip".into()],
                _ => Vec::new(),
            },
            state: if i % 100 == 7 {
                ConnectionState::Failed
            } else {
                ConnectionState::Operational
            },
            active: true,
            version: 1,
            fields: Default::default(),
            oauth_expires_at: None,
            oauth_issued_at: None,
            oauth_scopes: None,
            created_at: created,
            updated_at: created,
        };
        let credentials_id = format!("{}/credentials", c.id);
        let sealed = broker.sealer.seal(
            &credentials_id,
            project.id.as_str(),
            keyway_broker::connections::CREDENTIALS_PURPOSE,
            b"{\"apiKey\":\"bench\"}",
        );
        batch.push((c, sealed));
        if batch.len() == 10_000 || i + 1 == connections {
            broker
                .store
                .insert_connections(&batch)
                .await
                .expect("insert");
            batch.clear();
            if (i + 1) % 100_000 == 0 {
                eprintln!("  {} rows, {:.0} s", i + 1, started.elapsed().as_secs_f64());
            }
        }
    }
    broker.store.analyze().await.expect("analyze");
    let seed_seconds = started.elapsed().as_secs_f64();

    let (operator, _) = broker
        .create_operator(
            "bench@example.com",
            Role::Owner,
            &keyway_core::audit::Actor::cli(Some("bench")),
        )
        .await
        .expect("operator");
    let session = broker
        .start_session(&operator, None)
        .await
        .expect("session");
    let cookie = format!("keyway_session={}", session.token.expose_secret());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let root = format!("{base}/dashboard/{}/test/connections", project.id);

    let get = |url: String| {
        let client = client.clone();
        let cookie = cookie.clone();
        async move {
            let t = Instant::now();
            let r = client
                .get(&url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("GET");
            let status = r.status().as_u16();
            let body = r.text().await.expect("body");
            assert_eq!(status, 200, "{url}: {body}");
            (t.elapsed(), body)
        }
    };

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    type Scenario = (&'static str, Box<dyn Fn(&mut Rng) -> String>);
    let n = connections;
    let p = platforms.clone();
    let root2 = root.clone();
    let scenarios: Vec<Scenario> = vec![
        (
            "all, first page",
            Box::new({
                let r = root.clone();
                move |_| r.clone()
            }),
        ),
        (
            "identity, exact",
            Box::new({
                let r = root.clone();
                move |g| format!("{r}?identity=user_{:07}&match=exact", g.below(n))
            }),
        ),
        (
            "identity, prefix (10 matches)",
            Box::new({
                let r = root.clone();
                move |g| {
                    format!(
                        "{r}?identity=user_{:06}&match=prefix",
                        g.below(n.div_ceil(10))
                    )
                }
            }),
        ),
        (
            "identity, prefix (1,000+ matches)",
            Box::new({
                let r = root.clone();
                move |g| {
                    format!(
                        "{r}?identity=user_{:04}&match=prefix",
                        g.below(n.div_ceil(1000))
                    )
                }
            }),
        ),
        (
            "platform, first page",
            Box::new(move |g| format!("{root2}?platform={}", p[g.below(p.len())])),
        ),
        (
            "state = needs reconnect",
            Box::new({
                let r = root.clone();
                move |_| format!("{r}?state=failed")
            }),
        ),
        (
            "tag on 1 in 10",
            Box::new({
                let r = root.clone();
                move |_| format!("{r}?tags=vip")
            }),
        ),
        (
            "tag on 1 in 10,000",
            Box::new({
                let r = root.clone();
                move |_| format!("{r}?tags=rare")
            }),
        ),
    ];

    let mut table = Vec::new();
    for (name, url_for) in &scenarios {
        for _ in 0..20 {
            get(url_for(&mut rng)).await;
        }
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            times.push(get(url_for(&mut rng)).await.0);
        }
        table.push((name.to_string(), times));
    }
    // Deep paging by platform: follow "Next page" links 20 pages in.
    let mut times = Vec::new();
    for _ in 0..(requests / 20).max(1) {
        let mut url = format!("{root}?platform={}", platforms[rng.below(platforms.len())]);
        for _ in 0..20 {
            let (t, body) = get(url.clone()).await;
            times.push(t);
            let Some(at) = body.find("\" rel=\"next\"") else {
                break;
            };
            let start = body[..at].rfind("href=\"").expect("href") + 6;
            url = format!(
                "{base}{}",
                body[start..at].replace("&#38;", "&").replace("&amp;", "&")
            );
        }
    }
    table.push(("platform, pages 1–20 (keyset)".into(), times));

    println!(
        "\n{backend}, {} connections (seeded in {seed_seconds:.0} s), {requests} requests per scenario after 20 warm-up\n",
        fmt(connections)
    );
    println!("| connections page | p50 | p99 | max |\n|---|---:|---:|---:|");
    for (name, mut times) in table {
        times.sort();
        let q = |f: f64| times[((times.len() as f64 - 1.0) * f).round() as usize];
        println!(
            "| {name} | {} | {} | {} |",
            ms(q(0.5)),
            ms(q(0.99)),
            ms(*times.last().expect("times"))
        );
    }
    let _ = stop.send(());
    let _ = server.await;
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn fmt(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
