//! One operation → one action file entry: path rebased on the platform's base URL with `{{var}}`
//! placeholders, parameters, body and an example response. Invariant: `Err` carries the reason the
//! operation was skipped, in words an operator can act on.

use serde_json::{Map, Value};

use super::document::{Document, Operation, Version};
use super::resolve::{self, short};
use crate::actions::example;
use crate::actions::file::{ActionFile, BodyFile, ParameterFile, ResponseFile};
use crate::actions::path_template::PathTemplate;

const BODY_DEPTH: usize = 2;
const PARAM_DEPTH: usize = 1;
const RESPONSE_DEPTH: usize = 2;
const MAX_TITLE: usize = 100;
const MAX_DESCRIPTION: usize = 400;

pub(super) fn convert(
    doc: &Document,
    op: &Operation<'_>,
    base: &str,
) -> Result<ActionFile, String> {
    if !["get", "post", "put", "patch", "delete"].contains(&op.method.as_str()) {
        return Err(format!(
            "method {} is not supported",
            op.method.to_ascii_uppercase()
        ));
    }
    if op.op.get("deprecated").and_then(Value::as_bool) == Some(true) {
        return Err("deprecated".into());
    }
    let path = rebase(&doc.server_path, &op.path, base)?;
    let template = PathTemplate::parse(&path).map_err(|e| format!("path {e}"))?;

    let mut parameters: Vec<ParameterFile> = Vec::new();
    let mut form: Vec<(String, Value, bool)> = Vec::new();
    let mut body: Option<BodyFile> = None;
    let declared = op
        .path_item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            op.op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    for raw in declared {
        let param = doc
            .deref(raw)
            .ok_or_else(|| "a parameter `$ref` is not local".to_owned())?;
        let name = param
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let location = param.get("in").and_then(Value::as_str).unwrap_or("");
        let required = param
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let description = short(
            param
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(""),
            resolve::MAX_DESCRIPTION,
        );
        match location {
            "path" | "query" | "header" => {
                if location == "header" && is_managed_header(&name) {
                    continue;
                }
                if location == "path" && !template.variables().any(|v| v == name) {
                    continue;
                }
                let schema = match doc.version {
                    Version::OpenApi3 => param.get("schema").cloned().unwrap_or(Value::Null),
                    Version::Swagger2 => v2_inline_schema(param),
                };
                let schema = if schema.is_null() {
                    schema
                } else {
                    resolve::schema(doc, &schema, PARAM_DEPTH)
                };
                // A later (operation-level) declaration replaces a path-level one.
                parameters.retain(|p| !(p.name == name && p.location == location));
                parameters.push(ParameterFile {
                    name,
                    location: location.to_owned(),
                    required: required || location == "path",
                    description,
                    schema,
                });
            }
            "body" => {
                let schema = param.get("schema").cloned().unwrap_or(Value::Null);
                body = Some(BodyFile {
                    content_type: v2_consumes(doc, op.op, "application/json"),
                    required,
                    schema: resolve::schema(doc, &schema, BODY_DEPTH),
                    example: None,
                });
            }
            "formData" => {
                let mut schema = v2_inline_schema(param);
                if let (Value::Object(s), false) = (&mut schema, description.is_empty()) {
                    s.insert("description".into(), Value::String(description));
                }
                form.push((name, schema, required));
            }
            _ => {}
        }
    }
    if !form.is_empty() && body.is_none() {
        let has_file = form
            .iter()
            .any(|(_, s, _)| s.get("type").and_then(Value::as_str) == Some("file"));
        let default = if has_file {
            "multipart/form-data"
        } else {
            "application/x-www-form-urlencoded"
        };
        let mut props = Map::new();
        let mut required = Vec::new();
        for (name, schema, req) in form {
            if req {
                required.push(Value::String(name.clone()));
            }
            props.insert(name, schema);
        }
        let mut schema = Map::new();
        schema.insert("type".into(), Value::String("object".into()));
        schema.insert("properties".into(), Value::Object(props));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
        body = Some(BodyFile {
            content_type: v2_consumes(doc, op.op, default),
            required: true,
            schema: Value::Object(schema),
            example: None,
        });
    }
    if doc.version == Version::OpenApi3 {
        if let Some(request) = op.op.get("requestBody") {
            let request = doc
                .deref(request)
                .ok_or_else(|| "the request body `$ref` is not local".to_owned())?;
            body = v3_body(doc, request);
        }
    }
    // Every path variable gets a parameter, declared or not.
    for var in template.variables() {
        if !parameters
            .iter()
            .any(|p| p.location == "path" && p.name == var)
        {
            parameters.push(ParameterFile {
                name: var.to_owned(),
                location: "path".into(),
                required: true,
                description: String::new(),
                schema: serde_json::json!({"type": "string"}),
            });
        }
    }
    let summary = op
        .op
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let description = op
        .op
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let operation_id = op.op.get("operationId").and_then(Value::as_str);
    let first_sentence = first_sentence(description);
    let title = if !summary.is_empty() {
        short(summary, MAX_TITLE)
    } else if !first_sentence.is_empty() && first_sentence.len() <= 90 {
        first_sentence
    } else if let Some(id) = operation_id {
        humanize(id)
    } else {
        format!("{} {}", op.method.to_ascii_uppercase(), path)
    };
    let title = title.trim_end_matches('.').to_owned();
    let description = if description.trim().is_empty() {
        String::new()
    } else {
        short(description, MAX_DESCRIPTION)
    };
    let tags = op
        .op
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let description = if description == title {
        String::new()
    } else {
        description
    };
    Ok(ActionFile {
        key: operation_id
            .map(|id| id.split_whitespace().collect::<Vec<_>>().join("-"))
            .filter(|k| !k.is_empty()),
        title,
        method: op.method.to_ascii_uppercase(),
        path,
        tags,
        description,
        parameters,
        body,
        response: response(doc, op.op),
        knowledge: None,
    })
}

