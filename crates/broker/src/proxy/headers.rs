//! Header hygiene for passthrough (CWE-113): what goes upstream and what comes back.
//! Up: no caller credentials (`authorization`, `cookie`), no `host`, no `proxy-*`, none of our own
//! `x-pica-*`/`x-keyway-*` headers, no forwarding metadata, no hop-by-hop headers (fixed set plus whatever
//! `connection` names). Down: the upstream's headers as they are, minus hop-by-hop.

use http::header::{HeaderMap, HeaderName};

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

const NEVER_UPSTREAM: [&str; 8] = [
    "authorization",
    "cookie",
    "host",
    "forwarded",
    "x-real-ip",
    "x-request-id",
    "content-length",
    "expect",
];

fn named_by_connection(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_hop_by_hop(name: &HeaderName, named: &[String]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || named.iter().any(|n| n == name.as_str())
}

/// The caller's headers that may go upstream.
pub fn upstream_request_headers(inbound: &HeaderMap) -> HeaderMap {
    let named = named_by_connection(inbound);
    let mut out = HeaderMap::with_capacity(inbound.len());
    for (name, value) in inbound {
        let n = name.as_str();
        if is_hop_by_hop(name, &named)
            || NEVER_UPSTREAM.contains(&n)
            || n.starts_with("proxy-")
            || n.starts_with("x-pica-")
            || n.starts_with("x-keyway-")
            || n.starts_with("x-forwarded-")
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Makes the upstream's headers the ones that go back to the caller: removes the hop-by-hop ones in
/// place (no copy of the rest).
pub fn remove_hop_by_hop(upstream: &mut HeaderMap) {
    let named = named_by_connection(upstream);
    // Most responses have none: one pass over their few names beats a lookup for each hop-by-hop one.
    if !upstream.keys().any(|name| is_hop_by_hop(name, &named)) {
        return;
    }
    for name in HOP_BY_HOP {
        upstream.remove(name);
    }
    for name in &named {
        upstream.remove(name.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    #[test]
    fn strips_credentials_our_headers_and_hop_by_hop_going_up() {
        let inbound = map(&[
            ("authorization", "Bearer caller"),
            ("cookie", "a=b"),
            ("host", "keyway"),
            ("x-pica-secret", "sk_test_x"),
            ("X-Keyway-Connection-Key", "k"),
            ("proxy-authorization", "x"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("x-forwarded-for", "1.2.3.4"),
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("x-app-header", "kept"),
        ]);
        let out = upstream_request_headers(&inbound);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "accept", "x-app-header"]);
    }

    #[test]
    fn keeps_content_type_coming_down() {
        let mut out = map(&[
            ("content-type", "text/csv"),
            ("connection", "close, X-Hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("x-ratelimit-remaining", "9"),
            ("set-cookie", "s=1"),
            ("set-cookie", "t=2"),
        ]);
        remove_hop_by_hop(&mut out);
        assert_eq!(
            out.get("content-type").and_then(|v| v.to_str().ok()),
            Some("text/csv")
        );
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["content-type", "set-cookie", "x-ratelimit-remaining"]
        );
        let cookies: Vec<&str> = out
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(cookies, ["s=1", "t=2"]);
    }
}
