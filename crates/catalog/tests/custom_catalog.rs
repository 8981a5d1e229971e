//! A custom catalog folder adds platforms and replaces built-in ones with the same slug.

mod support;

use keyway_catalog::auth::AuthKind;
use keyway_catalog::error::CatalogError;
use keyway_catalog::load::Catalog;
use support::{acme_with, CatalogDir, ACME, SVG};

const ZENDESK_OVERRIDE: &str = r#"
slug = "zendesk"
name = "Zendesk (self-hosted proxy)"
category = "Customer Support"
description = "Zendesk through a company proxy."
logo = "zendesk.svg"
docs_url = "https://developer.zendesk.com/api-reference/"
base_url = "https://zendesk-proxy.acme.example.com/api/v2"

[auth]
kind = "bearer"

[[fields]]
name = "token"
label = "Proxy token"
"#;

#[test]
fn custom_folder_adds_and_overrides() {
    let dir = CatalogDir::new();
    dir.platform("acme", ACME)
        .platform("zendesk", ZENDESK_OVERRIDE);
    let builtin = Catalog::builtin().expect("built-in loads");
    let catalog = Catalog::load(true, Some(dir.path())).expect("custom catalog loads");

    assert_eq!(catalog.len(), builtin.len() + 1);
    let acme = catalog.get("acme").expect("acme added");
    assert_eq!(acme.name(), "Acme");

    let zendesk = catalog.get("zendesk").expect("zendesk kept");
    assert_eq!(zendesk.name(), "Zendesk (self-hosted proxy)");
    assert_eq!(zendesk.auth_kind(), AuthKind::Bearer);
    // The override names a logo it does not ship, so the built-in one is used.
    assert_eq!(catalog.logo("zendesk"), builtin.logo("zendesk"));
    assert!(catalog.get("slack").is_some(), "other built-ins stay");
}

#[test]
fn custom_logo_is_served_with_its_content_type() {
    let dir = CatalogDir::new();
    dir.platform("acme", ACME);
    let catalog = Catalog::load(false, Some(dir.path())).expect("loads");
    assert_eq!(catalog.len(), 1);
    let (bytes, content_type) = catalog.logo("acme").expect("logo");
    assert_eq!(bytes, SVG.as_bytes());
    assert_eq!(content_type, "image/svg+xml");
    assert_eq!(catalog.logo("slack"), None);
}

#[test]
fn custom_logo_beats_the_builtin_one() {
    let dir = CatalogDir::new();
    let png = b"\x89PNG\r\n\x1a\n not really";
    dir.platform(
        "acme",
        &acme_with("logo = \"acme.svg\"", "logo = \"slack.png\""),
    )
    .logo("slack.png", png);
    let catalog = Catalog::load(true, Some(dir.path())).expect("loads");
    assert_eq!(catalog.logo("acme"), Some((&png[..], "image/png")));
}

#[test]
fn invalid_custom_file_fails_the_load_with_its_problems() {
    let dir = CatalogDir::new();
    dir.platform("acme", &acme_with("slug = \"acme\"", "slug = \"acme2\""));
    match Catalog::load(true, Some(dir.path())) {
        Err(CatalogError::Invalid(problems)) => {
            assert_eq!(problems.len(), 1, "{problems:#?}");
            assert_eq!(problems[0].file, dir.platform_path("acme"));
            assert_eq!(problems[0].field, "slug");
            let shown = CatalogError::Invalid(problems).to_string();
            assert!(shown.contains("acme.toml: slug: "), "{shown}");
        }
        Ok(_) => panic!("an invalid custom file must fail the load"),
    }
}

#[test]
fn missing_custom_folder_is_a_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope");
    assert!(matches!(
        Catalog::load(true, Some(&missing)),
        Err(CatalogError::Invalid(problems)) if problems.iter().any(|p| p.file == missing.join("platforms"))
    ));
}

#[test]
fn builtin_only_load_matches_builtin() {
    let a = Catalog::load(true, None).expect("loads");
    let b = Catalog::builtin().expect("loads");
    let slugs = |c: &Catalog| c.iter().map(|p| p.slug().to_string()).collect::<Vec<_>>();
    assert_eq!(slugs(&a), slugs(&b));
    assert!(Catalog::load(false, None).expect("empty loads").is_empty());
}
