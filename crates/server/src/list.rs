//! List query strings and the list reply shape shared by every list route (pica-compat §4):
//! `skip` (0-based) or `page` (1-based), `skip` winning; `limit` default 20, capped at 1000 and reported
//! as applied; `pages = max(1, ceil(total / limit))`. Unknown or repeated parameters are a 400: fail closed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 1000;
const PAGING: [&str; 3] = ["limit", "page", "skip"];

/// The paging parameters every list takes, for the document (the bound is [`MAX_PAGING_NUMBER`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Rows per page: default 20; clamped to 1–1000, and the reply reports the limit applied.
    #[param(minimum = 0, maximum = 2147483647)]
    pub limit: Option<u32>,
    /// 1-based page (0 reads as 1); `skip` wins when both are given.
    #[param(minimum = 0, maximum = 2147483647)]
    pub page: Option<u32>,
    /// Rows to skip, 0-based; wins over `page`.
    #[param(minimum = 0, maximum = 2147483647)]
    pub skip: Option<u32>,
}

/// Decoded query parameters (form decoding: `+` is a space), paging removed.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub params: BTreeMap<String, String>,
    pub skip: u64,
    pub limit: u32,
}

impl ListQuery {
    /// Parses `raw` accepting only `allowed` filters plus the paging parameters.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let known: Vec<&str> = allowed.iter().chain(PAGING.iter()).copied().collect();
        let mut params = decode_query(raw, &known)?;
        let limit = match params.remove("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => parse_number("limit", &v)?.clamp(1, MAX_LIMIT),
        };
        let page = params
            .remove("page")
            .map(|v| parse_number("page", &v))
            .transpose()?;
        let skip = match (params.remove("skip"), page) {
            (Some(v), _) => u64::from(parse_number("skip", &v)?),
            (None, Some(page)) => u64::from(page.max(1) - 1) * u64::from(limit),
            (None, None) => 0,
        };
        Ok(Self {
            params,
            skip,
            limit,
        })
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        self.params.remove(name)
    }

    /// A boolean filter: `true` or `false`.
    pub fn take_bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.take(name).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("The query parameter {name:?} must be true or false"),
            )),
        }
    }

    /// A comma-separated list; empty items are dropped.
    pub fn take_list(&mut self, name: &str) -> Option<Vec<String>> {
        self.take(name).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

/// A query's parameters, decoded the one way every route decodes them: form decoding (`+` is a space,
/// `%XX` a byte), each name and value valid UTF-8 once decoded and values without NUL (no stored text
/// has one, and PostgreSQL cannot compare it), only `allowed` names, none repeated.
/// Anything else is a 400 naming the parameter: a filter is never silently widened or mangled.
pub fn decode_query(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut params = BTreeMap::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(name).map_err(|lossy| {
            ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "The query parameter name {:?} is not valid UTF-8 once percent-decoded",
                    truncate(&lossy)
                ),
            )
        })?;
        if !allowed.contains(&name.as_str()) {
            let mut known = allowed.to_vec();
            known.sort_unstable();
            return Err(ApiError::bad_request(
                "unknown_parameter",
                format!(
                    "Unknown query parameter {:?}; this route accepts: {}",
                    truncate(&name),
                    known.join(", ")
                ),
            ));
        }
        let value = form_decode(value).map_err(|_| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("The query parameter {name:?} is not valid UTF-8 once percent-decoded"),
            )
        })?;
        if value.contains('\0') {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("The query parameter {name:?} must not contain NUL (%00)"),
            ));
        }
        if params.contains_key(&name) {
            return Err(ApiError::bad_request(
                "duplicate_parameter",
                format!(
                    "The query parameter {:?} was given more than once",
                    truncate(&name)
                ),
            ));
        }
        params.insert(name, value);
    }
    Ok(params)
}

