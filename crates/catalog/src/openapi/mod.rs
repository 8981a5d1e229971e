//! `keyway catalog import-openapi`: turns an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML) into
//! an actions file for one platform. Invariant: what cannot be represented (other methods, remote
//! `$ref`s, paths outside the platform's base URL, deprecated operations) is skipped with a reason,
//! never guessed; output is deterministic for a given document, so re-imports diff cleanly.

mod document;
mod operation;
mod resolve;
pub mod write;

use crate::actions::file::ActionFile;
use crate::platform::Platform;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the document is neither JSON nor YAML: {0}")]
    Unparseable(String),
    #[error("not an OpenAPI 3.x or Swagger 2.0 document (no `openapi: 3…` or `swagger: \"2.0\"`)")]
    UnknownVersion,
    #[error("the document has no `paths`")]
    NoPaths,
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// An operation left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `GET /path` as the document writes it.
    pub operation: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Import {
    pub actions: Vec<ActionFile>,
    pub skipped: Vec<Skipped>,
}

/// Converts `text` for `platform`; `progress(done, total)` is called after each operation.
pub fn import(
    text: &str,
    platform: &Platform,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Import, ImportError> {
    let doc = document::Document::parse(text)?;
    let base = document::platform_base_path(platform.base_url().as_str());
    let operations = doc.operations();
    let total = operations.len();
    let mut out = Import::default();
    let mut keys = std::collections::BTreeSet::new();
    for (done, op) in operations.into_iter().enumerate() {
        match operation::convert(&doc, &op, &base) {
            Ok(mut action) => {
                if let Some(key) = action.key.take() {
                    let mut unique = key.clone();
                    let mut n = 2;
                    while !keys.insert(unique.clone()) {
                        unique = format!("{key}-{n}");
                        n += 1;
                    }
                    action.key = Some(unique);
                }
                out.actions.push(action);
            }
            Err(reason) => out.skipped.push(Skipped {
                operation: format!("{} {}", op.method.to_ascii_uppercase(), op.path),
                reason,
            }),
        }
        progress(done + 1, total);
    }
    Ok(out)
}
