//! Each kind of catalog mistake is reported with the right file and field, and all of them at once.

mod support;

use keyway_catalog::check::Problem;
use support::{acme_with, oauth_with, CatalogDir, ACME, OAUTH};

/// Checks a folder holding one file and returns its problems, all of which must name that file.
fn problems_of(stem: &str, text: &str) -> Vec<Problem> {
    let dir = CatalogDir::new();
    dir.platform(stem, text);
    let problems = dir.problems();
    for problem in &problems {
        assert_eq!(problem.file, dir.platform_path(stem), "{problem}");
    }
    problems
}

/// Asserts that a problem exists at `field` whose message contains `needle`.
#[track_caller]
fn assert_problem(problems: &[Problem], field: &str, needle: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.field == field && p.message.contains(needle)),
        "expected a problem at {field:?} containing {needle:?}, got:\n{problems:#?}"
    );
}

#[test]
fn fixtures_are_valid() {
    assert_eq!(problems_of("acme", ACME), []);
    assert_eq!(problems_of("oauthy", OAUTH), []);
}

#[test]
fn toml_syntax_error_names_the_line() {
    let problems = problems_of("acme", &acme_with("[auth]", "[auth"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_problem(&problems, "", "line 10");
}

#[test]
fn unknown_keys_are_typos() {
    assert_problem(
        &problems_of("acme", &format!("colour = 1\n{ACME}")),
        "colour",
        "unknown field",
    );
    assert_problem(
        &problems_of(
            "acme",
            &acme_with("label = \"API key\"", "label = \"API key\"\nsecrit = true"),
        ),
        "fields[1].secrit",
        "unknown field",
    );
    assert_problem(
        &problems_of("oauthy", &oauth_with("default_scopes", "defualt_scopes")),
        "auth.oauth2.defualt_scopes",
        "unknown field",
    );
}

#[test]
fn wrong_types_and_values_name_the_field() {
    assert_problem(
        &problems_of(
            "acme",
            &acme_with("kind = \"api_key\"", "kind = \"apikey\""),
        ),
        "auth.kind",
        "unknown variant",
    );
    assert_problem(
        &problems_of("acme", &acme_with("secret = false", "secret = \"no\"")),
        "fields[0].secret",
        "invalid type",
    );
    assert_problem(
        &problems_of("acme", &acme_with("name = \"Acme\"\n", "")),
        "name",
        "missing field",
    );
}

#[test]
fn slug_must_match_the_file_and_charset() {
    assert_problem(
        &problems_of("acme", &acme_with("slug = \"acme\"", "slug = \"acme-2\"")),
        "slug",
        "file name",
    );
    assert_problem(
        &problems_of("Acme", &acme_with("slug = \"acme\"", "slug = \"Acme\"")),
        "slug",
        "not a slug",
    );
    assert_problem(
        &problems_of("a:b", &acme_with("slug = \"acme\"", "slug = \"a:b\"")),
        "slug",
        "not a slug",
    );
}

#[test]
fn oauth_required_parts() {
    assert_problem(
        &problems_of(
            "oauthy",
            &oauth_with(
                "authorize_url = \"https://oauthy.example.com/authorize\"\n",
                "",
            ),
        ),
        "auth.oauth2.authorize_url",
        "required",
    );
    assert_problem(
        &problems_of(
            "oauthy",
            &oauth_with("token_url = \"https://oauthy.example.com/token\"\n", ""),
        ),
        "auth.oauth2.token_url",
        "required",
    );
    let no_table = OAUTH
        .split("[auth.oauth2]")
        .next()
        .expect("head")
        .to_owned();
    assert_problem(
        &problems_of("oauthy", &no_table),
        "auth.oauth2",
        "needs an [auth.oauth2]",
    );
    let client_credentials = oauth_with("oauth2_authorization_code", "oauth2_client_credentials");
    assert_problem(
        &problems_of("oauthy", &client_credentials),
        "auth.oauth2.authorize_url",
        "only used by",
    );
    assert_problem(
        &problems_of(
            "acme",
            &format!("{ACME}\n[auth.oauth2]\ntoken_url = \"https://x.example.com/t\"\n"),
        ),
        "auth.oauth2",
        "only OAuth kinds",
    );
    assert_problem(
        &problems_of(
            "oauthy",
            &format!("{OAUTH}\n[auth.oauth2.token_response]\naccess_token = \"authed_user.access_token\"\n"),
        ),
        "auth.oauth2.token_response.access_token",
        "JSON Pointer",
    );
}

#[test]
fn issuer_rules() {
    let with = |extra: &str| format!("{OAUTH}issuer = {extra}\n");
    assert_eq!(
        problems_of(
            "oauthy",
            &format!("{OAUTH}issuer = \"https://oauthy.example.com\"\nauthorization_response_iss = true\n")
        ),
        []
    );
    assert_problem(
        &problems_of("oauthy", &with("\"oauthy.example.com\"")),
        "auth.oauth2.issuer",
        "not an absolute URL",
    );
    assert_problem(
        &problems_of("oauthy", &with("\"http://oauthy.example.com\"")),
        "auth.oauth2.issuer",
        "https",
    );
    assert_problem(
        &problems_of("oauthy", &with("\"https://oauthy.example.com/?tenant=1\"")),
        "auth.oauth2.issuer",
        "query or fragment",
    );
    assert_problem(
        &problems_of(
            "oauthy",
            &format!("{OAUTH}authorization_response_iss = true\n"),
        ),
        "auth.oauth2.authorization_response_iss",
        "needs `issuer`",
    );
    let client_credentials = oauth_with("oauth2_authorization_code", "oauth2_client_credentials")
        .replace(
            "authorize_url = \"https://oauthy.example.com/authorize\"\n",
            "",
        );
    assert_problem(
        &problems_of(
            "oauthy",
            &format!("{client_credentials}issuer = \"https://oauthy.example.com\"\n"),
        ),
        "auth.oauth2.issuer",
        "only used by",
    );
}

#[test]
fn credential_kinds_need_secret_fields_and_injection() {
    let no_secret = acme_with("secret = true", "secret = false");
    assert_problem(
        &problems_of("acme", &no_secret),
        "fields",
        "at least one secret field",
    );

    let basic_without_source = acme_with("kind = \"api_key\"", "kind = \"basic\"");
    assert_problem(
        &problems_of("acme", &basic_without_source),
        "inject.basic",
        "username and password",
    );

    let api_key_without_inject =
        acme_with("[inject]\nheaders = { X-Api-Key = \"{{apiKey}}\" }\n", "");
    assert_problem(
        &problems_of("acme", &api_key_without_inject),
        "inject",
        "where the key goes",
    );
}

#[test]
fn secret_fields_must_be_sent() {
    let text = acme_with(
        "[inject]",
        "[[fields]]\nname = \"unused\"\nlabel = \"Unused\"\nsecret = true\n\n[inject]",
    );
    assert_problem(
        &problems_of("acme", &text),
        "fields[2].secret",
        "never sent",
    );
}

#[test]
fn none_kind_takes_no_secrets_or_injection() {
    let none = acme_with("kind = \"api_key\"", "kind = \"none\"");
    let problems = problems_of("acme", &none);
    assert_problem(&problems, "fields[1].secret", "no secrets");
    assert_problem(&problems, "inject", "send no credentials");
}

#[test]
fn urls_must_be_https_and_public() {
    let http = acme_with("docs_url = \"https://", "docs_url = \"http://");
    assert_problem(&problems_of("acme", &http), "docs_url", "https");
    let ip = acme_with("https://docs.acme.example.com/api", "https://10.0.0.1/api");
    assert_problem(&problems_of("acme", &ip), "docs_url", "IP address");
    let local = acme_with("https://docs.acme.example.com/api", "https://localhost/api");
    assert_problem(&problems_of("acme", &local), "docs_url", "local host");
    let not_a_url = acme_with("https://docs.acme.example.com/api", "docs.acme.example.com");
    assert_problem(
        &problems_of("acme", &not_a_url),
        "docs_url",
        "not an absolute URL",
    );
    let token_http = oauth_with("token_url = \"https://", "token_url = \"http://");
    assert_problem(
        &problems_of("oauthy", &token_http),
        "auth.oauth2.token_url",
        "https",
    );
}

#[test]
fn internal_platforms_may_use_http_and_loopback() {
    let internal = acme_with(
        "docs_url = \"https://docs.acme.example.com/api\"",
        "internal = true\ndocs_url = \"http://127.0.0.1:9999/docs\"",
    )
    .replace(
        "https://{{subdomain}}.acme.example.com/api",
        "http://{{subdomain}}.acme.localhost:9999",
    );
    assert_eq!(problems_of("acme", &internal), []);
}

#[test]
fn base_url_rules() {
    let undeclared = acme_with("{{subdomain}}.acme", "{{tenant}}.acme");
    assert_problem(
        &problems_of("acme", &undeclared),
        "base_url",
        "not a declared field",
    );
    let secret = acme_with("{{subdomain}}.acme", "{{apiKey}}.acme");
    assert_problem(&problems_of("acme", &secret), "base_url", "secret field");
    let whole_host = acme_with(
        "https://{{subdomain}}.acme.example.com/api",
        "https://{{subdomain}}/api",
    );
    assert_problem(
        &problems_of("acme", &whole_host),
        "base_url",
        "fixed domain",
    );
    let trailing = acme_with(
        "{{subdomain}}.acme.example.com/api\"",
        "{{subdomain}}.acme.example.com/api/\"",
    );
    assert_problem(
        &problems_of("acme", &trailing),
        "base_url",
        "must not end with `/`",
    );
    let unclosed = acme_with("{{subdomain}}.acme", "{{subdomain.acme");
    assert_problem(&problems_of("acme", &unclosed), "base_url", "never closed");
}

#[test]
fn inject_templates_name_declared_fields() {
    let undeclared = acme_with("{{apiKey}}\" }", "{{apiKee}}\" }");
    let problems = problems_of("acme", &undeclared);
    assert_problem(
        &problems,
        "inject.headers.X-Api-Key",
        "not a declared field",
    );
    let access_token = acme_with("{{apiKey}}\" }", "{{accessToken}}\" }");
    assert_problem(
        &problems_of("acme", &access_token),
        "inject.headers.X-Api-Key",
        "`{{accessToken}}`",
    );
    let bad_header = acme_with("X-Api-Key =", "\"X Api Key\" =");
    assert_problem(
        &problems_of("acme", &bad_header),
        "inject.headers.X Api Key",
        "header name",
    );
}

#[test]
fn field_rules() {
    let bad_pattern = acme_with("'^[a-z]+$'", "'^[a-z+$'");
    assert_problem(
        &problems_of("acme", &bad_pattern),
        "fields[0].pattern",
        "does not compile",
    );
    let duplicate = acme_with("name = \"apiKey\"", "name = \"subdomain\"");
    assert_problem(
        &problems_of("acme", &duplicate),
        "fields[1].name",
        "duplicate field name",
    );
    let bad_name = acme_with("name = \"subdomain\"", "name = \"sub-domain\"");
    assert_problem(
        &problems_of("acme", &bad_name),
        "fields[0].name",
        "not a field name",
    );
}

#[test]
fn logo_must_exist() {
    let missing = acme_with("logo = \"acme.svg\"", "logo = \"nope.svg\"");
    assert_problem(&problems_of("acme", &missing), "logo", "does not exist");
    let gif = acme_with("logo = \"acme.svg\"", "logo = \"acme.gif\"");
    assert_problem(&problems_of("acme", &gif), "logo", ".svg");
}

#[test]
fn test_request_rules() {
    let relative = acme_with("path = \"/me\"", "path = \"me\"");
    assert_problem(
        &problems_of("acme", &relative),
        "test_request.path",
        "start with `/`",
    );
    let secret_path = acme_with("path = \"/me\"", "path = \"/keys/{{apiKey}}\"");
    assert_problem(
        &problems_of("acme", &secret_path),
        "test_request.path",
        "secret field",
    );
    let method = acme_with("path = \"/me\"", "path = \"/me\"\nmethod = \"FETCH\"");
    assert_problem(
        &problems_of("acme", &method),
        "test_request.method",
        "not one of",
    );
    let body = acme_with(
        "path = \"/me\"",
        "path = \"/me\"\nmethod = \"POST\"\nbody = '{nope'",
    );
    assert_problem(&problems_of("acme", &body), "test_request.body", "JSON");
    let status = acme_with(
        "path = \"/me\"",
        "path = \"/me\"\nexpect_status = [200, 999]",
    );
    assert_problem(
        &problems_of("acme", &status),
        "test_request.expect_status[1]",
        "not an HTTP status",
    );
}

#[test]
fn every_problem_in_a_file_is_reported() {
    let text = acme_with("slug = \"acme\"", "slug = \"wrong\"")
        .replace("logo = \"acme.svg\"", "logo = \"nope.svg\"")
        .replace("'^[a-z]+$'", "'('")
        .replace("path = \"/me\"", "path = \"me\"");
    let problems = problems_of("acme", &text);
    for field in ["slug", "logo", "fields[0].pattern", "test_request.path"] {
        assert!(
            problems.iter().any(|p| p.field == field),
            "{field} missing from {problems:#?}"
        );
    }
}

#[test]
fn problems_of_every_file_are_reported() {
    let dir = CatalogDir::new();
    dir.platform("acme", &acme_with("slug = \"acme\"", "slug = \"acme-1\""))
        .platform("oauthy", &oauth_with("token_url", "tokn_url"))
        .platform("fine", &acme_with("slug = \"acme\"", "slug = \"fine\""));
    let problems = dir.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems
        .iter()
        .any(|p| p.file == dir.platform_path("acme") && p.field == "slug"));
    assert!(problems
        .iter()
        .any(|p| p.file == dir.platform_path("oauthy") && p.field == "auth.oauth2.tokn_url"));
}

#[test]
fn stray_files_are_reported() {
    let dir = CatalogDir::new();
    std::fs::write(dir.path().join("platforms").join("acme.tml"), ACME).expect("write");
    let problems = dir.problems();
    assert_problem(&problems, "", ".toml");
}

#[test]
fn problem_display_is_file_field_message() {
    let problems = problems_of("acme", &acme_with("slug = \"acme\"", "slug = \"acme-2\""));
    let shown = problems[0].to_string();
    assert!(
        shown.ends_with("acme.toml: slug: `acme-2` must equal the file name (`acme.toml`)"),
        "{shown}"
    );
}