/// `application/x-www-form-urlencoded` decoding of one name or value; `Err` carries the lossy text when
/// the decoded bytes are not UTF-8.
fn form_decode(encoded: &str) -> Result<String, String> {
    let plus_as_space = encoded.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The largest paging number (`skip`, `page`, `limit`) a list accepts: every list can honour it, and the
/// numbers in its reply stay exact in any JSON client.
pub const MAX_PAGING_NUMBER: u32 = i32::MAX as u32;

/// A non-negative whole number in decimal digits, at most [`MAX_PAGING_NUMBER`].
pub fn parse_number(name: &str, value: &str) -> Result<u32, ApiError> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u32>().ok())
        .flatten()
        .filter(|n| *n <= MAX_PAGING_NUMBER)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "The query parameter {name:?} must be a whole number from 0 to {MAX_PAGING_NUMBER}"
                ),
            )
        })
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// `{"rows":[…],"total":57,"page":1,"pages":3,"skip":0,"limit":20}`
#[derive(Debug, Serialize)]
pub struct ListReply<T: Serialize> {
    pub rows: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

impl<T: Serialize> ListReply<T> {
    pub fn new(rows: Vec<T>, total: u64, skip: u64, limit: u32) -> Self {
        let limit64 = u64::from(limit.max(1));
        Self {
            rows,
            total,
            page: skip / limit64 + 1,
            pages: total.div_ceil(limit64).max(1),
            skip,
            limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_follows_the_contract() {
        let q = ListQuery::parse(Some("page=3&limit=100"), &[]).expect("ok");
        assert_eq!((q.skip, q.limit), (200, 100));
        let q = ListQuery::parse(Some("page=3&skip=5&limit=10"), &[]).expect("ok");
        assert_eq!(q.skip, 5, "skip wins");
        let q = ListQuery::parse(None, &[]).expect("ok");
        assert_eq!((q.skip, q.limit), (0, DEFAULT_LIMIT));
        let q = ListQuery::parse(Some("limit=100000"), &[]).expect("ok");
        assert_eq!(q.limit, MAX_LIMIT);
        let reply = ListReply::<u8>::new(vec![], 57, 40, 20);
        assert_eq!((reply.page, reply.pages), (3, 3));
        let reply = ListReply::<u8>::new(vec![], 0, 0, 20);
        assert_eq!((reply.page, reply.pages), (1, 1));
    }

    #[test]
    fn unknown_repeated_and_malformed_parameters_fail_closed() {
        let e = ListQuery::parse(Some("identity=a&bogus=1"), &["identity"]).expect_err("unknown");
        assert_eq!(e.code, "unknown_parameter");
        let e = ListQuery::parse(Some("identity=a&identity=b"), &["identity"]).expect_err("dup");
        assert_eq!(e.code, "duplicate_parameter");
        let e = ListQuery::parse(Some("limit=-1"), &[]).expect_err("neg");
        assert_eq!(e.code, "invalid_parameter");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_by_name() {
        let e = ListQuery::parse(Some("identity=%FF%FE"), &["identity"]).expect_err("value");
        assert_eq!(e.code, "invalid_parameter");
        assert!(e.message.contains("\"identity\""), "{}", e.message);
        let e = ListQuery::parse(Some("%FF=1"), &["identity"]).expect_err("name");
        assert_eq!(e.code, "invalid_parameter");
        let q = ListQuery::parse(Some("identity=%C3%A9%2B+x"), &["identity"]).expect("utf-8");
        assert_eq!(q.params["identity"], "é+ x");
    }

    #[test]
    fn paging_numbers_are_plain_digits_within_bounds() {
        for bad in [
            "skip=+1",
            "skip=%201",
            "skip=1.0",
            "skip=",
            "skip=2147483648",
            "page=-1",
        ] {
            let e = ListQuery::parse(Some(bad), &[]).expect_err(bad);
            assert_eq!(e.code, "invalid_parameter", "{bad}");
        }
        let q = ListQuery::parse(Some("skip=2147483647"), &[]).expect("max");
        assert_eq!(q.skip, 2_147_483_647);
        let q = ListQuery::parse(Some("page=2147483647&limit=1000"), &[]).expect("max page");
        assert_eq!(q.skip, 2_147_483_646 * 1000);
    }

    #[test]
    fn form_decoding_and_lists() {
        let mut q =
            ListQuery::parse(Some("name=a+b&keys=k1%7Cu,k2|u"), &["name", "keys"]).expect("ok");
        assert_eq!(q.take("name").as_deref(), Some("a b"));
        assert_eq!(
            q.take_list("keys"),
            Some(vec!["k1|u".to_string(), "k2|u".to_string()])
        );
    }
}
