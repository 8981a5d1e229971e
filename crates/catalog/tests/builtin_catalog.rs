//! Data-driven checks over every platform file shipped in `catalog/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use keyway_catalog::auth::AuthKind;
use keyway_catalog::check::{check_builtin, check_dir};
use keyway_catalog::load::Catalog;

const CATEGORIES: [&str; 13] = [
    "Accounting",
    "AI",
    "Commerce & Payments",
    "Communication",
    "CRM",
    "Customer Support",
    "Data & Search",
    "Developer Tools",
    "Email",
    "File Storage",
    "Media",
    "Productivity",
    "Project Management",
];

fn catalog_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../catalog")
}

fn stems_on_disk() -> Vec<String> {
    let mut stems: Vec<String> = fs::read_dir(catalog_dir().join("platforms"))
        .expect("catalog/platforms exists")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| {
            path.file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    stems.sort();
    stems
}

fn builtin() -> Catalog {
    Catalog::builtin().unwrap_or_else(|err| panic!("built-in catalog must load: {err}"))
}

#[test]
fn builtin_catalog_has_no_problems() {
    let problems = check_builtin();
    assert!(problems.is_empty(), "problems:\n{problems:#?}");
}

#[test]
fn catalog_folder_on_disk_has_no_problems() {
    let problems = check_dir(&catalog_dir());
    assert!(problems.is_empty(), "problems:\n{problems:#?}");
}

#[test]
fn every_file_on_disk_is_a_loaded_platform() {
    let catalog = builtin();
    let stems = stems_on_disk();
    for stem in &stems {
        let platform = catalog
            .get(stem)
            .unwrap_or_else(|| panic!("{stem}.toml did not load"));
        assert_eq!(platform.slug().as_str(), stem);
    }
    assert_eq!(catalog.len(), stems.len());
}

#[test]
fn at_least_forty_platforms() {
    assert!(builtin().len() >= 40, "only {} platforms", builtin().len());
}

#[test]
fn every_auth_kind_is_covered() {
    let kinds: BTreeSet<AuthKind> = builtin().iter().map(|p| p.auth_kind()).collect();
    for kind in AuthKind::ALL {
        assert!(kinds.contains(&kind), "no built-in platform uses {kind}");
    }
}

#[test]
fn categories_come_from_a_small_set() {
    for platform in builtin().iter() {
        assert!(
            CATEGORIES.contains(&platform.category()),
            "{}: unexpected category {:?}",
            platform.slug(),
            platform.category()
        );
    }
}

#[test]
fn iteration_is_sorted_by_name() {
    let names: Vec<String> = builtin().iter().map(|p| p.name().to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn every_platform_has_a_well_formed_svg_logo() {
    let catalog = builtin();
    for platform in catalog.iter() {
        let (bytes, content_type) = catalog
            .logo(platform.slug().as_str())
            .unwrap_or_else(|| panic!("{}: no logo", platform.slug()));
        assert_eq!(content_type, "image/svg+xml", "{}", platform.slug());
        let text = std::str::from_utf8(bytes).expect("svg is UTF-8");
        let document = roxmltree::Document::parse(text)
            .unwrap_or_else(|err| panic!("{}: logo is not XML: {err}", platform.slug()));
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{}", platform.slug());
        assert_eq!(
            root.attribute("viewBox"),
            Some("0 0 64 64"),
            "{}",
            platform.slug()
        );
    }
}

#[test]
fn oauth_platforms_inject_the_access_token() {
    for platform in builtin().iter().filter(|p| p.is_oauth()) {
        assert!(platform.oauth2().is_some(), "{}", platform.slug());
        let injection = platform.injection();
        assert!(
            injection.variables().contains("accessToken"),
            "{} does not send the access token",
            platform.slug()
        );
    }
    for platform in builtin().iter().filter(|p| !p.is_oauth()) {
        assert!(platform.oauth2().is_none(), "{}", platform.slug());
    }
}

#[test]
fn credential_platforms_send_every_secret_field() {
    for platform in builtin().iter() {
        let sent = platform.injection().variables();
        let client = platform
            .oauth2()
            .and_then(|o| o.client_credentials.as_ref())
            .map(|c| {
                c.client_secret
                    .variables()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for field in platform.secret_fields() {
            assert!(
                sent.contains(field.name.as_str()) || client.contains(&field.name),
                "{}: secret field {} is never sent",
                platform.slug(),
                field.name
            );
        }
    }
}

#[test]
fn google_platforms_ask_for_offline_access() {
    for slug in ["gmail", "google-calendar", "google-drive", "google-sheets"] {
        let platform = builtin().get(slug).cloned().expect("google platform");
        let oauth = platform.oauth2().expect("oauth");
        assert_eq!(
            oauth.authorize_url.as_ref().map(|u| u.as_str()),
            Some("https://accounts.google.com/o/oauth2/v2/auth")
        );
        assert_eq!(
            oauth.token_url.as_str(),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(
            oauth
                .extra_authorize_params
                .get("access_type")
                .map(String::as_str),
            Some("offline")
        );
        assert!(oauth.pkce);
    }
}

#[test]
fn provider_quirks_are_recorded() {
    let catalog = builtin();
    let slack = catalog
        .get("slack")
        .and_then(|p| p.oauth2())
        .expect("slack oauth");
    assert_eq!(slack.scope_separator, ",");
    assert_eq!(
        slack.scope_param(&slack.default_scopes),
        "channels:read,chat:write,users:read"
    );

    let github = catalog
        .get("github")
        .and_then(|p| p.oauth2())
        .expect("github oauth");
    assert_eq!(
        github
            .token_request_headers
            .get("Accept")
            .map(String::as_str),
        Some("application/json")
    );

    let notion = catalog
        .get("notion")
        .and_then(|p| p.oauth2())
        .expect("notion oauth");
    assert_eq!(notion.client_auth, keyway_catalog::auth::ClientAuth::Basic);
    assert_eq!(
        notion.token_request_encoding,
        keyway_catalog::auth::TokenEncoding::Json
    );

    let paypal = catalog.get("paypal").expect("paypal");
    assert_eq!(paypal.auth_kind(), AuthKind::OAuth2ClientCredentials);
    assert!(paypal.oauth2().is_some_and(|o| o.authorize_url.is_none()));

    let monday = catalog.get("monday").expect("monday");
    assert_eq!(
        monday
            .injection()
            .headers
            .get("Authorization")
            .map(|t| t.as_str()),
        Some("{{apiToken}}")
    );
}

#[test]
fn bearer_default_uses_the_only_secret_field() {
    let stripe = builtin().get("stripe").cloned().expect("stripe");
    assert_eq!(
        stripe
            .injection()
            .headers
            .get("Authorization")
            .map(|t| t.as_str()),
        Some("Bearer {{secretKey}}")
    );
}
