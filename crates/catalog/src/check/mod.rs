//! Validation of catalog files: every problem in every file, each tied to the file and the dotted
//! field it concerns (`auth.oauth2.token_url`, `fields[2].pattern`).
//! Invariant: only a file with no problem becomes a `Platform`; nothing stops at the first problem
//! except a TOML error, which ends the checks of that one file.

mod auth;
mod compile;
mod fields;
mod inject;
mod report;
mod request;
mod toml_error;
mod urls;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::actions::source::ActionsSource;
use crate::logo::Logo;
use crate::platform::Platform;
use crate::source::Source;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Problem {
    pub file: PathBuf,
    /// Dotted path inside the file; empty when the problem is the file itself.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(
        file: impl Into<PathBuf>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

/// Checks a catalog folder (`platforms/*.toml`, `logos/*`) as Keyway would load it as a custom
/// catalog: logos not found in its `logos/` are looked up among the built-in ones.
/// Its `actions/*.json` may name its own platforms and the built-in ones.
pub fn check_dir(path: &Path) -> Vec<Problem> {
    let builtin = Source::builtin();
    let (custom, mut problems) = compile_source(&Source::read_dir(path), Some(&builtin.logos));
    let (builtin_platforms, _) = compile_source(&builtin, None);
    let exists = |slug: &str| {
        custom.iter().any(|p| p.slug().as_str() == slug)
            || builtin_platforms.iter().any(|p| p.slug().as_str() == slug)
    };
    problems.extend(ActionsSource::read_dir(path).compile(&exists).1);
    problems
}

/// Checks the catalog compiled into this binary, actions included.
pub fn check_builtin() -> Vec<Problem> {
    let (platforms, mut problems) = compile_source(&Source::builtin(), None);
    let exists = |slug: &str| platforms.iter().any(|p| p.slug().as_str() == slug);
    problems.extend(ActionsSource::builtin().compile(&exists).1);
    problems
}

/// Compiles every file of a source; problems come in file order.
pub(crate) fn compile_source(
    source: &Source,
    fallback_logos: Option<&BTreeMap<String, Logo>>,
) -> (Vec<Platform>, Vec<Problem>) {
    let logo_exists = |name: &str| {
        source.logos.contains_key(name)
            || fallback_logos.is_some_and(|logos| logos.contains_key(name))
    };
    let mut platforms = Vec::new();
    let mut problems = source.problems.clone();
    for file in &source.files {
        match compile::platform(&file.path, &file.stem, &file.text, &logo_exists) {
            Ok(platform) => platforms.push(platform),
            Err(found) => problems.extend(found),
        }
    }
    (platforms, problems)
}
