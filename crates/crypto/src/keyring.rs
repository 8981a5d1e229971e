//! The master keys a server knows: the first is the primary (new seals use it), the rest still open old values.

use crate::error::CryptoError;
use crate::master_key::MasterKey;

#[derive(Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(keys: Vec<MasterKey>) -> Result<Self, CryptoError> {
        if keys.is_empty() {
            return Err(CryptoError::EmptyKeyring);
        }
        let mut unique: Vec<MasterKey> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.iter().any(|k| k.id() == key.id()) {
                unique.push(key);
            }
        }
        Ok(Self { keys: unique })
    }

    /// Parses base64 keys separated by commas, spaces or newlines; `#` starts a comment line.
    /// The first key is the primary.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let keys = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|token| !token.is_empty())
            .map(MasterKey::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys)
    }

    pub fn primary(&self) -> &MasterKey {
        &self.keys[0]
    }

    pub fn get(&self, key_id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id() == key_id)
    }

    pub fn keys(&self) -> &[MasterKey] {
        &self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn first_key_is_primary_and_comments_are_skipped() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        let text = format!(
            "# new key first\n{}\n{}, {}\n",
            a.to_base64().expose_secret(),
            b.to_base64().expose_secret(),
            a.to_base64().expose_secret()
        );
        let ring = Keyring::parse(&text).expect("parses");
        assert_eq!(ring.primary().id(), a.id());
        assert_eq!(ring.keys().len(), 2, "duplicates collapse");
        assert!(ring.get(b.id()).is_some());
    }

    #[test]
    fn empty_is_an_error() {
        assert!(matches!(
            Keyring::parse("# nothing\n"),
            Err(CryptoError::EmptyKeyring)
        ));
    }
}
