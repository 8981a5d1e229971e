//! Executing a catalogued action for an agent: the action's method and path template filled with the
//! caller's values, sent through the same passthrough path as `/v1/passthrough` (credentials injected,
//! egress guarded, logged), and a bounded copy of the reply returned — agents need the body, not a stream.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use keyway_core::identity::Identity;
use keyway_core::project::Principal;
use keyway_core::timestamp::Timestamp;
use keyway_store::request_logs::RequestLog;

use crate::error::BrokerError;
use crate::Broker;

/// Largest reply body handed back to an agent.
pub const MAX_REPLY_BYTES: usize = 512 * 1024;

#[derive(Debug, Default)]
pub struct ExecuteRequest {
    pub action_id: String,
    pub connection_key: String,
    pub path_variables: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub body: Option<serde_json::Value>,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct ExecuteReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub truncated: bool,
}

impl Broker {
    /// Runs an action as `connection_key`. `identity` (when set) must own the connection; `allowed`
    /// decides which methods may run.
    pub async fn execute_action(
        &self,
        principal: &Principal,
        identity: Option<&Identity>,
        allowed: impl Fn(&str) -> bool,
        request: ExecuteRequest,
        request_id: &str,
    ) -> Result<ExecuteReply, BrokerError> {
        let action = self
            .catalog
            .actions()
            .get(&request.action_id)
            .ok_or_else(|| {
                BrokerError::UnknownAction(request.action_id.chars().take(64).collect())
            })?;
        let method_name = action.method().as_str();
        if !allowed(method_name) {
            return Err(BrokerError::InvalidInput(format!(
                "this session may not run {method_name} actions (permission level too low)"
            )));
        }
        let resolved = self
            .resolve_connection_key(
                &principal.project_id,
                principal.environment,
                &request.connection_key,
            )
            .await?;
        if identity.is_some_and(|i| *i != resolved.connection.identity) {
            return Err(BrokerError::ConnectionKeyNotFound);
        }
        if resolved.connection.platform != action.platform() {
            return Err(BrokerError::InvalidInput(format!(
                "action {} belongs to {}, but the connection is a {} connection",
                request.action_id,
                action.platform(),
                resolved.connection.platform
            )));
        }
        let path = fill_template(action.path().as_str(), &request.path_variables)?;
        let query = (!request.query.is_empty()).then(|| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(request.query.iter())
                .finish()
        });
        let mut inbound = HeaderMap::new();
        for (name, value) in &request.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(BrokerError::InvalidInput(format!(
                    "header {name:?} is not a valid HTTP header"
                )));
            };
            inbound.insert(name, value);
        }
        let body = match &request.body {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => {
                inbound
                    .entry(http::header::CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                Some(
                    serde_json::to_vec(value)
                        .map_err(|e| BrokerError::InvalidInput(e.to_string()))?,
                )
            }
        };
        let started = Instant::now();
        let mut prepared = self.prepare_passthrough(resolved, &path, query.as_deref(), &inbound)?;
        let method = Method::from_bytes(method_name.as_bytes())
            .map_err(|_| BrokerError::InvalidInput("bad method".into()))?;
        let length = body.as_ref().map(|b| b.len() as u64);
        let response = self
            .send_passthrough(
                &mut prepared,
                method,
                length,
                body.map(crate::proxy::client::full),
            )
            .await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut stream = std::pin::pin!(crate::proxy::client::data_stream(response.into_body()));
        let mut out = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BrokerError::UpstreamUnreachable {
                platform: action.platform().to_owned(),
            })?;
            let room = MAX_REPLY_BYTES.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                truncated = true;
                break;
            }
        }
        let c = prepared.connection();
        self.request_log.record(RequestLog {
            id: format!("log_{}", keyway_crypto::random::hex::<16>()),
            project_id: principal.project_id.clone(),
            environment: principal.environment,
            request_id: request_id.to_owned(),
            connection_id: c.id.clone(),
            connection_key: c.key.to_string(),
            platform: c.platform.clone(),
            action_id: Some(request.action_id.clone()),
            method: method_name.to_owned(),
            path: path.clone(),
            status,
            latency_ms: started.elapsed().as_millis() as i64,
            bytes_in: length.unwrap_or(0) as i64,
            bytes_out: out.len() as i64,
            created_at: Timestamp::now(),
        });
        Ok(ExecuteReply {
            status,
            content_type,
            body: out,
            truncated,
        })
    }
}

/// `{{var}}` segments replaced by the percent-encoded values; every variable must be given.
pub fn fill_template(
    template: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, BrokerError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| {
            BrokerError::InvalidInput("the action's path template is malformed".into())
        })?;
        let name = after[..end].trim();
        let value = vars.get(name).ok_or_else(|| {
            BrokerError::InvalidInput(format!("path variable {name:?} is required"))
        })?;
        out.extend(
            url::form_urlencoded::byte_serialize(value.as_bytes()).map(|s| s.replace('+', "%20")),
        );
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_encodes_path_variables() {
        let vars = BTreeMap::from([
            ("owner".to_string(), "a b".to_string()),
            ("repo".to_string(), "x/y".to_string()),
        ]);
        assert_eq!(
            fill_template("/repos/{{owner}}/{{repo}}/issues", &vars).expect("ok"),
            "/repos/a%20b/x%2Fy/issues"
        );
        assert!(fill_template("/repos/{{missing}}", &vars).is_err());
    }
}
