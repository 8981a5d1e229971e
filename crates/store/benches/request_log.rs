//! The request log writer's cost per row on SQLite (the embedded default), for the batch shapes a node
//! writes: single rows (an idle node), full 128-row batches and sizes spread over 1–512 (a busy one).
//! CPU time is the whole process's (user + system, every thread, so sqlx's SQLite worker too) from
//! `/proc/self/stat`; Linux only. `cargo bench -p keyway-store --bench request_log`; README "Request log".

use std::time::Instant;

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::Project;
use keyway_core::timestamp::Timestamp;
use keyway_store::request_logs::RequestLog;
use keyway_store::{PoolSettings, Store};

/// Seconds of CPU this process has used (user + system, all threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux only)");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("clock ticks");
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// A row shaped like the passthrough benchmark's (same key lengths).
fn row(project: &ProjectId, i: usize) -> RequestLog {
    RequestLog {
        id: format!("log_{}", uuid::Uuid::now_v7().simple()),
        project_id: project.clone(),
        environment: Environment::Test,
        request_id: format!("req_{}", uuid::Uuid::now_v7().simple()),
        connection_id: "conn_0193ab34cd56ef7890ab12cd34ef5678".into(),
        connection_key: "test::bench::default::0193ab34cd56ef7890ab12cd34ef5678|bench-user".into(),
        platform: "bench".into(),
        action_id: None,
        method: "GET".into(),
        path: "/small".into(),
        status: 200,
        latency_ms: (i % 3) as i64,
        bytes_in: 0,
        bytes_out: 94,
        created_at: Timestamp::now(),
    }
}

fn report(name: &str, rows: usize, wall: Instant, cpu: f64) {
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "{name:<22} {rows:>8} {:>12.2} {:>13.2} {:>9.1}",
        cpu * 1e6 / rows as f64,
        wall * 1e6 / rows as f64,
        rss_mib()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, &PoolSettings::default())
        .await
        .expect("store");
    let project = Project {
        id: ProjectId::generate(),
        name: "bench".into(),
        created_at: Timestamp::now(),
    };
    store.create_project(&project, None).await.expect("project");
    let mut writer = store.request_log_writer().await.expect("writer");

    println!(
        "{:<26} {:>8} {:>14} {:>14} {:>9}",
        "batches", "rows", "CPU µs/row", "wall µs/row", "RSS MiB"
    );
    // (name, rows in all, batch size for the n-th batch)
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut spread = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        1 + (seed % 512) as usize
    };
    let shapes: [(&str, usize, &mut dyn FnMut() -> usize); 3] = [
        ("1 row each", 2_000, &mut || 1),
        ("128 rows each", 100_000, &mut || 128),
        ("1–512 rows, spread", 100_000, &mut spread),
    ];
    for (name, total, next) in shapes {
        let sizes: Vec<usize> = {
            let (mut sizes, mut n) = (Vec::new(), 0);
            while n < total {
                let size = next().min(total - n);
                sizes.push(size);
                n += size;
            }
            sizes
        };
        // Rows are built batch by batch, as the writer gets them, so memory stays what the writer uses;
        // building them is measured on its own below.
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        let mut n = 0;
        for size in &sizes {
            let batch: Vec<RequestLog> = (n..n + size).map(|i| row(&project.id, i)).collect();
            writer.insert(&batch).await.expect("insert");
            n += size;
        }
        report(name, total, wall, cpu);
    }
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    for i in 0..100_000 {
        std::hint::black_box(row(&project.id, i));
    }
    report("building rows only", 100_000, wall, cpu);
    writer.close().await;
}
