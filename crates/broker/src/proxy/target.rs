//! Building the upstream URL: the connection's base URL + the caller's path + query. The caller can never
//! change scheme, host or port: paths that could escape (`//`, `\`, encoded `/` `\` `.`, dot segments,
//! control characters) are refused before joining, and the joined URL is checked against the base.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the path {0}")]
    BadPath(&'static str),
    #[error("the query string contains control characters")]
    BadQuery,
    #[error("the upstream address {0:?} is not allowed")]
    Forbidden(String),
}

/// `path` is the raw (still percent-encoded) path after `/v1/passthrough`, starting with `/`.
pub fn upstream_url(
    base: &str,
    path: &str,
    query: Option<&str>,
    internal: bool,
) -> Result<Url, TargetError> {
    let base_url = Url::parse(base).map_err(|_| TargetError::Forbidden(base.to_owned()))?;
    upstream_url_on(&base_url, path, query, internal)
}

/// [`upstream_url`] on an already parsed base (passthrough keeps it parsed per cached connection).
pub fn upstream_url_on(
    base_url: &Url,
    path: &str,
    query: Option<&str>,
    internal: bool,
) -> Result<Url, TargetError> {
    check_path(path)?;
    let joined = format!("{}{}", base_url.as_str().trim_end_matches('/'), path);
    let mut url =
        Url::parse(&joined).map_err(|_| TargetError::BadPath("is not a valid URL path"))?;
    let same_origin = url.scheme() == base_url.scheme()
        && url.host_str() == base_url.host_str()
        && url.port_or_known_default() == base_url.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none();
    let base_path = base_url.path().trim_end_matches('/');
    if !same_origin || !url.path().starts_with(base_path) {
        return Err(TargetError::BadPath("would leave the platform's API"));
    }
    if let Some(host) = url.host() {
        let ip = match host {
            url::Host::Ipv4(ip) => Some(std::net::IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(std::net::IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = ip.filter(|ip| !internal && super::egress::is_forbidden(*ip)) {
            return Err(TargetError::Forbidden(ip.to_string()));
        }
    }
    match query.filter(|q| !q.is_empty()) {
        Some(q) if q.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'#') => {
            return Err(TargetError::BadQuery)
        }
        Some(q) => url.set_query(Some(q)),
        None => url.set_query(None),
    }
    Ok(url)
}

fn check_path(path: &str) -> Result<(), TargetError> {
    if !path.starts_with('/') {
        return Err(TargetError::BadPath("must start with /"));
    }
    if path.contains("//") {
        return Err(TargetError::BadPath("must not contain //"));
    }
    if path.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'\\') {
        return Err(TargetError::BadPath(
            "must not contain backslashes or control characters",
        ));
    }
    let lower = path.to_ascii_lowercase();
    for encoded in ["%2f", "%5c", "%00", "%0a", "%0d", "%09", "%25"] {
        if lower.contains(encoded) {
            return Err(TargetError::BadPath(
                "must not contain encoded slashes, backslashes or control characters",
            ));
        }
    }
    for segment in lower.split('/') {
        let decoded = segment.replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err(TargetError::BadPath("must not contain . or .. segments"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://api.example.com/v2";

    #[test]
    fn joins_paths_and_queries() {
        let u = upstream_url(BASE, "/users/me", Some("a=1&b=x%20y"), false).expect("ok");
        assert_eq!(
            u.as_str(),
            "https://api.example.com/v2/users/me?a=1&b=x%20y"
        );
        let u = upstream_url("https://api.example.com", "/@evil.com/x", None, false)
            .expect("a path, not a host");
        assert_eq!(u.host_str(), Some("api.example.com"));
        let u = upstream_url(BASE, "/files/a%20b.txt", None, false).expect("ok");
        assert_eq!(u.path(), "/v2/files/a%20b.txt");
    }

    #[test]
    fn refuses_escapes() {
        for bad in [
            "//evil.com/x",
            "/a//b",
            "/..",
            "/../admin",
            "/a/../../x",
            "/%2e%2e/x",
            "/.%2E/x",
            "/%2E./x",
            "/./x",
            "/a%2fb",
            "/a%2F..%2Fb",
            "/a%5cb",
            "/a\\b",
            "/a%00b",
            "/a%0d%0aHost:%20evil",
            "/a\r\nb",
            "x",
            "/%252e%252e/x",
            "/a/%2e",
            "/a\tb",
        ] {
            assert!(
                upstream_url(BASE, bad, None, false).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(upstream_url(BASE, "/x", Some("a=1\r\nb"), false).is_err());
        assert!(upstream_url(BASE, "/x", Some("a=1#frag"), false).is_err());
    }

    #[test]
    fn refuses_internal_ip_bases_unless_internal() {
        assert!(matches!(
            upstream_url("http://127.0.0.1:9", "/x", None, false),
            Err(TargetError::Forbidden(_))
        ));
        assert!(matches!(
            upstream_url("http://169.254.169.254", "/latest", None, false),
            Err(TargetError::Forbidden(_))
        ));
        assert!(upstream_url("http://127.0.0.1:9", "/x", None, true).is_ok());
    }
}
