//! A throwaway catalog folder for tests: write platform files and logos, then check or load it.
#![allow(dead_code)] // each test binary uses a different part

use std::fs;
use std::path::{Path, PathBuf};

use keyway_catalog::check::{check_dir, Problem};
use tempfile::TempDir;

/// A valid `api_key` platform using a templated base URL, a pattern and a test request.
pub const ACME: &str = r#"
slug = "acme"
name = "Acme"
category = "CRM"
description = "A test platform."
logo = "acme.svg"
docs_url = "https://docs.acme.example.com/api"
base_url = "https://{{subdomain}}.acme.example.com/api"

[auth]
kind = "api_key"

[[fields]]
name = "subdomain"
label = "Subdomain"
secret = false
pattern = '^[a-z]+$'

[[fields]]
name = "apiKey"
label = "API key"
secret = true

[inject]
headers = { X-Api-Key = "{{apiKey}}" }

[test_request]
path = "/me"
"#;

/// A valid authorization-code platform.
pub const OAUTH: &str = r#"
slug = "oauthy"
name = "OAuthy"
category = "CRM"
description = "A test OAuth platform."
logo = "acme.svg"
docs_url = "https://docs.oauthy.example.com"
base_url = "https://api.oauthy.example.com/v1"

[auth]
kind = "oauth2_authorization_code"

[auth.oauth2]
authorize_url = "https://oauthy.example.com/authorize"
token_url = "https://oauthy.example.com/token"
default_scopes = ["read", "write"]
"#;

pub const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#123456"/></svg>"##;

pub struct CatalogDir {
    dir: TempDir,
}

impl CatalogDir {
    /// An empty catalog folder with `platforms/` and a `logos/acme.svg`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir(dir.path().join("platforms")).expect("platforms dir");
        fs::create_dir(dir.path().join("logos")).expect("logos dir");
        let catalog = Self { dir };
        catalog.logo("acme.svg", SVG.as_bytes());
        catalog
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn platform_path(&self, stem: &str) -> PathBuf {
        self.path().join("platforms").join(format!("{stem}.toml"))
    }

    pub fn platform(&self, stem: &str, text: &str) -> &Self {
        fs::write(self.platform_path(stem), text).expect("write platform");
        self
    }

    pub fn logo(&self, name: &str, bytes: &[u8]) -> &Self {
        fs::write(self.path().join("logos").join(name), bytes).expect("write logo");
        self
    }

    pub fn problems(&self) -> Vec<Problem> {
        check_dir(self.path())
    }
}

/// `ACME` with one substring replaced; panics if the substring is absent so tests stay honest.
pub fn acme_with(from: &str, to: &str) -> String {
    replaced(ACME, from, to)
}

pub fn oauth_with(from: &str, to: &str) -> String {
    replaced(OAUTH, from, to)
}

fn replaced(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "test fixture has no {from:?}");
    base.replacen(from, to, 1)
}
