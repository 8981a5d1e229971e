//! The parsed document: its version, server base path and operations, and local `$ref` lookup.

use serde_json::Value;

use super::ImportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    Swagger2,
    OpenApi3,
}

pub(super) struct Document {
    pub root: Value,
    pub version: Version,
    /// The path part of the first server URL (v3) or `basePath` (v2), without a trailing `/`.
    pub server_path: String,
}

pub(super) struct Operation<'a> {
    pub path: String,
    pub method: String,
    pub op: &'a Value,
    pub path_item: &'a Value,
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const OTHER_METHODS: [&str; 3] = ["head", "options", "trace"];

impl Document {
    pub fn parse(text: &str) -> Result<Self, ImportError> {
        let trimmed = text.trim_start();
        let root: Value = if trimmed.starts_with('{') {
            serde_json::from_str(text).map_err(|e| ImportError::Unparseable(e.to_string()))?
        } else {
            serde_norway::from_str(text).map_err(|e| ImportError::Unparseable(e.to_string()))?
        };
        let version = if root
            .get("openapi")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with('3'))
        {
            Version::OpenApi3
        } else if root.get("swagger").and_then(Value::as_str) == Some("2.0") {
            Version::Swagger2
        } else {
            return Err(ImportError::UnknownVersion);
        };
        if !root.get("paths").is_some_and(Value::is_object) {
            return Err(ImportError::NoPaths);
        }
        let server_path = match version {
            Version::Swagger2 => root
                .get("basePath")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            Version::OpenApi3 => root
                .pointer("/servers/0")
                .map(server_url)
                .map(|url| url_path(&url))
                .unwrap_or_default(),
        };
        Ok(Self {
            root,
            version,
            server_path: server_path.trim_end_matches('/').to_owned(),
        })
    }

    /// Every operation, paths in document order (sorted by the JSON map), methods in a fixed order;
    /// methods Keyway cannot call are returned too so they are reported as skipped.
    pub fn operations(&self) -> Vec<Operation<'_>> {
        let mut out = Vec::new();
        let Some(paths) = self.root.get("paths").and_then(Value::as_object) else {
            return out;
        };
        for (path, item) in paths {
            let item = self.deref(item).unwrap_or(item);
            for method in METHODS.iter().chain(OTHER_METHODS.iter()) {
                if let Some(op) = item.get(*method) {
                    out.push(Operation {
                        path: path.clone(),
                        method: (*method).to_owned(),
                        op,
                        path_item: item,
                    });
                }
            }
        }
        out
    }

    /// Follows a local `$ref` (`#/components/…`, `#/definitions/…`); `None` for a remote one.
    pub fn lookup(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        let pointer = pointer.replace("~1", "/").replace("~0", "~");
        self.root.pointer(&pointer)
    }

    /// `value` itself, or what its `$ref` points at (following chains up to 8 deep).
    pub fn deref<'a>(&'a self, mut value: &'a Value) -> Option<&'a Value> {
        for _ in 0..8 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => value = self.lookup(reference)?,
                None => return Some(value),
            }
        }
        None
    }
}

/// A v3 server object's URL with its variables at their defaults.
fn server_url(server: &Value) -> String {
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            let default = var.get("default").and_then(Value::as_str).unwrap_or("");
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    url
}

/// The path of an absolute or relative URL (`https://h/api/v1` → `/api/v1`, `/v1` → `/v1`).
fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            after.find('/').map_or("", |j| &after[j..])
        }
        None => url,
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    if rest.is_empty() || rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    }
}

/// The literal tail of a platform base URL's path: the segments after its last `{{var}}` segment
/// (`…/ex/jira/{{cloudId}}/rest/api/3` → `/rest/api/3`). Operation paths must start with it.
pub(super) fn platform_base_path(base_url: &str) -> String {
    let path = url_path(base_url);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let start = segments
        .iter()
        .rposition(|s| s.contains("{{"))
        .map_or(0, |i| i + 1);
    segments[start..]
        .iter()
        .map(|s| format!("/{s}"))
        .collect::<String>()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_paths() {
        assert_eq!(super::platform_base_path("https://api.github.com"), "");
        assert_eq!(
            super::platform_base_path("https://api.stripe.com/v1"),
            "/v1"
        );
        assert_eq!(
            super::platform_base_path("https://api.atlassian.com/ex/jira/{{cloudId}}/rest/api/3"),
            "/rest/api/3"
        );
        assert_eq!(super::url_path("https://gitlab.com/api"), "/api");
        assert_eq!(super::url_path("/v1"), "/v1");
    }
}