/// Server path + operation path, minus the platform base URL's literal tail, `{v}` → `{{v}}`.
fn rebase(server_path: &str, op_path: &str, base: &str) -> Result<String, String> {
    let full = format!("{server_path}{op_path}");
    let rest = if base.is_empty() {
        full.as_str()
    } else {
        match full.strip_prefix(base) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => {
                return Err(format!(
                    "the path is outside the platform's base URL path `{base}`"
                ))
            }
        }
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    let mut out = String::with_capacity(rest.len() + 8);
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                    name.push(n);
                }
                out.push_str("{{");
                out.push_str(&name);
                out.push_str("}}");
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Headers Keyway or the HTTP client sets: never listed as parameters.
fn is_managed_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "authorization" | "content-type" | "accept" | "content-length" | "user-agent"
    )
}

/// A Swagger 2.0 non-body parameter's inline schema (`type`, `format`, `items`, `enum`, `default`).
fn v2_inline_schema(param: &Value) -> Value {
    let mut schema = Map::new();
    for key in ["type", "format", "items", "enum", "default"] {
        if let Some(v) = param.get(key) {
            schema.insert(key.into(), v.clone());
        }
    }
    Value::Object(schema)
}

fn v2_consumes(doc: &Document, op: &Value, default: &str) -> String {
    op.get("consumes")
        .or_else(|| doc.root.get("consumes"))
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .find(|c| *c == default)
                .or(c.first().and_then(Value::as_str))
        })
        .unwrap_or(default)
        .to_owned()
}

