//! Ranked text search over one platform's actions: BM25 over weighted fields (title, key, path
//! words, tags, description, parameter names) with light stemming, synonyms (send↔create,
//! list↔get all, email↔message, issue↔ticket…) and a prior from the verb's usual HTTP method.
//! Invariant: pure and deterministic: equal scores keep catalog order.

use std::collections::HashMap;

use crate::actions::{Action, Method};

const K1: f32 = 1.2;
const B: f32 = 0.3;
const SYNONYM_WEIGHT: f32 = 0.5;
/// Synonyms of generic verbs (create, list, get, update, delete) weigh little: the method prior
/// already carries the verb, and "send" must not pull in every "create".
const VERB_SYNONYM_WEIGHT: f32 = 0.15;
const VERB_GROUPS: usize = 5;

const STOPWORDS: &[&str] = &[
    "a", "an", "the", "to", "for", "of", "in", "on", "by", "with", "and", "or", "my", "me", "i",
    "from", "into", "at", "as", "is", "it", "this", "that", "be", "are", "you", "your", "can",
    "please", "some", "using", "via", "api",
];

/// Words that mean the same thing in a request; every word maps to its whole group.
const SYNONYMS: &[&[&str]] = &[
    &[
        "create", "send", "post", "add", "new", "make", "write", "insert", "submit",
    ],
    &["list", "all", "browse", "enumerate"],
    &["get", "retrieve", "fetch", "read", "show", "view", "detail"],
    &["update", "edit", "modify", "change", "rename", "patch"],
    &["delete", "remove", "destroy", "trash", "erase"],
    &["email", "mail", "message", "gmail"],
    &["issue", "ticket", "bug"],
    &["repo", "repository"],
    &["user", "member", "people", "person"],
    &["channel", "conversation"],
    &["file", "document", "doc"],
    &["event", "meeting", "appointment"],
    &["customer", "client"],
    &["charge", "payment", "pay"],
    &["comment", "reply"],
    &["pr", "pull"],
    &["spreadsheet", "sheet"],
    &["folder", "directory"],
    &["task", "todo"],
    &["search", "find", "query", "lookup"],
    &["sms", "text", "message"],
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    List,
    Get,
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    docs: Vec<Doc>,
    document_frequency: HashMap<String, u32>,
    average_length: f32,
}

#[derive(Debug, Clone)]
struct Doc {
    terms: HashMap<String, f32>,
    length: f32,
    title_terms: Vec<String>,
    method: Method,
    item_path: bool,
    segments: usize,
    /// The words of the last literal path segment: the resource the action acts on.
    resource: Vec<String>,
    /// That segment as written, lowercased (`send` in `/messages/send`).
    last_literal: String,
}

impl SearchIndex {
    /// Indexes `actions` (one platform's); results refer to positions in that slice.
    pub fn build(actions: &[Action]) -> Self {
        let mut document_frequency: HashMap<String, u32> = HashMap::new();
        let mut docs = Vec::with_capacity(actions.len());
        for action in actions {
            let mut terms: HashMap<String, f32> = HashMap::new();
            // Each field counts a word once: repeats inside a long description say little.
            let mut add = |text: &str, weight: f32| {
                let mut seen: Vec<String> = tokens(text).collect();
                seen.sort();
                seen.dedup();
                for token in seen {
                    *terms.entry(token).or_default() += weight;
                }
            };
            add(&action.title, 3.0);
            add(&action.key, 1.5);
            for literal in action.path.literals() {
                add(literal, 2.0);
            }
            for tag in &action.tags {
                add(tag, 1.5);
            }
            add(&action.description, 0.4);
            for p in &action.parameters {
                add(&p.name, 0.2);
            }
            if let Some(props) = action
                .body
                .as_ref()
                .and_then(|b| b.schema.get("properties"))
                .and_then(|p| p.as_object())
            {
                for name in props.keys() {
                    add(name, 0.2);
                }
            }
            for term in terms.keys() {
                *document_frequency.entry(term.clone()).or_default() += 1;
            }
            let length = terms.values().sum();
            docs.push(Doc {
                terms,
                length,
                title_terms: {
                    let mut t: Vec<String> = tokens(&action.title).collect();
                    t.sort();
                    t.dedup();
                    t
                },
                method: action.method,
                item_path: action.path.ends_with_variable(),
                resource: action
                    .path
                    .literals()
                    .last()
                    .map(|l| tokens(l).collect())
                    .unwrap_or_default(),
                last_literal: action
                    .path
                    .literals()
                    .last()
                    .map(|l| {
                        l.trim_matches(|c: char| !c.is_alphanumeric())
                            .to_lowercase()
                    })
                    .unwrap_or_default(),
                segments: action.path.segment_count(),
            });
        }
        let average_length = if docs.is_empty() {
            1.0
        } else {
            docs.iter().map(|d| d.length).sum::<f32>() / docs.len() as f32
        };
        Self {
            docs,
            document_frequency,
            average_length: average_length.max(1.0),
        }
    }

