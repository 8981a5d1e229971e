//! The raw shape of an actions file (`catalog/actions/<platform>.json`), exactly as JSON spells it;
//! written by the OpenAPI importer and by hand. Invariant: unknown keys are rejected so typos
//! surface; values are unchecked here and only [`super::check`] turns them into `Action`s.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsFile {
    /// Must equal the file stem and name a platform of the catalog.
    pub platform: String,
    /// Where the actions came from (e.g. `npm:@octokit/openapi@23.0.2 generated/api.github.com.json`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    pub actions: Vec<ActionFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFile {
    /// A readable name unique within the platform (the spec's operationId); derived from method and
    /// path when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub title: String,
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// Relative to the platform's base URL, `{{var}}` for path parameters.
    pub path: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseFile>,
    /// Replaces the generated knowledge text when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterFile {
    pub name: String,
    /// `path`, `query` or `header`.
    #[serde(rename = "in")]
    pub location: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// JSON Schema of the value.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub schema: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BodyFile {
    pub content_type: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// JSON Schema of the body.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseFile {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
}

fn is_false(value: &bool) -> bool {
    !*value
}