/// The preferred media type of a v3 request body: JSON, then forms, then anything.
fn v3_body(doc: &Document, request: &Value) -> Option<BodyFile> {
    let content = request.get("content")?.as_object()?;
    let rank = |media: &str| {
        if media == "application/json" {
            0
        } else if media.ends_with("+json") || media.contains("json") {
            1
        } else if media == "application/x-www-form-urlencoded" {
            2
        } else if media == "multipart/form-data" {
            3
        } else {
            4
        }
    };
    let (media, entry) = content.iter().min_by_key(|(m, _)| rank(m))?;
    let schema = entry.get("schema").cloned().unwrap_or(Value::Null);
    let example = entry
        .get("example")
        .or_else(|| {
            entry
                .get("examples")
                .and_then(Value::as_object)
                .and_then(|e| e.values().next())
                .and_then(|e| doc.deref(e))
                .and_then(|e| e.get("value"))
        })
        .map(example::prune);
    Some(BodyFile {
        content_type: media.clone(),
        required: request
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        schema: if schema.is_null() {
            schema
        } else {
            resolve::schema(doc, &schema, BODY_DEPTH)
        },
        example,
    })
}

/// The first success response with an example: the spec's own, or one built from its schema.
fn response(doc: &Document, op: &Value) -> Option<ResponseFile> {
    let responses = op.get("responses")?.as_object()?;
    let (status, response) = responses
        .iter()
        .filter_map(|(code, r)| Some((code.parse::<u16>().ok()?, r)))
        .filter(|(code, _)| (200..300).contains(code))
        .min_by_key(|(code, _)| *code)?;
    let response = doc.deref(response)?;
    let example = match doc.version {
        Version::OpenApi3 => response
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| {
                c.iter()
                    .find(|(m, _)| m.contains("json"))
                    .or_else(|| c.iter().next())
                    .map(|(_, v)| v)
            })
            .and_then(|media| {
                media
                    .get("example")
                    .cloned()
                    .or_else(|| {
                        media
                            .get("examples")
                            .and_then(Value::as_object)
                            .and_then(|e| e.values().next())
                            .and_then(|e| doc.deref(e))
                            .and_then(|e| e.get("value"))
                            .cloned()
                    })
                    .or_else(|| {
                        media
                            .get("schema")
                            .map(|s| example::from_schema(&resolve::schema(doc, s, RESPONSE_DEPTH)))
                    })
            }),
        Version::Swagger2 => response
            .get("examples")
            .and_then(Value::as_object)
            .and_then(|e| e.values().next())
            .cloned()
            .or_else(|| {
                response
                    .get("schema")
                    .map(|s| example::from_schema(&resolve::schema(doc, s, RESPONSE_DEPTH)))
            }),
    };
    Some(ResponseFile {
        status,
        example: example.map(|e| example::prune_small(&e)),
    })
}

/// The description's first sentence, as plain text.
fn first_sentence(description: &str) -> String {
    let plain = short(description, 400);
    let end = plain.find(". ").map_or(plain.len(), |i| i + 1);
    plain[..end].trim().trim_end_matches('.').to_owned()
}

/// `issues/list-for-repo` → `Issues list for repo`; `PostCustomers` → `Post customers`.
fn humanize(id: &str) -> String {
    let mut spaced = String::with_capacity(id.len() + 8);
    let mut previous_lower = false;
    for c in id.chars() {
        if c.is_uppercase() && previous_lower {
            spaced.push(' ');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        spaced.push(c);
    }
    let words: Vec<String> = spaced
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut text = words.join(" ");
    if let Some(first) = text.get(..1) {
        text = format!("{}{}", first.to_uppercase(), &text[1..]);
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn rebases_paths() {
        assert_eq!(
            super::rebase("", "/v1/charges/{charge}", "/v1").as_deref(),
            Ok("/charges/{{charge}}")
        );
        assert_eq!(
            super::rebase("/api", "/v4/projects", "/api/v4").as_deref(),
            Ok("/projects")
        );
        assert!(super::rebase("", "/v2/x", "/v1").is_err());
        assert!(super::rebase("", "/v10/x", "/v1").is_err());
        assert_eq!(
            super::rebase("", "/repos/{owner}", "").as_deref(),
            Ok("/repos/{{owner}}")
        );
    }
}
