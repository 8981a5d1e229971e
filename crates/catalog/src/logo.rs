//! Platform logos served to the connect UI.
//! Invariant: a [`Logo`] has a known image content type derived from its file extension.

use std::borrow::Cow;
use std::path::Path;

/// Largest logo file accepted, to keep the binary and responses small.
pub const MAX_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    bytes: Cow<'static, [u8]>,
    content_type: &'static str,
}

impl Logo {
    /// `None` when the file name's extension is not a supported image type.
    pub fn new(file_name: &str, bytes: Cow<'static, [u8]>) -> Option<Self> {
        content_type_for(file_name).map(|content_type| Self {
            bytes,
            content_type,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn content_type(&self) -> &'static str {
        self.content_type
    }
}

pub fn content_type_for(file_name: &str) -> Option<&'static str> {
    let extension = Path::new(file_name).extension()?.to_str()?;
    match extension.to_ascii_lowercase().as_str() {
        "svg" => Some("image/svg+xml"),
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::content_type_for;

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("a.svg"), Some("image/svg+xml"));
        assert_eq!(content_type_for("a.PNG"), Some("image/png"));
        assert_eq!(content_type_for("a.gif"), None);
        assert_eq!(content_type_for("svg"), None);
    }
}
