//! The loaded catalog: platforms by slug, with their logos, built-in and custom together.
//! Invariant: a `Catalog` exists only if every file it was built from passed the checks; a custom
//! platform replaces the built-in one with the same slug, whole (nothing is merged).

use std::collections::BTreeMap;
use std::path::Path;

use crate::actions::set::ActionCatalog;
use crate::actions::source::ActionsSource;
use crate::check::{self, Problem};
use crate::error::CatalogError;
use crate::logo::Logo;
use crate::platform::Platform;
use crate::source::Source;

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    platforms: BTreeMap<String, Platform>,
    /// Per slug: the logo resolved from the platform's own folder (custom before built-in).
    logos: BTreeMap<String, Logo>,
    /// The actions of `catalog/actions/` and of the custom folder's `actions/`.
    actions: ActionCatalog,
}

impl Catalog {
    /// The platforms compiled into this binary.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::load(true, None)
    }

    /// The built-in platforms (when `include_builtin`) plus those of `custom_dir`, which holds
    /// `platforms/*.toml` and optionally `logos/*`. Custom logos are looked up first, then the
    /// built-in ones.
    pub fn load(include_builtin: bool, custom_dir: Option<&Path>) -> Result<Self, CatalogError> {
        let builtin = Source::builtin();
        let mut catalog = Self::default();
        let mut problems: Vec<Problem> = Vec::new();
        if include_builtin {
            let (platforms, found) = check::compile_source(&builtin, None);
            problems.extend(found);
            catalog.add(platforms, &[&builtin.logos]);
        }
        if let Some(dir) = custom_dir {
            let custom = Source::read_dir(dir);
            let (platforms, found) = check::compile_source(&custom, Some(&builtin.logos));
            problems.extend(found);
            catalog.add(platforms, &[&custom.logos, &builtin.logos]);
        }
        let mut sources = Vec::new();
        if include_builtin {
            sources.push(ActionsSource::builtin());
        }
        if let Some(dir) = custom_dir {
            sources.push(ActionsSource::read_dir(dir));
        }
        let mut files = Vec::new();
        for source in &sources {
            let (compiled, found) =
                source.compile(&|slug: &str| catalog.platforms.contains_key(slug));
            files.extend(compiled);
            problems.extend(found);
        }
        catalog.actions = ActionCatalog::build(files);
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Invalid(problems))
        }
    }

    fn add(&mut self, platforms: Vec<Platform>, logo_sets: &[&BTreeMap<String, Logo>]) {
        for platform in platforms {
            let slug = platform.slug().as_str().to_owned();
            match logo_sets
                .iter()
                .find_map(|set| set.get(platform.logo_file()))
            {
                Some(logo) => self.logos.insert(slug.clone(), logo.clone()),
                None => self.logos.remove(&slug),
            };
            self.platforms.insert(slug, platform);
        }
    }

    pub fn get(&self, slug: &str) -> Option<&Platform> {
        self.platforms.get(slug)
    }

    /// Every platform, ordered by name (case-insensitive), then slug.
    pub fn iter(&self) -> impl Iterator<Item = &Platform> {
        let mut platforms: Vec<&Platform> = self.platforms.values().collect();
        platforms.sort_by(|a, b| {
            a.name()
                .to_lowercase()
                .cmp(&b.name().to_lowercase())
                .then_with(|| a.slug().cmp(b.slug()))
        });
        platforms.into_iter()
    }

    /// Every action of every platform.
    pub fn actions(&self) -> &ActionCatalog {
        &self.actions
    }

    pub fn len(&self) -> usize {
        self.platforms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.platforms.is_empty()
    }

    /// The logo bytes and their content type.
    pub fn logo(&self, slug: &str) -> Option<(&[u8], &'static str)> {
        self.logos
            .get(slug)
            .map(|logo| (logo.bytes(), logo.content_type()))
    }
}
