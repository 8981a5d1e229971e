//! Small example values for knowledge texts: built from a JSON Schema, or pruned from a spec's own
//! example. Invariant: results are bounded (depth, keys per object, one array item, short strings)
//! so a knowledge text stays readable and the catalog stays small.

use serde_json::{Map, Value};

const MAX_DEPTH: usize = 4;
const MAX_KEYS: usize = 12;
const MAX_STRING: usize = 120;

/// An example value for `schema` (already `$ref`-free).
pub fn from_schema(schema: &Value) -> Value {
    build(schema, 0)
}

/// `value` cut down to the same bounds.
pub fn prune(value: &Value) -> Value {
    prune_at(value, 0, &BOUNDS)
}

/// `value` cut down further, for response examples: two levels, eight keys per object.
pub fn prune_small(value: &Value) -> Value {
    prune_at(value, 0, &SMALL)
}

struct Bounds {
    depth: usize,
    keys: usize,
    string: usize,
}

const BOUNDS: Bounds = Bounds {
    depth: MAX_DEPTH,
    keys: MAX_KEYS,
    string: MAX_STRING,
};
const SMALL: Bounds = Bounds {
    depth: 2,
    keys: 8,
    string: 60,
};

fn build(schema: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return Value::String("string".into());
    };
    for key in ["example", "default"] {
        if let Some(v) = obj.get(key) {
            if !v.is_null() {
                return prune_at(v, depth, &BOUNDS);
            }
        }
    }
    if let Some(Value::Array(examples)) = obj.get("examples") {
        if let Some(first) = examples.first() {
            return prune_at(first, depth, &BOUNDS);
        }
    }
    if let Some(Value::Array(values)) = obj.get("enum") {
        if let Some(first) = values.first() {
            return first.clone();
        }
    }
    if let Some(Value::Array(all)) = obj.get("allOf") {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = build(part, depth) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = obj.get(key) {
            if let Some(first) = options.iter().find(|o| !is_null_type(o)) {
                return build(first, depth);
            }
        }
    }
    match type_of(obj) {
        "object" => {
            if depth >= MAX_DEPTH {
                return Value::Object(Map::new());
            }
            let mut out = Map::new();
            let required: Vec<&str> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(Value::Object(props)) = obj.get("properties") {
                let mut names: Vec<&String> = props.keys().collect();
                // Required properties first, then the rest, each in document order.
                names.sort_by_key(|n| !required.contains(&n.as_str()));
                for name in names.into_iter().take(MAX_KEYS) {
                    out.insert(name.clone(), build(&props[name], depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            if depth >= MAX_DEPTH {
                return Value::Array(Vec::new());
            }
            let item = obj
                .get("items")
                .map_or(Value::Null, |i| build(i, depth + 1));
            Value::Array(vec![item])
        }
        "integer" => Value::from(1),
        "number" => Value::from(1.5),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => Value::String(
            match obj.get("format").and_then(Value::as_str) {
                Some("date-time") => "2024-01-01T12:00:00Z",
                Some("date") => "2024-01-01",
                Some("email") => "user@example.com",
                Some("uri" | "url") => "https://example.com",
                Some("uuid") => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                _ => "string",
            }
            .into(),
        ),
    }
}

fn type_of(obj: &Map<String, Value>) -> &str {
    match obj.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "string",
    }
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn prune_at(value: &Value, depth: usize, bounds: &Bounds) -> Value {
    match value {
        Value::Object(map) if depth >= bounds.depth => {
            if map.is_empty() {
                Value::Object(Map::new())
            } else {
                Value::String("…".into())
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .take(bounds.keys)
                .map(|(k, v)| (k.clone(), prune_at(v, depth + 1, bounds)))
                .collect(),
        ),
        Value::Array(_) if depth >= bounds.depth => Value::Array(Vec::new()),
        Value::Array(items) => items
            .first()
            .map(|first| Value::Array(vec![prune_at(first, depth + 1, bounds)]))
            .unwrap_or(Value::Array(Vec::new())),
        Value::String(s) if s.chars().count() > bounds.string => Value::String(format!(
            "{}…",
            s.chars().take(bounds.string).collect::<String>()
        )),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn builds_bounded_examples() {
        let schema = json!({"type": "object", "required": ["title"], "properties": {
            "labels": {"type": "array", "items": {"type": "string"}},
            "title": {"type": "string"},
            "when": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["open", "closed"]}}});
        assert_eq!(
            super::from_schema(&schema),
            json!({"title": "string", "labels": ["string"], "state": "open", "when": "2024-01-01T12:00:00Z"})
        );
        let long = json!({"items": [1, 2, 3], "text": "x".repeat(500)});
        let pruned = super::prune(&long);
        assert_eq!(pruned["items"], json!([1]));
        assert!(pruned["text"].as_str().expect("text").chars().count() <= 121);
    }
}
