//! How catalog platforms appear on the wire: logo URLs and the stable numeric ids Pica's shapes carry.

use keyway_catalog::platform::Platform;

/// `{public_url}/logos/{slug}`, served by `routes::logos`.
pub fn image_url(public_url: &str, platform: &Platform) -> String {
    format!("{public_url}/logos/{}", platform.slug().as_str())
}

/// A stable number for a string (FNV-1a, kept below 2^53 so JavaScript reads it exactly).
pub fn numeric_id(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= u64::from(b'|');
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for byte in part.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash & ((1 << 53) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_are_stable_distinct_and_safe_in_javascript() {
        assert_eq!(numeric_id(&["slack"]), numeric_id(&["slack"]));
        assert_ne!(numeric_id(&["slack"]), numeric_id(&["github"]));
        assert_ne!(numeric_id(&["a", "bc"]), numeric_id(&["ab", "c"]));
        assert!(numeric_id(&["anything"]) < (1 << 53));
    }
}
