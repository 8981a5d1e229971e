//! OpenAPI schemas of the input the API validates, each written from the rule the code enforces (limits
//! from the constants its checks use), so the document promises exactly what the server accepts.
//! Patterns are valid ECMA-262, Rust `regex` and Python `re`; their classes are spelled out rather than
//! `\s`, whose members differ between engines.

use keyway_broker::connect::MAX_NAME_LEN;
use keyway_broker::connections::{MAX_TAGS, MAX_TAG_LEN};
use keyway_broker::integrations::{MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, MAX_SCOPE_LEN};
use keyway_core::identity::MAX_IDENTITY_LEN;
use std::collections::BTreeSet;

use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::openapi::Array;

/// Unicode White_Space: what `char::is_whitespace` matches and `str::trim` removes (a class body).
const WHITE_SPACE: &str =
    r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Unicode Cc: what `char::is_control` matches (a class body).
const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";

/// The pattern of `GET /v1/available-actions/search/{platform}?query=`: something besides white space,
/// no NUL (written out in the route's annotation, which takes only a literal; a test compares the two).
pub const NOT_BLANK: &str = r"^[^\x00]*[^\x00\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00]*$";

/// Any text without NUL, which no input may hold (`extract::ApiJson`, `list::decode_query`); given to
/// every string of a request that has no pattern of its own (`forbid_nul`).
pub const NO_NUL: &str = r"^[^\x00]*$";

/// Text that, once trimmed, is 1 to `max` characters, none of them NUL or in `excluded` (a class
/// body); with `blank`, white space alone (read as absent) matches too.
fn trimmed(max: usize, excluded: &str, blank: bool) -> String {
    let inner = format!(r"[^\x00{excluded}]");
    let edge = format!(r"[^\x00{WHITE_SPACE}{excluded}]");
    let text = format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2);
    let text = if blank { format!("(?:{text})?") } else { text };
    format!("^[{WHITE_SPACE}]*{text}[{WHITE_SPACE}]*$")
}

fn string(pattern: String, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

/// An identity: surrounding white space ignored, then 1–128 characters without white space, control
/// characters, `:` or `|` (`core::identity::Identity::parse`).
pub fn identity() -> Object {
    string(
        format!(
            "^[{WHITE_SPACE}]*[^{WHITE_SPACE}{CONTROL}:|]{{1,{MAX_IDENTITY_LEN}}}[{WHITE_SPACE}]*$"
        ),
        "Who the connection belongs to, e.g. `user_123`: 1 to 128 characters without spaces, control \
         characters, `:` or `|` (surrounding white space is ignored)",
    )
    .build()
}

// `core::identity::IdentityType`, for the document.
/// What kind of owner an identity is.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum IdentityType {
    User,
    Team,
    Organization,
    Project,
}

/// Tags as given (`broker::connections::validate_tags`): at most 32, each 1–64 characters once trimmed,
/// without commas or control characters; duplicates are dropped.
pub fn tags() -> Array {
    ArrayBuilder::new()
        .items(string(
            trimmed(MAX_TAG_LEN, &format!(",{CONTROL}"), false),
            "1 to 64 characters without commas or control characters (surrounding white space is \
             ignored)",
        ))
        .max_items(Some(MAX_TAGS))
        .description(Some("At most 32; duplicates are dropped, order is kept"))
        .build()
}

/// A connection's name: at most 128 characters once trimmed; blank or absent means none.
pub fn name() -> Object {
    string(
        trimmed(MAX_NAME_LEN, "", true),
        "At most 128 characters (surrounding white space is ignored; blank means none)",
    )
    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
    .build()
}

/// An OAuth app's client id: 1–512 characters once trimmed.
pub fn client_id() -> Object {
    string(
        trimmed(MAX_CLIENT_ID_LEN, "", false),
        "1 to 512 characters (surrounding white space is ignored)",
    )
    .build()
}

