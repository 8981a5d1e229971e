//! Typed, prefixed identifiers (`prj_…`, `key_…`): a project id can never be passed where a key id is expected.
//! Ids are UUIDv7 in hex, so they sort by creation time.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// What an id names; fixes its prefix.
pub trait IdKind {
    const PREFIX: &'static str;
}

pub struct Id<K: IdKind> {
    value: String,
    kind: PhantomData<fn() -> K>,
}

/// A fresh, time-ordered id string, `{prefix}_` and a UUIDv7 in lowercase hex: what every id kind,
/// request id and log entry id is. Built in one allocation (passthrough makes two per request).
pub fn time_ordered(prefix: &str) -> String {
    let mut hex = [0u8; uuid::fmt::Simple::LENGTH];
    let hex = uuid::Uuid::now_v7().simple().encode_lower(&mut hex);
    let mut id = String::with_capacity(prefix.len() + 1 + hex.len());
    id.push_str(prefix);
    id.push('_');
    id.push_str(hex);
    id
}

impl<K: IdKind> Id<K> {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self::from_trusted(time_ordered(K::PREFIX))
    }

    /// Wraps a value read back from our own store.
    pub fn from_trusted(value: String) -> Self {
        Self {
            value,
            kind: PhantomData,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn into_string(self) -> String {
        self.value
    }
}

#[derive(Debug, thiserror::Error)]
#[error("malformed id {value:?}: expected {prefix}_ followed by 32 hex characters")]
pub struct MalformedId {
    pub value: String,
    pub prefix: &'static str,
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = MalformedId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s
            .strip_prefix(K::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if ok {
            Ok(Self::from_trusted(s.to_owned()))
        } else {
            Err(MalformedId {
                value: s.chars().take(80).collect(),
                prefix: K::PREFIX,
            })
        }
    }
}

impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self::from_trusted(self.value.clone())
    }
}
impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<K: IdKind> Eq for Id<K> {}
impl<K: IdKind> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}
impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}
impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}
impl<K: IdKind> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.value)
    }
}

pub struct ProjectKind;
impl IdKind for ProjectKind {
    const PREFIX: &'static str = "prj";
}
pub type ProjectId = Id<ProjectKind>;

pub struct SecretKeyKind;
impl IdKind for SecretKeyKind {
    const PREFIX: &'static str = "key";
}
pub type SecretKeyId = Id<SecretKeyKind>;

pub struct OperatorKind;
impl IdKind for OperatorKind {
    const PREFIX: &'static str = "op";
}
/// A dashboard account.
pub type OperatorId = Id<OperatorKind>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_time() {
        let a = ProjectId::generate();
        let b = ProjectId::generate();
        assert!(a.as_str().starts_with("prj_"));
        let request = time_ordered("req");
        assert_eq!(request.len(), 36);
        assert!(request[4..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(a.as_str().parse::<ProjectId>().ok(), Some(a.clone()));
        assert!(a.as_str() < b.as_str());
    }

    #[test]
    fn wrong_prefix_or_shape_is_rejected() {
        let key = SecretKeyId::generate();
        assert!(key.as_str().parse::<ProjectId>().is_err());
        assert!("prj_xyz".parse::<ProjectId>().is_err());
        assert!("prj".parse::<ProjectId>().is_err());
    }
}
