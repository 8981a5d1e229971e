//! Turns a TOML parse or shape error into a `Problem` field path (`fields[2].pattern`).
//! Invariant: the path names the smallest key, value or table whose span holds the error; for
//! "missing field" errors the missing key is appended to its table's path.

use std::ops::Range;

use toml_edit::{ImDocument, Item, TableLike, Value};

/// The dotted field path and a one-line message for a TOML error in `text`.
pub(super) fn describe(text: &str, err: &toml::de::Error) -> (String, String) {
    let message = err.message().trim().replace('\n', "; ");
    let Ok(document) = ImDocument::parse(text) else {
        // Syntax error: no tree to map onto, so point at the line instead.
        let at = err
            .span()
            .map(|span| line_and_column(text, span.start))
            .unwrap_or_default();
        return (String::new(), format!("{at}{message}"));
    };
    let mut path = err
        .span()
        // The document root reports an empty span at 0, which any table starting there holds.
        .filter(|span| span != &(0..0))
        .and_then(|span| innermost(document.as_table(), &span))
        .unwrap_or_default();
    if let Some(missing) = quoted_after(&message, "missing field `") {
        path = join(&path, missing);
    }
    (path, message)
}

fn innermost(root: &dyn TableLike, error: &Range<usize>) -> Option<String> {
    let mut spans = Vec::new();
    walk_table(root, "", &mut spans);
    spans
        .into_iter()
        .filter(|(_, span)| span.start <= error.start && error.end <= span.end)
        .min_by(|(path_a, a), (path_b, b)| {
            (a.end - a.start)
                .cmp(&(b.end - b.start))
                .then(path_b.len().cmp(&path_a.len()))
        })
        .map(|(path, _)| path)
}

fn walk_table(table: &dyn TableLike, path: &str, spans: &mut Vec<(String, Range<usize>)>) {
    for (key, item) in table.iter() {
        let child = join(path, key);
        if let Some(span) = table.key(key).and_then(|key| key.span()) {
            spans.push((child.clone(), span));
        }
        walk_item(item, child, spans);
    }
}

fn walk_item(item: &Item, path: String, spans: &mut Vec<(String, Range<usize>)>) {
    match item {
        Item::None => {}
        Item::Value(value) => walk_value(value, path, spans),
        Item::Table(table) => {
            if let Some(span) = table.span() {
                spans.push((path.clone(), span));
            }
            walk_table(table, &path, spans);
        }
        Item::ArrayOfTables(tables) => {
            for (index, table) in tables.iter().enumerate() {
                let element = format!("{path}[{index}]");
                if let Some(span) = table.span() {
                    spans.push((element.clone(), span));
                }
                walk_table(table, &element, spans);
            }
        }
    }
}

fn walk_value(value: &Value, path: String, spans: &mut Vec<(String, Range<usize>)>) {
    if let Some(span) = value.span() {
        spans.push((path.clone(), span));
    }
    match value {
        Value::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                walk_value(element, format!("{path}[{index}]"), spans);
            }
        }
        Value::InlineTable(table) => walk_table(table, &path, spans),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    rest.find('`').map(|end| &rest[..end])
}

fn line_and_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    format!("line {line}, column {column}: ")
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::describe;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        auth: Auth,
        #[serde(default)]
        fields: Vec<Field>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Auth {
        kind: String,
        oauth2: Option<OAuth2>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct OAuth2 {
        token_url: String,
        #[serde(default)]
        scopes: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Field {
        name: String,
        secret: Option<bool>,
    }

    fn field_of(text: &str) -> String {
        let err = toml::from_str::<Doc>(text).expect_err("document is invalid");
        describe(text, &err).0
    }

    const HEAD: &str = "name = 'x'\n[auth]\nkind = 'basic'\n";

    #[test]
    fn unknown_key_in_nested_table() {
        let text = format!("{HEAD}[auth.oauth2]\ntoken_url = 'u'\ntokn_url = 'v'\n");
        assert_eq!(field_of(&text), "auth.oauth2.tokn_url");
    }

    #[test]
    fn missing_key_in_nested_table() {
        let text = format!("{HEAD}[auth.oauth2]\nscopes = []\n");
        assert_eq!(field_of(&text), "auth.oauth2.token_url");
    }

    #[test]
    fn wrong_type_in_array_of_tables() {
        let text =
            format!("{HEAD}[[fields]]\nname = 'a'\n[[fields]]\nname = 'b'\nsecret = 'yes'\n");
        assert_eq!(field_of(&text), "fields[1].secret");
    }

    #[test]
    fn wrong_type_in_array_element() {
        let text = format!("{HEAD}[auth.oauth2]\ntoken_url = 'u'\nscopes = ['a', 2]\n");
        assert_eq!(field_of(&text), "auth.oauth2.scopes[1]");
    }

    #[test]
    fn missing_top_level_key() {
        assert_eq!(field_of("[auth]\nkind = 'basic'\n"), "name");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let text = "name = 'x'\n[auth\n";
        let err = toml::from_str::<Doc>(text).expect_err("invalid");
        let (field, message) = describe(text, &err);
        assert_eq!(field, "");
        assert!(message.starts_with("line 2,"), "{message}");
    }
}
