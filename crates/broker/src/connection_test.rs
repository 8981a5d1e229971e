//! Testing a stored connection: the platform's test request (the one run at connect time), sent through
//! the passthrough path as this connection (fresh token when it was about to expire, egress guarded,
//! logged in the request log like any other call). For an operator checking that a connection works.

use std::time::Instant;

use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, Method};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;
use keyway_store::request_logs::RequestLog;

use crate::error::BrokerError;
use crate::Broker;

/// How a test went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub method: String,
    /// The path requested (no query values).
    pub path: String,
    pub status: u16,
    /// The status is one the platform's test request expects.
    pub passed: bool,
    pub millis: u64,
}

/// At most this much of the reply is read (and dropped).
const MAX_DRAIN_BYTES: usize = 256 * 1024;

impl Broker {
    /// Runs `id`'s platform test request as that connection. `Ok(None)` when the platform declares none.
    pub async fn test_connection(
        &self,
        project: &ProjectId,
        env: Environment,
        id: &str,
        request_id: &str,
    ) -> Result<Option<TestOutcome>, BrokerError> {
        let connection = self
            .store
            .connection(project, env, id)
            .await?
            .ok_or(BrokerError::ConnectionNotFound)?;
        let platform = self.platform(&connection.platform)?;
        let Some(test) = platform.test_request() else {
            return Ok(None);
        };
        let rendered = test
            .path_for(&connection.fields)
            .map_err(|e| BrokerError::InvalidPath(e.to_string()))?;
        let (path, query) = match rendered.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (rendered, None),
        };
        let resolved = self
            .resolve_connection_key(project, env, connection.key.as_str())
            .await?;
        let mut inbound = HeaderMap::new();
        let body = test.body.clone();
        if body.is_some() {
            inbound.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let started = Instant::now();
        let mut prepared = self.prepare_passthrough(resolved, &path, query.as_deref(), &inbound)?;
        let method = Method::from_bytes(test.method.as_bytes()).unwrap_or(Method::GET);
        let length = body.as_ref().map(|b| b.len() as u64);
        let response = self
            .send_passthrough(
                &mut prepared,
                method,
                length,
                body.map(|b| crate::proxy::client::full(b.into_bytes())),
            )
            .await?;
        let status = response.status().as_u16();
        let mut stream = std::pin::pin!(crate::proxy::client::data_stream(response.into_body()));
        let mut read = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > MAX_DRAIN_BYTES {
                break;
            }
        }
        let millis = started.elapsed().as_millis() as u64;
        self.request_log.record(RequestLog {
            id: format!("log_{}", keyway_crypto::random::hex::<16>()),
            project_id: project.clone(),
            environment: env,
            request_id: request_id.to_owned(),
            connection_id: connection.id.clone(),
            connection_key: connection.key.to_string(),
            platform: connection.platform.clone(),
            action_id: None,
            method: test.method.clone(),
            path: path.clone(),
            status,
            latency_ms: millis as i64,
            bytes_in: length.unwrap_or(0) as i64,
            bytes_out: read as i64,
            created_at: Timestamp::now(),
        });
        Ok(Some(TestOutcome {
            method: test.method.clone(),
            path,
            status,
            passed: test.expects(status),
            millis,
        }))
    }
}
