//! Calls to platforms on a connection's behalf that the broker makes itself (the connect-time credential
//! check). No redirects are followed; every call has a deadline; credentials never appear in errors.

use std::collections::BTreeMap;
use std::time::Duration;

use keyway_catalog::platform::Platform;

use crate::credentials::Credentials;

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

/// Runs the platform's test request, if it declares one, with these credentials: injected exactly as
/// passthrough injects them (`proxy::inject`), on the platform's base URL for these fields.
pub async fn verify_credentials(
    http: &reqwest::Client,
    platform: &Platform,
    fields: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<(), BrokerError> {
    let Some(test) = platform.test_request() else {
        return Ok(());
    };
    let name = platform.name().to_owned();
    let form_error = |e: String| BrokerError::InvalidForm(vec![("form".into(), e)]);
    let injected = crate::proxy::inject(platform, fields, credentials)
        .map_err(|e| form_error(e.to_string()))?;
    let path = test
        .path_for(fields)
        .map_err(|e| form_error(e.to_string()))?;
    let mut url = format!(
        "{}{path}",
        injected.base.url().as_str().trim_end_matches('/')
    );
    if let Some(query) = &injected.query {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
    let method =
        reqwest::Method::from_bytes(test.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = http.request(method, url);
    for (header, value) in &injected.headers {
        request = request.header(header, value);
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
            // Without the URL: an API key may travel in the query string.
            tracing::warn!(platform = %platform.slug().as_str(), error = %e.without_url(), "credential check failed");
            Err(BrokerError::PlatformUnreachable { platform: name })
        }
    }
}
