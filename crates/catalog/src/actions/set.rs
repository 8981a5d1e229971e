//! Every action of the catalog, by platform and by id, with one search index per platform built on
//! first use. Invariant: ids are unique (an id is derived from platform, method and path, and a later
//! file's action replaces an earlier one with the same id); each platform's actions are ordered by
//! path then method, the order lists and knowledge pages use.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use crate::actions::search::SearchIndex;
use crate::actions::Action;

#[derive(Debug, Clone, Default)]
pub struct ActionCatalog {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_platform: BTreeMap<String, PlatformActions>,
    by_id: HashMap<String, (String, usize)>,
    total: usize,
}

#[derive(Debug, Default)]
struct PlatformActions {
    actions: Vec<Action>,
    index: OnceLock<SearchIndex>,
}

impl ActionCatalog {
    /// Merges files in order: built-in first, then custom ones, which add or replace actions.
    pub fn build(files: Vec<Vec<Action>>) -> Self {
        let mut merged: BTreeMap<String, BTreeMap<(String, &'static str), Action>> =
            BTreeMap::new();
        for action in files.into_iter().flatten() {
            merged.entry(action.platform.clone()).or_default().insert(
                (action.path.as_str().to_owned(), action.method.as_str()),
                action,
            );
        }
        let mut inner = Inner::default();
        for (platform, actions) in merged {
            let actions: Vec<Action> = actions.into_values().collect();
            for (index, action) in actions.iter().enumerate() {
                inner
                    .by_id
                    .insert(action.id.as_str().to_owned(), (platform.clone(), index));
            }
            inner.total += actions.len();
            inner.by_platform.insert(
                platform,
                PlatformActions {
                    actions,
                    index: OnceLock::new(),
                },
            );
        }
        Self {
            inner: Arc::new(inner),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Action> {
        let (platform, index) = self.inner.by_id.get(id)?;
        self.inner.by_platform.get(platform)?.actions.get(*index)
    }

    /// A platform's actions, by path then method (empty for an unknown platform).
    pub fn for_platform(&self, platform: &str) -> &[Action] {
        self.inner
            .by_platform
            .get(platform)
            .map_or(&[], |p| p.actions.as_slice())
    }

    /// Every action, by platform slug, then path, then method.
    pub fn iter(&self) -> impl Iterator<Item = &Action> {
        self.inner
            .by_platform
            .values()
            .flat_map(|p| p.actions.iter())
    }

    /// The platforms that have actions, with their counts.
    pub fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.inner
            .by_platform
            .iter()
            .map(|(slug, p)| (slug.as_str(), p.actions.len()))
    }

    pub fn len(&self) -> usize {
        self.inner.total
    }

    pub fn is_empty(&self) -> bool {
        self.inner.total == 0
    }

    /// The best `limit` actions of `platform` for a natural-language `query`, best first.
    pub fn search(&self, platform: &str, query: &str, limit: usize) -> Vec<&Action> {
        let Some(entry) = self.inner.by_platform.get(platform) else {
            return Vec::new();
        };
        let index = entry
            .index
            .get_or_init(|| SearchIndex::build(&entry.actions));
        index
            .search(query, limit)
            .into_iter()
            .filter_map(|i| entry.actions.get(i))
            .collect()
    }
}