    /// Positions of the best `limit` matches, best first; nothing when no word matches.
    pub fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        let words: Vec<String> = tokens(query).collect();
        let intent = intent(&words);
        // The things asked about ("issue" in "list issues"), with their synonyms.
        let mut objects: Vec<String> = Vec::new();
        for word in words.iter().filter(|w| intent_of(w).is_none()) {
            objects.push(stem(word));
            for group in SYNONYMS[VERB_GROUPS..]
                .iter()
                .filter(|g| g.contains(&word.as_str()))
            {
                objects.extend(group.iter().map(|s| stem(s)));
            }
        }
        let mut weights: HashMap<String, f32> = HashMap::new();
        for word in &words {
            raise(&mut weights, word, 1.0);
            for (index, group) in SYNONYMS.iter().enumerate() {
                if !group.contains(&word.as_str()) {
                    continue;
                }
                let weight = if index < VERB_GROUPS {
                    VERB_SYNONYM_WEIGHT
                } else {
                    SYNONYM_WEIGHT
                };
                for synonym in group.iter() {
                    raise(&mut weights, synonym, weight);
                }
            }
        }
        let n = self.docs.len() as f32;
        let mut scored: Vec<(usize, f32)> = self
            .docs
            .iter()
            .enumerate()
            .filter_map(|(index, doc)| {
                let mut score = 0.0;
                for (term, weight) in &weights {
                    let Some(tf) = doc.terms.get(term) else {
                        continue;
                    };
                    let df = self.document_frequency.get(term).copied().unwrap_or(0) as f32;
                    let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                    let norm = K1 * (1.0 - B + B * doc.length / self.average_length);
                    score += weight * idf * tf * (K1 + 1.0) / (tf + norm);
                }
                (score > 0.0).then(|| {
                    let coverage = title_coverage(doc, &weights);
                    let resource = if doc.resource.iter().any(|t| objects.contains(t))
                        || words.contains(&doc.last_literal)
                    {
                        1.3
                    } else {
                        1.0
                    };
                    let prior = prior(doc, intent);
                    (index, score * prior * resource * (0.6 + 0.8 * coverage))
                })
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.into_iter().take(limit).map(|(i, _)| i).collect()
    }
}

/// The share of the title's words the query asked for (synonyms included, weighted).
fn title_coverage(doc: &Doc, weights: &HashMap<String, f32>) -> f32 {
    if doc.title_terms.is_empty() {
        return 0.0;
    }
    let matched: f32 = doc
        .title_terms
        .iter()
        .filter_map(|t| weights.get(t))
        .map(|w| w.max(0.5))
        .sum();
    (matched / doc.title_terms.len() as f32).min(1.0)
}

fn raise(weights: &mut HashMap<String, f32>, term: &str, weight: f32) {
    let entry = weights.entry(stem(term)).or_default();
    *entry = entry.max(weight);
}

/// What the query asks to do, from its first verb.
fn intent(words: &[String]) -> Option<Intent> {
    words.iter().find_map(|w| intent_of(w))
}

fn intent_of(word: &str) -> Option<Intent> {
    match word {
        "list" | "all" | "browse" | "search" | "find" => Some(Intent::List),
        "get" | "retrieve" | "fetch" | "read" | "show" | "view" => Some(Intent::Get),
        "create" | "send" | "post" | "add" | "new" | "make" | "write" | "insert" | "submit"
        | "upload" | "invite" | "open" => Some(Intent::Create),
        "update" | "edit" | "modify" | "change" | "rename" | "patch" => Some(Intent::Update),
        "delete" | "remove" | "destroy" | "trash" | "erase" => Some(Intent::Delete),
        _ => None,
    }
}

/// Favours the method the verb implies, collection paths for "list", and short paths.
fn prior(doc: &Doc, intent: Option<Intent>) -> f32 {
    let method = match (intent, doc.method) {
        (Some(Intent::List), Method::Get) => {
            if doc.item_path {
                1.2
            } else {
                1.5
            }
        }
        (Some(Intent::Get), Method::Get) => 1.5,
        (Some(Intent::Create), Method::Post) => 1.5,
        (Some(Intent::Create), Method::Put) => 1.2,
        (Some(Intent::Update), Method::Patch | Method::Put) => 1.5,
        (Some(Intent::Update), Method::Post) => 1.1,
        (Some(Intent::Delete), Method::Delete) => 1.5,
        (None, Method::Delete) => 0.85,
        (None, Method::Put | Method::Patch) => 0.9,
        (None, _) => 1.0,
        _ => 0.8,
    };
    method / (1.0 + 0.02 * doc.segments as f32)
}

/// Lowercase words, camelCase and snake_case split, stopwords dropped, plurals stemmed.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    split_words(text)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
}

fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && previous_lower && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
            current.extend(c.to_lowercase());
        } else {
            previous_lower = false;
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Light plural stemming: `issues` → `issue`, `repositories` → `repository`, `addresses` → `address`.
fn stem(word: &str) -> String {
    let n = word.len();
    if n > 4 && word.ends_with("ies") {
        format!("{}y", &word[..n - 3])
    } else if n > 4
        && (word.ends_with("sses")
            || word.ends_with("shes")
            || word.ends_with("ches")
            || word.ends_with("xes"))
    {
        word[..n - 2].to_owned()
    } else if n > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        word[..n - 1].to_owned()
    } else {
        word.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{split_words, stem};

    #[test]
    fn words_and_stems() {
        assert_eq!(
            split_words("chat.postMessage /repos/{{owner}}/issues_list"),
            ["chat", "post", "message", "repos", "owner", "issues", "list"]
        );
        assert_eq!(stem("issues"), "issue");
        assert_eq!(stem("repositories"), "repository");
        assert_eq!(stem("addresses"), "address");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("messages"), "message");
    }
}
