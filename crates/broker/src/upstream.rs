//! Calls to platforms on a connection's behalf that the broker makes itself (the connect-time credential
//! check). No redirects are followed; every call has a deadline; credentials never appear in errors.

use std::collections::BTreeMap;
use std::time::Duration;

use keyway_catalog::platform::Platform;

use crate::error::BrokerError;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("keyway/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

/// Runs the platform's test request, if it declares one, with these credentials.
/// `vars` holds every field value (secret or not) plus `accessToken` for OAuth kinds.
pub async fn verify_credentials(
    http: &reqwest::Client,
    platform: &Platform,
    base_url: &str,
    vars: &BTreeMap<String, String>,
) -> Result<(), BrokerError> {
    let Some(test) = platform.test_request() else {
        return Ok(());
    };
    let name = platform.name().to_owned();
    let path = test
        .path_for(vars)
        .map_err(|e| BrokerError::InvalidForm(vec![("form".into(), e.to_string())]))?;
    let injection = platform
        .injection()
        .render(vars)
        .map_err(|e| BrokerError::InvalidForm(vec![("form".into(), e.to_string())]))?;
    let method =
        reqwest::Method::from_bytes(test.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = http.request(method, format!("{base_url}{path}"));
    for (header, value) in injection.headers() {
        request = request.header(header.as_str(), value.as_str());
    }
    if !injection.query().is_empty() {
        request = request.query(injection.query());
    }
    if let Some(basic) = injection.basic() {
        request = request.basic_auth(&basic.username, Some(&basic.password));
    }
    if let Some(body) = &test.body {
        request = request
            .header("content-type", "application/json")
            .body(body.clone());
    }
    match request.send().await {
        Ok(response) if test.expects(response.status().as_u16()) => Ok(()),
        Ok(response) => Err(BrokerError::CredentialsRejected {
            platform: name,
            status: response.status().as_u16(),
        }),
        Err(e) => {
            // reqwest errors carry the URL (never credentials: those are headers or were stripped).
            tracing::warn!(platform = %platform.slug().as_str(), error = %e.without_url(), "credential check failed");
            Err(BrokerError::PlatformUnreachable { platform: name })
        }
    }
}
