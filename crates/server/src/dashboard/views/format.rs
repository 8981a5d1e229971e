//! How values read on pages: times (UTC here, relative and local once the script runs), counts.

use keyway_core::timestamp::Timestamp;

/// A time for `<time datetime="{iso}" data-relative>{text}</time>`.
#[derive(Debug, Clone)]
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn of(t: Timestamp) -> Self {
        let dt = t.to_datetime();
        Self {
            iso: t.to_rfc3339(),
            text: format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute()
            ),
        }
    }
}

/// `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Query-string value, encoded.
pub fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A query string ready for one more parameter: `a=1&`, or nothing.
pub fn with_amp(query: String) -> String {
    if query.is_empty() {
        query
    } else {
        query + "&"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_times_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(1_234_567), "1,234,567");
        let w = When::of(Timestamp::from_unix_millis(1_768_035_600_000));
        assert_eq!(w.text, "2026-01-10 09:00 UTC");
        assert_eq!(w.iso, "2026-01-10T09:00:00Z");
    }
}
