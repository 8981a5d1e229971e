//! Platform slugs: the stable identifier of a platform and the stem of its catalog file.
//! Invariant: a [`Slug`] matches `[a-z0-9][a-z0-9-]*`, is at most 64 bytes, and so never holds
//! `:` or `|` (which other layers use as separators).

use std::borrow::Borrow;
use std::fmt;

pub const MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a slug: use lowercase letters, digits and `-`, starting with a letter or digit, at most 64 characters")]
pub struct SlugError(pub String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, SlugError> {
        let mut bytes = text.bytes();
        let first_ok =
            matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if first_ok && rest_ok && text.len() <= MAX_LEN {
            Ok(Self(text.to_owned()))
        } else {
            Err(SlugError(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for Slug {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Slug;

    #[test]
    fn accepts_catalog_style_slugs() {
        for ok in ["zendesk", "google-drive", "1password", "a"] {
            assert_eq!(Slug::parse(ok).expect("valid").as_str(), ok);
        }
    }

    #[test]
    fn rejects_separators_and_case() {
        for bad in [
            "",
            "-a",
            "Zendesk",
            "a:b",
            "a|b",
            "a_b",
            "a b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
