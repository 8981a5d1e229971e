//! Passthrough: find the caller's connection by key, build the upstream URL on the platform's host, inject
//! the credentials the way the catalog says, and send with streaming bodies. Protocol plumbing only; the
//! server maps outcomes to statuses.
//! Invariants: never collects a body; never reaches a host other than the platform's; never sends the
//! caller's credentials or our own headers upstream; no database write per request.

pub mod cache;
pub mod client;
pub mod egress;
pub mod headers;
pub mod target;
pub mod upload;

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use keyway_core::connection::ConnectionKey;
use keyway_core::environment::Environment;
use keyway_core::error_chain::ErrorChain;
use keyway_core::id::ProjectId;
use url::Url;

use crate::error::BrokerError;
use crate::oauth::refresh::{due, Need, USE_MARGIN_SECONDS};
use crate::proxy::cache::{Injected, Resolved};
use crate::Broker;

const USER_AGENT: &str = concat!("keyway/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub connect_timeout: Duration,
    /// From the request's last byte (its body sent, or none) to the upstream's response headers.
    pub first_byte_timeout: Duration,
    /// Longest silence while streaming either body, including an upstream that stops taking the request's.
    pub idle_timeout: Duration,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The two pooled clients: the guarded one (public platforms) and the plain one (`internal = true`).
#[derive(Debug, Clone)]
pub struct Clients {
    public: client::Upstream,
    internal: client::Upstream,
    pub settings: ProxySettings,
}

impl Clients {
    pub fn new(settings: ProxySettings) -> Self {
        Self {
            public: client::Upstream::new(true, settings.connect_timeout),
            internal: client::Upstream::new(false, settings.connect_timeout),
            settings,
        }
    }
}

/// A request ready to send, minus its body.
#[derive(Debug)]
pub struct Prepared {
    pub resolved: Arc<Resolved>,
    pub uri: http::Uri,
    pub headers: HeaderMap,
    internal: bool,
    platform_name: String,
}

impl Prepared {
    pub fn connection(&self) -> &keyway_core::connection::Connection {
        &self.resolved.connection
    }
}

impl Broker {
    /// The caller's connection by key, with usable credentials (refreshed first when they expire soon).
    pub async fn resolve_connection_key(
        &self,
        project: &ProjectId,
        environment: Environment,
        key: &str,
    ) -> Result<Arc<Resolved>, BrokerError> {
        if ConnectionKey::environment_of(key) != Some(environment) {
            return Err(BrokerError::ConnectionKeyNotFound);
        }
        if let Some(hit) = self.connection_cache.get(project, environment, key) {
            let now = keyway_core::timestamp::Timestamp::now();
            if !due(&hit.connection, USE_MARGIN_SECONDS, now) {
                return Ok(hit);
            }
        }
        // Boxed: the cold path's future (database reads, maybe a token refresh) is about 3 KiB, and
        // inlined it would make every passthrough request's future that much larger to move around.
        Box::pin(self.resolve_uncached(project, environment, key)).await
    }

    /// [`Self::resolve_connection_key`] on a cache miss or near expiry: read, refresh when needed, cache.
    async fn resolve_uncached(
        &self,
        project: &ProjectId,
        environment: Environment,
        key: &str,
    ) -> Result<Arc<Resolved>, BrokerError> {
        let connection = self
            .store
            .connection_by_key(project, environment, key)
            .await?
            .ok_or(BrokerError::ConnectionKeyNotFound)?;
        if !connection.active {
            return Err(BrokerError::ConnectionKeyNotFound);
        }
        let credentials = self.usable_credentials(&connection).await?;
        // Re-read: a refresh just changed expiry and state.
        let connection = if connection.refreshable() {
            self.store
                .connection(project, environment, &connection.id)
                .await?
                .ok_or(BrokerError::ConnectionKeyNotFound)?
        } else {
            connection
        };
        let injected = self.inject(&connection, &credentials)?;
        let resolved = Arc::new(Resolved {
            connection,
            credentials,
            injected,
        });
        self.connection_cache.put(resolved.clone());
        Ok(resolved)
    }

    /// After an upstream 401 on an OAuth connection: refresh unless someone already did, then resolve again.
    pub async fn refresh_after_unauthorized(
        &self,
        project: &ProjectId,
        environment: Environment,
        resolved: &Resolved,
    ) -> Result<Arc<Resolved>, BrokerError> {
        let c = &resolved.connection;
        self.connection_cache.invalidate(&c.id);
        self.refresh(c, Need::after_unauthorized(c)).await?;
        self.resolve_connection_key(project, environment, c.key.as_str())
            .await
    }

    pub fn forget_cached_connection(&self, connection_id: &str) {
        self.connection_cache.invalidate(connection_id);
    }

    /// A connection changed: drop it from this node's cache and tell the other nodes.
    pub async fn connection_changed(&self, connection_id: &str) {
        self.connection_cache.invalidate(connection_id);
        if let Err(e) = self.store.announce_change(connection_id).await {
            tracing::warn!(error = %e, "could not announce a connection change to other nodes");
        }
    }

    /// Builds the upstream request for `resolved`: URL on the platform's host, caller headers cleaned,
    /// credentials injected.
    /// The connection's upstream base URL and rendered credentials, computed once per cache entry.
    fn inject(
        &self,
        connection: &keyway_core::connection::Connection,
        credentials: &crate::credentials::Credentials,
    ) -> Result<Injected, BrokerError> {
        inject(
            self.platform(&connection.platform)?,
            &connection.fields,
            credentials,
        )
    }

    /// Builds the upstream request for `resolved`: URL on the platform's host, caller headers cleaned,
    /// credentials injected.
    pub fn prepare_passthrough(
        &self,
        resolved: Arc<Resolved>,
        path: &str,
        query: Option<&str>,
        inbound: &HeaderMap,
    ) -> Result<Prepared, BrokerError> {
        let injected = &resolved.injected;
        let query = query.filter(|q| !q.is_empty());
        let query: Option<std::borrow::Cow<'_, str>> = match (query, &injected.query) {
            (Some(q), Some(extra)) => Some(format!("{q}&{extra}").into()),
            (Some(q), None) => Some(q.into()),
            (None, extra) => extra.as_deref().map(Into::into),
        };
        let uri = injected
            .base
            .uri(path, query.as_deref(), injected.internal)
            .map_err(|e| match e {
                target::TargetError::Forbidden(_) => BrokerError::EgressRefused(e.to_string()),
                other => BrokerError::InvalidPath(other.to_string()),
            })?;
        let mut headers = headers::upstream_request_headers(inbound);
        for (name, value) in &injected.headers {
            headers.insert(name.clone(), value.clone());
        }
        Ok(Prepared {
            internal: injected.internal,
            platform_name: injected.platform_name.clone(),
            resolved,
            uri,
            headers,
        })
    }

    /// Sends a prepared request with a streaming body; resolves when the upstream's headers arrive. While the
    /// body is being sent only the idle timeout applies; the first-byte timeout starts when it has been
    /// (`upload`). The request's headers are moved out of `prepared`, not copied.
    pub async fn send_passthrough(
        &self,
        prepared: &mut Prepared,
        method: Method,
        content_length: Option<u64>,
        body: Option<client::UpstreamBody>,
    ) -> Result<client::UpstreamResponse, BrokerError> {
        let upstream = if prepared.internal {
            &self.proxy_clients.internal
        } else {
            &self.proxy_clients.public
        };
        let platform = &prepared.platform_name;
        let mut request = http::Request::new(body.unwrap_or_else(client::empty));
        *request.method_mut() = method;
        *request.uri_mut() = prepared.uri.clone();
        *request.headers_mut() = std::mem::take(&mut prepared.headers);
        let headers = request.headers_mut();
        if let Some(len) = content_length {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        headers
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT));
        let settings = &self.proxy_clients.settings;
        match upload::send(
            upstream,
            request,
            settings.first_byte_timeout,
            settings.idle_timeout,
        )
        .await
        {
            Err(expired) => {
                tracing::debug!(platform = %platform, ?expired, "upstream timed out");
                Err(BrokerError::UpstreamTimeout {
                    platform: platform.clone(),
                })
            }
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                tracing::warn!(platform = %platform, error = %ErrorChain(&*e), "upstream request failed");
                match client::classify(&*e) {
                    client::Failure::EgressRefused => Err(BrokerError::EgressRefused(format!(
                        "{}'s address is not allowed",
                        prepared.uri.host().unwrap_or("")
                    ))),
                    client::Failure::TimedOut => Err(BrokerError::UpstreamTimeout {
                        platform: platform.clone(),
                    }),
                    client::Failure::Unreachable => Err(BrokerError::UpstreamUnreachable {
                        platform: platform.clone(),
                    }),
                }
            }
        }
    }

    pub fn proxy_settings(&self) -> &ProxySettings {
        &self.proxy_clients.settings
    }
}

