//! Actions: one platform API operation each (`GET /repos/{{owner}}/{{repo}}/issues`), with the id,
//! parameters and knowledge text agents need (pica-compat §11). Files live in `catalog/actions/`.
//! Invariant: an [`Action`] only comes out of [`check`], so its method, path template and platform
//! are already valid wherever it is held.

pub mod check;
pub mod example;
pub mod file;
pub mod id;
pub mod knowledge;
pub mod path_template;
pub mod search;
pub mod set;
pub mod source;

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::actions::id::ActionId;
use crate::actions::path_template::PathTemplate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl FromStr for Method {
    type Err = String;

    /// Case-insensitive; the catalog files write it uppercase.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("`{s}` is not one of GET, POST, PUT, PATCH, DELETE"))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub description: String,
    /// JSON Schema (`Value::Null` when the source gave none).
    pub schema: Value,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub content_type: String,
    pub required: bool,
    pub schema: Value,
    pub example: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct ResponseExample {
    pub status: u16,
    pub example: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub(crate) id: ActionId,
    pub(crate) platform: String,
    pub(crate) key: String,
    pub(crate) title: String,
    pub(crate) method: Method,
    pub(crate) path: PathTemplate,
    pub(crate) tags: Vec<String>,
    pub(crate) description: String,
    pub(crate) parameters: Vec<Parameter>,
    pub(crate) body: Option<Body>,
    pub(crate) response: Option<ResponseExample>,
    pub(crate) knowledge: Option<String>,
}

impl Action {
    pub fn id(&self) -> &ActionId {
        &self.id
    }

    /// The platform slug.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// Readable and unique within the platform (usually the spec's operationId).
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn method(&self) -> Method {
        self.method
    }

    pub fn path(&self) -> &PathTemplate {
        &self.path
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    pub fn body(&self) -> Option<&Body> {
        self.body.as_ref()
    }

    pub fn response(&self) -> Option<&ResponseExample> {
        self.response.as_ref()
    }

    /// The knowledge text for an LLM: the file's own when it has one, else generated from the
    /// description, parameters and examples, with requests written against `base_url`.
    pub fn knowledge(&self, base_url: &str) -> String {
        match &self.knowledge {
            Some(text) => text.clone(),
            None => knowledge::render(self, base_url),
        }
    }
}
