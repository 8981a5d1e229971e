//! The server's logging as an operator meets it: what a stalled stderr costs. Runs on SQLite, or Postgres with
//! KEYWAY_TEST_DATABASE=postgres.

mod support;

use std::time::Duration;

use keyway_testkit::fresh_database;
use support::process::{keyway_command, serve_process};

/// A log collector that stops reading stderr costs log lines at worst, never requests: the server logs
/// through its own writer thread. Here every request logs a line, far more than the pipe holds, while
/// nothing reads it; afterwards every line still arrives (the stall was shorter than the writer's queue).
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_stderr_does_not_stall_requests_and_loses_no_line_it_could_queue() {
    let db = fresh_database().await;
    tokio::task::spawn_blocking(move || {
        let server = serve_process(keyway_command(&db));
        server.stall_stderr();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        // About 300 bytes a line: 1,500 lines are seven times a 64 KiB pipe.
        const REQUESTS: usize = 1_500;
        let mut ids = Vec::with_capacity(REQUESTS);
        for i in 0..REQUESTS {
            let response = http
                .get(format!("{}/healthz", server.base))
                .send()
                .unwrap_or_else(|e| panic!("request {i} with stderr stalled: {e}"));
            assert_eq!(response.status(), 200);
            let id = response.headers()["x-request-id"]
                .to_str()
                .expect("request id")
                .to_owned();
            ids.push(id);
        }
        server.resume_stderr();
        let (status, log) = server.terminate();
        assert!(status.success(), "exit {status}");
        let missing = ids.iter().filter(|id| !log.contains(id.as_str())).count();
        assert_eq!(
            missing, 0,
            "request ids missing from the log after the stall"
        );
    })
    .await
    .expect("join");
}
