//! A connection's opened credentials: field name → value (`apiKey`, `accessToken`, `refreshToken`, …).
//! Redacted `Debug`, no `Serialize`, zeroized on drop; sealed as JSON under the connection's AAD.

use std::collections::BTreeMap;

use zeroize::Zeroize;

pub const ACCESS_TOKEN: &str = "accessToken";
pub const REFRESH_TOKEN: &str = "refreshToken";

#[derive(Clone, Default)]
pub struct Credentials {
    values: BTreeMap<String, String>,
}

impl Credentials {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &str, value: String) {
        if let Some(mut old) = self.values.insert(name.to_owned(), value) {
            old.zeroize();
        }
    }

    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    pub fn to_json(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(serde_json::to_vec(&self.values).unwrap_or_default())
    }

    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok().map(Self::new)
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        for value in self.values.values_mut() {
            value.zeroize();
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("fields", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}
