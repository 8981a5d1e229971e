//! Local `$ref` resolution and schema compaction. Invariant: the result holds no `$ref`, is cut at a
//! fixed depth (recursive schemas end there), and keeps only what helps a caller build a request:
//! type, format, enum, required, properties, items, combinators, short descriptions, examples.

use serde_json::{Map, Value};

use super::document::Document;
use crate::actions::example;

const MAX_PROPERTIES: usize = 40;
const MAX_ENUM: usize = 30;
const MAX_VARIANTS: usize = 6;
pub(super) const MAX_DESCRIPTION: usize = 120;

/// `schema` with local refs inlined, at most `max_depth` objects deep.
pub(super) fn schema(doc: &Document, schema: &Value, max_depth: usize) -> Value {
    walk(doc, schema, 0, max_depth, &mut Vec::new())
}

fn walk(
    doc: &Document,
    schema: &Value,
    depth: usize,
    max: usize,
    stack: &mut Vec<String>,
) -> Value {
    let Some(obj) = schema.as_object() else {
        return if schema.is_boolean() {
            schema.clone()
        } else {
            Value::Object(Map::new())
        };
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        if stack.iter().any(|r| r == reference) || depth > max {
            return shallow(doc.lookup(reference).unwrap_or(&Value::Null));
        }
        let Some(target) = doc.lookup(reference) else {
            return Value::Object(Map::new());
        };
        stack.push(reference.to_owned());
        let mut out = walk(doc, target, depth, max, stack);
        stack.pop();
        // Siblings of `$ref` (3.1) such as a description override the target's.
        if let (Value::Object(out), Some(d)) = (&mut out, obj.get("description")) {
            if let Some(d) = d.as_str() {
                out.insert(
                    "description".into(),
                    Value::String(short(d, MAX_DESCRIPTION)),
                );
            }
        }
        return out;
    }
    if depth > max {
        return shallow(schema);
    }
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "type" | "format" | "nullable" | "minimum" | "maximum" | "maxLength" | "minLength"
            | "maxItems" => {
                out.insert(key.clone(), value.clone());
            }
            "default" | "example" => {
                out.insert(key.clone(), example::prune(value));
            }
            "examples" => {
                if let Some(first) = value.as_array().and_then(|a| a.first()) {
                    out.insert("example".into(), example::prune(first));
                }
            }
            "description" => {
                if let Some(d) = value.as_str().map(|d| short(d, MAX_DESCRIPTION)) {
                    if !d.is_empty() {
                        out.insert(key.clone(), Value::String(d));
                    }
                }
            }
            "enum" => {
                if let Some(values) = value.as_array() {
                    out.insert(
                        key.clone(),
                        Value::Array(values.iter().take(MAX_ENUM).cloned().collect()),
                    );
                }
            }
            "required" if value.is_array() => {
                out.insert(key.clone(), value.clone());
            }
            "properties" => {
                if let Some(props) = value.as_object() {
                    let walked: Map<String, Value> = props
                        .iter()
                        .filter(|(_, p)| !is_read_only(doc, p))
                        .take(MAX_PROPERTIES)
                        .map(|(name, p)| (name.clone(), walk(doc, p, depth + 1, max, stack)))
                        .collect();
                    out.insert(key.clone(), Value::Object(walked));
                }
            }
            "items" => {
                out.insert(key.clone(), walk(doc, value, depth + 1, max, stack));
            }
            "additionalProperties" if value.is_object() => {
                out.insert(key.clone(), walk(doc, value, depth + 1, max, stack));
            }
            "oneOf" | "anyOf" | "allOf" => {
                if let Some(variants) = value.as_array() {
                    let walked: Vec<Value> = variants
                        .iter()
                        .take(MAX_VARIANTS)
                        .map(|v| walk(doc, v, depth + 1, max, stack))
                        .collect();
                    out.insert(key.clone(), Value::Array(walked));
                }
            }
            _ => {}
        }
    }
    Value::Object(out)
}

fn is_read_only(doc: &Document, schema: &Value) -> bool {
    doc.deref(schema)
        .and_then(|s| s.get("readOnly"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Only the type and description of a schema cut off by depth or recursion.
fn shallow(schema: &Value) -> Value {
    let mut out = Map::new();
    if let Some(t) = schema.get("type") {
        out.insert("type".into(), t.clone());
    } else if schema.get("properties").is_some() {
        out.insert("type".into(), Value::String("object".into()));
    }
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        out.insert(
            "description".into(),
            Value::String(short(d, MAX_DESCRIPTION)),
        );
    }
    Value::Object(out)
}

/// Whitespace collapsed, HTML tags and markdown link targets dropped, cut at a word near `max`.
pub(super) fn short(text: &str, max: usize) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = strip_link_targets(&plain);
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let cut: String = collapsed.chars().take(max).collect();
    let cut = match cut.rfind(". ") {
        Some(i) if i > max / 2 => cut[..=i].to_owned(),
        _ => match cut.rfind(' ') {
            Some(i) => format!("{}…", &cut[..i]),
            None => format!("{cut}…"),
        },
    };
    cut
}

/// `[text](url)` → `text`.
fn strip_link_targets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(close) = rest.find("](") {
        let Some(end) = rest[close..].find(')') else {
            break;
        };
        let before = &rest[..close];
        match before.rfind('[') {
            Some(open) => {
                out.push_str(&before[..open]);
                out.push_str(&before[open + 1..]);
            }
            None => out.push_str(before),
        }
        rest = &rest[close + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shortens_readably() {
        assert_eq!(
            super::short("See <b>the</b> [docs](https://x.y/z)  for\nmore.", 100),
            "See the docs for more."
        );
        let long = "word ".repeat(100);
        assert!(super::short(&long, 50).chars().count() <= 51);
    }
}