/// An OAuth app's client secret: 1–4096 characters once trimmed; absent or null keeps the stored one.
pub fn client_secret() -> Object {
    string(
        trimmed(MAX_CLIENT_SECRET_LEN, "", false),
        "1 to 4096 characters (surrounding white space is ignored). Omit to keep the stored secret",
    )
    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
    .build()
}

/// Scopes overriding the platform's defaults: each 1–256 characters without white space or control
/// characters; null keeps the platform's defaults.
pub fn scopes() -> Array {
    ArrayBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Array,
            Type::Null,
        ]))
        .items(string(
            format!("^[^{WHITE_SPACE}{CONTROL}]{{1,{MAX_SCOPE_LEN}}}$"),
            "1 to 256 characters without white space or control characters",
        ))
        .description(Some("Overrides the platform's default scopes"))
        .build()
}

/// A connect form: field name → value (which fields a platform takes is the catalog's to say).
pub fn form_values() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// Gives every string a request carries (query parameters, JSON bodies and the components they use)
/// that has no pattern or enum of its own the pattern [`NO_NUL`]; the patterns written here exclude NUL
/// already. Path parameters and headers are left alone: an id with NUL names nothing (404), and header
/// values cannot hold one.
pub fn forbid_nul(doc: &mut Value) {
    let mut referenced = BTreeSet::new();
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            for parameter in operation["parameters"].as_array_mut().into_iter().flatten() {
                if parameter["in"] == "query" {
                    give_no_nul(&mut parameter["schema"], &mut referenced);
                }
            }
            if let Some(body) =
                operation.pointer_mut("/requestBody/content/application~1json/schema")
            {
                give_no_nul(body, &mut referenced);
            }
        }
    }
    let mut done = BTreeSet::new();
    while let Some(name) = referenced.difference(&done).next().cloned() {
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            give_no_nul(schema, &mut referenced);
        }
        done.insert(name);
    }
}

fn give_no_nul(schema: &mut Value, referenced: &mut BTreeSet<String>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(name) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        referenced.insert(name.to_owned());
    }
    let string = match object.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    if string && !object.contains_key("pattern") && !object.contains_key("enum") {
        object.insert("pattern".into(), NO_NUL.into());
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            give_no_nul(inner, referenced);
        }
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for inner in properties.values_mut() {
            give_no_nul(inner, referenced);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(options)) = object.get_mut(key) {
            for inner in options {
                give_no_nul(inner, referenced);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_text_pattern_reads_as_intended() {
        assert_eq!(
            trimmed(4, "a", false),
            format!(
                r"^[{WHITE_SPACE}]*[^\x00{WHITE_SPACE}a](?:[^\x00a]{{0,2}}[^\x00{WHITE_SPACE}a])?[{WHITE_SPACE}]*$"
            )
        );
        assert_eq!(
            NOT_BLANK,
            format!(r"^[^\x00]*[^\x00{WHITE_SPACE}][^\x00]*$")
        );
    }

    #[test]
    fn documented_literals_are_the_code_s_own() {
        let doc = serde_json::to_value(crate::openapi::document()).expect("json");
        let kinds = doc["components"]["schemas"]["IdentityType"]["enum"]
            .as_array()
            .expect("enum")
            .clone();
        assert_eq!(kinds.len(), 4);
        for kind in kinds {
            let kind = kind.as_str().expect("text");
            let parsed: keyway_core::identity::IdentityType = kind.parse().expect("parses");
            assert_eq!(parsed.as_str(), kind);
        }
        // `list::Paging`'s attributes take a literal.
        assert_eq!(crate::list::MAX_PAGING_NUMBER, 2_147_483_647);
    }

    #[test]
    fn the_search_query_is_documented_with_the_not_blank_pattern() {
        let doc = serde_json::to_value(crate::openapi::document()).expect("json");
        let params = doc["paths"]["/v1/available-actions/search/{platform}"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .clone();
        let query = params.iter().find(|p| p["name"] == "query").expect("query");
        assert_eq!(query["schema"]["pattern"], NOT_BLANK);
    }
}