/// A platform's base URL for these connection fields and its credentials rendered for injection (headers
/// marked sensitive, query form, Basic). Used by passthrough and by the connect-time credential check.
pub fn inject(
    platform: &keyway_catalog::platform::Platform,
    fields: &std::collections::BTreeMap<String, String>,
    credentials: &crate::credentials::Credentials,
) -> Result<Injected, BrokerError> {
    let base_url = platform.base_url_for(fields).map_err(|e| {
        BrokerError::InvalidInput(format!("the connection's base URL cannot be built: {e}"))
    })?;
    let mut vars = fields.clone();
    vars.extend(
        credentials
            .values()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let injection = platform.injection().render(&vars).map_err(|e| {
        BrokerError::InvalidInput(format!("the connection's credentials are incomplete: {e}"))
    });
    for value in vars.values_mut() {
        zeroize::Zeroize::zeroize(value);
    }
    let injection = injection?;
    let query = (!injection.query().is_empty()).then(|| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                injection
                    .query()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .finish()
    });
    let invalid = || BrokerError::InvalidInput("a credential cannot be sent as a header".into());
    let mut headers = Vec::with_capacity(injection.headers().len() + 1);
    for (name, value) in injection.headers() {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            BrokerError::InvalidInput("the catalog injects an invalid header name".into())
        })?;
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    if let Some(basic) = injection.basic() {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", basic.username, basic.password));
        let mut value = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| invalid())?;
        value.set_sensitive(true);
        headers.push((http::header::AUTHORIZATION, value));
    }
    let base = target::Base::new(Url::parse(&base_url).map_err(|e| {
        BrokerError::InvalidInput(format!("the connection's base URL is not a URL: {e}"))
    })?);
    Ok(Injected {
        base,
        headers,
        query,
        internal: platform.is_internal(),
        platform_name: platform.name().to_owned(),
    })
}
