//! Action path templates (`/repos/{{owner}}/{{repo}}/issues`), relative to the platform's base URL.
//! Invariant: a template starts with `/`, has no query, fragment or empty inner segment, and each
//! `{{var}}` lies inside one segment; matching accepts values inserted raw or percent-encoded.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    source: String,
    segments: Vec<Vec<Part>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

impl PathTemplate {
    /// Parses a template, or says what is wrong with it.
    pub fn parse(source: &str) -> Result<Self, String> {
        let Some(rest) = source.strip_prefix('/') else {
            return Err("must start with `/`".into());
        };
        if source.contains(['?', '#']) || source.chars().any(char::is_whitespace) {
            return Err("must not hold a query, a fragment or whitespace".into());
        }
        let raw: Vec<&str> = rest.split('/').collect();
        let mut segments = Vec::with_capacity(raw.len());
        for (index, segment) in raw.iter().enumerate() {
            if segment.is_empty() && index + 1 != raw.len() {
                return Err("must not hold an empty segment (`//`)".into());
            }
            if *segment == "." || *segment == ".." {
                return Err("must not hold `.` or `..` segments".into());
            }
            segments.push(parse_segment(segment)?);
        }
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .flatten()
            .filter_map(|part| match part {
                Part::Var(name) => Some(name.as_str()),
                Part::Text(_) => None,
            })
    }

    /// The literal words of the path (for search), e.g. `repos`, `issues`.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .flatten()
            .filter_map(|part| match part {
                Part::Text(text) => Some(text.as_str()),
                Part::Var(_) => None,
            })
    }

    /// Whether the last segment is a variable (an item path like `/issues/{{number}}`).
    pub fn ends_with_variable(&self) -> bool {
        self.segments
            .last()
            .and_then(|s| s.last())
            .is_some_and(|p| matches!(p, Part::Var(_)))
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Whether a request path (as sent, percent-encoded) fills this template. Variables match one
    /// non-empty segment (a raw or encoded value); a final variable named `…path` may also span
    /// several segments, since clients insert file paths raw. One trailing `/` is ignored.
    pub fn matches(&self, request_path: &str) -> bool {
        let Some(rest) = request_path.strip_prefix('/') else {
            return false;
        };
        let rest = if rest.len() > 1 {
            rest.strip_suffix('/').unwrap_or(rest)
        } else {
            rest
        };
        let mut template = self.segments.as_slice();
        if template.len() > 1 && template.last().is_some_and(Vec::is_empty) {
            template = &template[..template.len() - 1];
        }
        let given: Vec<String> = rest.split('/').map(percent_decode).collect();
        let spans_rest = match template.last().map(Vec::as_slice) {
            Some([Part::Var(name)]) => name.to_ascii_lowercase().ends_with("path"),
            _ => false,
        };
        if given.len() != template.len() && !(spans_rest && given.len() > template.len()) {
            return false;
        }
        template.iter().enumerate().all(|(index, parts)| {
            if spans_rest && index + 1 == template.len() {
                let tail = given[index..].join("/");
                !tail.is_empty() && !given[index..].iter().any(String::is_empty)
            } else {
                match_parts(parts, &given[index])
            }
        })
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_segment(segment: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = segment;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(text_part(&rest[..open])?);
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` in `{segment}` is never closed"))?;
        let name = &after[..close];
        if !is_variable_name(name) {
            return Err(format!(
                "`{name}` is not a variable name (a letter or `_`, then letters, digits, `_`, `-` or `.`)"
            ));
        }
        if matches!(parts.last(), Some(Part::Var(_))) {
            return Err(format!("`{segment}` puts two variables side by side"));
        }
        parts.push(Part::Var(name.to_owned()));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(text_part(rest)?);
    }
    Ok(parts)
}

fn text_part(text: &str) -> Result<Part, String> {
    if text.contains(['{', '}']) {
        return Err(format!(
            "`{text}` holds a single brace: write variables as `{{{{name}}}}`"
        ));
    }
    Ok(Part::Text(percent_decode(text)))
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= 64
}

/// Literal parts must match exactly; each variable takes at least one character.
fn match_parts(parts: &[Part], value: &str) -> bool {
    match parts.split_first() {
        None => value.is_empty(),
        Some((Part::Text(text), rest)) => value
            .strip_prefix(text.as_str())
            .is_some_and(|tail| match_parts(rest, tail)),
        Some((Part::Var(_), rest)) => value
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain([value.len()])
            .any(|end| end > 0 && match_parts(rest, &value[end..])),
    }
}

/// `%XX` decoded; invalid escapes kept as they are; invalid UTF-8 replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::PathTemplate;

    fn t(s: &str) -> PathTemplate {
        PathTemplate::parse(s).expect("valid template")
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            t("/repos/{{owner}}/{{repo}}")
                .variables()
                .collect::<Vec<_>>(),
            ["owner", "repo"]
        );
        for bad in [
            "repos",
            "/a//b",
            "/a?b=1",
            "/a/{owner}",
            "/a/{{own",
            "/a/{{1x}}",
            "/a/{{x}}{{y}}",
            "/a/../b",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
        assert!(PathTemplate::parse("/").is_ok());
        assert!(PathTemplate::parse("/files/").is_ok());
    }

    #[test]
    fn matches_raw_and_encoded_values() {
        let issues = t("/repos/{{owner}}/{{repo}}/issues");
        assert!(issues.matches("/repos/octo/hello/issues"));
        assert!(issues.matches("/repos/octo/hello/issues/"));
        assert!(issues.matches("/repos/oc%20to/he%2Fllo/issues"));
        assert!(!issues.matches("/repos/octo/issues"));
        assert!(!issues.matches("/repos/octo/hello/pulls"));
        assert!(!issues.matches("/repos/octo/hello/issues/1"));
        assert!(!issues.matches("/repos//hello/issues"));
        let mixed = t("/files/{{id}}.json");
        assert!(mixed.matches("/files/a.b.json"));
        assert!(!mixed.matches("/files/.json"));
        let colon = t("/v1/{{name}}:batchGet");
        assert!(colon.matches("/v1/spreadsheets%2F1:batchGet"));
        assert!(colon.matches("/v1/x%3AbatchGet"), "encoded literal");
        let contents = t("/repos/{{owner}}/{{repo}}/contents/{{path}}");
        assert!(contents.matches("/repos/o/r/contents/docs/readme.md"));
        assert!(contents.matches("/repos/o/r/contents/docs%2Freadme.md"));
        assert!(!contents.matches("/repos/o/r/contents"));
        assert!(t("/").matches("/"));
    }
}
