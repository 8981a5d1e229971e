//! Building the upstream URL: the connection's base URL + the caller's path + query. The caller can never
//! change scheme, host or port: paths that could escape (`//`, `\`, encoded `/` `\` `.`, dot segments,
//! control characters) are refused before joining, and the joined URL is checked against the base.
//!
//! Passthrough builds the request URI from a [`Base`] checked once per cached connection: a path and
//! query made only of characters the URL parser would leave as they are are appended to the base's own
//! scheme, authority and path with no parsing of the whole URL; anything else goes through the URL parser
//! ([`upstream_url_on`]), so both give the same URI.

use std::net::IpAddr;

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

/// A connection's base URL, parsed and taken apart once.
#[derive(Debug, Clone)]
pub struct Base {
    url: Url,
    /// Scheme and authority for the direct build; `None` when the base needs the URL parser every time
    /// (a scheme other than http(s), a query, a fragment or user info in the base).
    origin: Option<(http::uri::Scheme, http::uri::Authority)>,
    /// The base's path without its trailing slash (empty for the root).
    path: String,
    /// The base's host when it is an IP address.
    ip: Option<IpAddr>,
}

impl Base {
    pub fn new(url: Url) -> Self {
        let scheme = match url.scheme() {
            "http" => Some(http::uri::Scheme::HTTP),
            "https" => Some(http::uri::Scheme::HTTPS),
            _ => None,
        };
        let plain = url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        let authority = url.host_str().and_then(|host| {
            let authority = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            http::uri::Authority::try_from(authority).ok()
        });
        let origin = match (scheme, authority) {
            (Some(s), Some(a)) if plain => Some((s, a)),
            _ => None,
        };
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        Self {
            path: url.path().trim_end_matches('/').to_owned(),
            url,
            origin,
            ip,
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The upstream request URI for `path` (raw, starting with `/`) and `query`: the same URI as
    /// [`upstream_url_on`] gives, with the same refusals.
    pub fn uri(
        &self,
        path: &str,
        query: Option<&str>,
        internal: bool,
    ) -> Result<http::Uri, TargetError> {
        let query = query.filter(|q| !q.is_empty());
        let plain = path.bytes().all(path_byte_is_plain)
            && query.is_none_or(|q| q.bytes().all(query_byte_is_plain));
        let Some((scheme, authority)) = self.origin.as_ref().filter(|_| plain) else {
            let url = upstream_url_on(&self.url, path, query, internal)?;
            return http::Uri::try_from(url.as_str())
                .map_err(|_| TargetError::BadPath("is not a valid URL path"));
        };
        check_path(path)?;
        // A checked path starts with `/` and cannot hold `//`, `\` or dot segments, so appended to the
        // base's own authority and path it stays on them: the parser's same-origin check cannot fail here.
        if let Some(ip) = self
            .ip
            .filter(|ip| !internal && super::egress::is_forbidden(*ip))
        {
            return Err(TargetError::Forbidden(ip.to_string()));
        }
        let mut target =
            String::with_capacity(self.path.len() + path.len() + query.map_or(0, |q| q.len() + 1));
        target.push_str(&self.path);
        target.push_str(path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(q);
        }
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(scheme.clone());
        parts.authority = Some(authority.clone());
        parts.path_and_query = Some(
            http::uri::PathAndQuery::try_from(target)
                .map_err(|_| TargetError::BadPath("is not a valid URL path"))?,
        );
        http::Uri::from_parts(parts).map_err(|_| TargetError::BadPath("is not a valid URL path"))
    }
}

/// Bytes the URL parser copies into a path unchanged: unreserved, sub-delimiters, `:`, `@`, `/`, `%`.
fn path_byte_is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

/// The same for a query (of an http(s) URL, where the parser encodes `'`), plus `?`.
fn query_byte_is_plain(b: u8) -> bool {
    b != b'\'' && (path_byte_is_plain(b) || b == b'?')
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
    let bytes = path.as_bytes();
    if bytes.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\') {
        return Err(TargetError::BadPath(
            "must not contain backslashes or control characters",
        ));
    }
    // `%2f`, `%5c`, `%00`, `%0a`, `%0d`, `%09`, `%25`, in either case.
    for (i, _) in path.match_indices('%') {
        let code = [
            bytes.get(i + 1).map(u8::to_ascii_lowercase),
            bytes.get(i + 2).map(u8::to_ascii_lowercase),
        ];
        if let [Some(a), Some(b)] = code {
            if matches!(
                [a, b],
                [b'2', b'f']
                    | [b'5', b'c']
                    | [b'0', b'0']
                    | [b'0', b'a']
                    | [b'0', b'd']
                    | [b'0', b'9']
                    | [b'2', b'5']
            ) {
                return Err(TargetError::BadPath(
                    "must not contain encoded slashes, backslashes or control characters",
                ));
            }
        }
    }
    if path.split('/').any(is_dot_segment) {
        return Err(TargetError::BadPath("must not contain . or .. segments"));
    }
    Ok(())
}

/// `.` or `..`, each dot written as itself or as `%2e` in either case.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        if rest[0] == b'.' {
            rest = &rest[1..];
        } else if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(b"%2e") {
            rest = &rest[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
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

    /// The direct build and the URL parser agree on every URI, for bases and paths of every kind, and
    /// refuse the same inputs. Bytes outside the plain sets (`{`, `"`, `'` in a query, a space, `^`,
    /// non-ASCII) take the parser's way and must come out encoded the same.
    #[test]
    fn direct_build_matches_the_url_parser() {
        let bases = [
            "https://api.example.com",
            "https://api.example.com/",
            "https://api.example.com/v2",
            "https://api.example.com/v2/",
            "http://127.0.0.1:9/base",
            "http://[::1]:8080",
            "https://API.Example.com:443/x",
            "https://api.example.com/v2?fixed=1",
            "https://user:pw@api.example.com/v2",
        ];
        let paths = [
            "/",
            "/users/me",
            "/a/b.c/d-e_f~g",
            "/x:y@z/!$&'()*+,;=",
            "/files/a%20b.txt",
            "/%7e/%41",
            "/{id}",
            "/a\"b",
            "/a b",
            "/caf\u{e9}",
            "/a^b|c",
            "/a%zz",
            "/..",
            "/a//b",
            "/a%2fb",
            "/@evil.com/x",
            "/.well-known/x",
            "/a.",
            "/a..b",
        ];
        let queries = [
            None,
            Some(""),
            Some("a=1&b=x%20y"),
            Some("q=a/b?c"),
            Some("q='x'"),
            Some("q={x}"),
            Some("q=a b"),
            Some("q=\"x\""),
            Some("a=1#f"),
            Some("a=\u{e9}"),
            Some("a=%zz&b=<c>"),
        ];
        for base in bases {
            let parsed = Url::parse(base).expect("base");
            let direct = Base::new(parsed.clone());
            for internal in [false, true] {
                for path in paths {
                    for query in queries {
                        let by_parser = upstream_url_on(&parsed, path, query, internal)
                            .map(|u| u.as_str().to_owned());
                        let built = direct.uri(path, query, internal).map(|u| u.to_string());
                        match (&by_parser, &built) {
                            (Ok(a), Ok(b)) => assert_eq!(a, b, "{base} {path:?} {query:?}"),
                            (Err(a), Err(b)) => assert_eq!(a, b, "{base} {path:?} {query:?}"),
                            _ => panic!("{base} {path:?} {query:?}: {by_parser:?} vs {built:?}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn direct_build_refuses_escapes_and_internal_addresses() {
        let base = Base::new(Url::parse(BASE).expect("base"));
        for bad in [
            "//evil.com/x",
            "/%2e%2E/x",
            "/a%2Fb",
            "/a%09",
            "/%252e",
            "/a/.%2e",
        ] {
            assert!(base.uri(bad, None, false).is_err(), "{bad:?} accepted");
        }
        let local = Base::new(Url::parse("http://127.0.0.1:9").expect("base"));
        assert!(matches!(
            local.uri("/x", None, false),
            Err(TargetError::Forbidden(_))
        ));
        assert_eq!(
            local
                .uri("/x", Some("a=1"), true)
                .expect("internal")
                .to_string(),
            "http://127.0.0.1:9/x?a=1"
        );
    }
}
