//! The knowledge text of an action: what it does, its parameters, an example request and response,
//! written for an LLM. Invariant: requests are written against the platform's real base URL, which
//! the toolkit rewrites to Keyway's passthrough (pica-compat §11), so the text never names Keyway.

use std::fmt::Write;

use serde_json::Value;

use crate::actions::example;
use crate::actions::{Action, Location, Parameter};

const MAX_PROPERTIES: usize = 40;

pub fn render(action: &Action, base_url: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}", action.title);
    let _ = writeln!(out, "{} {}", action.method, action.path);
    if !action.description.trim().is_empty() {
        let _ = writeln!(out, "\n{}", action.description.trim());
    }
    for (location, heading) in [
        (Location::Path, "Path parameters"),
        (Location::Query, "Query parameters"),
        (Location::Header, "Header parameters"),
    ] {
        let params: Vec<&Parameter> = action
            .parameters
            .iter()
            .filter(|p| p.location == location)
            .collect();
        if params.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {heading}");
        for p in params {
            line(&mut out, &p.name, &p.schema, p.required, &p.description);
        }
    }
    if let Some(body) = &action.body {
        let _ = writeln!(
            out,
            "\n## Body ({}{})",
            body.content_type,
            if body.required { ", required" } else { "" }
        );
        let required = required_names(&body.schema);
        match body.schema.get("properties").and_then(Value::as_object) {
            Some(props) => {
                for (name, schema) in props.iter().take(MAX_PROPERTIES) {
                    let description = schema
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    line(
                        &mut out,
                        name,
                        schema,
                        required.contains(&name.as_str()),
                        description,
                    );
                }
                if props.len() > MAX_PROPERTIES {
                    let _ = writeln!(out, "- … {} more", props.len() - MAX_PROPERTIES);
                }
            }
            None => {
                let _ = writeln!(out, "- {}", type_label(&body.schema));
            }
        }
    }
    let _ = writeln!(out, "\n## Example request");
    let _ = writeln!(out, "{}", example_request(action, base_url));
    if let Some(response) = &action.response {
        let _ = writeln!(out, "\n## Example response ({})", response.status);
        if let Some(example) = &response.example {
            let _ = writeln!(out, "{}", compact(example));
        }
    }
    out
}

fn line(out: &mut String, name: &str, schema: &Value, required: bool, description: &str) {
    let mut label = type_label(schema);
    if required {
        label.push_str(", required");
    }
    let description = description.split_whitespace().collect::<Vec<_>>().join(" ");
    if description.is_empty() {
        let _ = writeln!(out, "- {name} ({label})");
    } else {
        let _ = writeln!(out, "- {name} ({label}): {description}");
    }
}

fn type_label(schema: &Value) -> String {
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ if schema.get("properties").is_some() => "object".into(),
        _ if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() => "one of".into(),
        _ => "any".into(),
    };
    let kind = match schema
        .get("items")
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
    {
        Some(item) if kind == "array" => format!("array of {item}"),
        _ => kind,
    };
    match schema.get("enum").and_then(Value::as_array) {
        Some(values) if !values.is_empty() => {
            let shown: Vec<String> = values
                .iter()
                .take(12)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            format!("{kind}: {}", shown.join(" | "))
        }
        _ => kind,
    }
}

fn required_names(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `POST https://api.example.com/things?x=1` plus headers and a JSON body when there is one.
fn example_request(action: &Action, base_url: &str) -> String {
    let mut path = action.path.as_str().to_owned();
    for p in action
        .parameters
        .iter()
        .filter(|p| p.location == Location::Path)
    {
        let value = scalar_example(&p.schema).unwrap_or_else(|| format!("<{}>", p.name));
        path = path.replace(&format!("{{{{{}}}}}", p.name), &value);
    }
    let query: Vec<String> = action
        .parameters
        .iter()
        .filter(|p| p.location == Location::Query && p.required)
        .map(|p| {
            let value = scalar_example(&p.schema).unwrap_or_else(|| "value".into());
            format!("{}={}", p.name, value)
        })
        .collect();
    let mut out = format!(
        "{} {}{}",
        action.method,
        base_url.trim_end_matches('/'),
        path
    );
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    for p in action
        .parameters
        .iter()
        .filter(|p| p.location == Location::Header && p.required)
    {
        let value = scalar_example(&p.schema).unwrap_or_else(|| "value".into());
        let _ = write!(out, "\n{}: {}", p.name, value);
    }
    if let Some(body) = &action.body {
        let _ = write!(out, "\nContent-Type: {}", body.content_type);
        let example = body
            .example
            .as_ref()
            .map(example::prune)
            .unwrap_or_else(|| example::from_schema(&body.schema));
        let _ = write!(out, "\n\n{}", compact(&example));
    }
    out
}

/// A simple value for a path, query or header parameter, when the schema gives one.
fn scalar_example(schema: &Value) -> Option<String> {
    if schema.is_null() {
        return None;
    }
    match example::from_schema(schema) {
        Value::String(s) if s == "string" => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
