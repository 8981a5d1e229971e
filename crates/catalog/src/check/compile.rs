//! Turns one platform file into a `Platform`, or into the full list of its problems.
//! Invariant: every part is checked even after an earlier part failed, so one run shows the
//! author everything to fix; a TOML error is the one exception (there is no tree to check).

use std::collections::BTreeSet;
use std::path::Path;

use super::report::Report;
use super::{auth, fields, inject, request, toml_error, urls, Problem};
use crate::file::PlatformFile;
use crate::logo;
use crate::platform::Platform;
use crate::slug::Slug;

pub(super) fn platform(
    file: &Path,
    stem: &str,
    text: &str,
    logo_exists: &dyn Fn(&str) -> bool,
) -> Result<Platform, Vec<Problem>> {
    let mut report = Report::new(file);
    let raw: PlatformFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let (field, message) = toml_error::describe(text, &err);
            report.add(field, message);
            return Err(report.into_problems());
        }
    };
    let kind = raw.auth.kind;
    let internal = raw.internal;

    let slug = slug(&mut report, &raw.slug, stem);
    for (key, value) in [
        ("name", &raw.name),
        ("category", &raw.category),
        ("description", &raw.description),
    ] {
        if value.trim().is_empty() {
            report.add(key, "must not be empty");
        }
    }
    check_logo(&mut report, &raw.logo, logo_exists);
    check_tags(&mut report, &raw.tags);
    let docs_url = urls::absolute(&mut report, "docs_url", &raw.docs_url, internal);
    let fields = fields::compile(&mut report, &raw.fields, kind);
    let base_url = urls::base_url(&mut report, &raw.base_url, internal, &fields);
    let oauth2 = auth::compile(&mut report, kind, raw.auth.oauth2, internal, &fields);
    let inject = inject::compile(&mut report, kind, raw.inject, &fields);
    if let (Some(inject), Some(oauth2)) = (&inject, &oauth2) {
        inject::check_secrets_are_sent(&mut report, &fields, inject, oauth2.as_ref());
    }
    let test_request = request::compile(&mut report, raw.test_request, &fields);

    match (slug, docs_url, base_url, oauth2, inject, test_request) {
        (
            Some(slug),
            Some(docs_url),
            Some(base_url),
            Some(oauth2),
            Some(inject),
            Some(test_request),
        ) if report.is_clean() => Ok(Platform {
            slug,
            name: raw.name,
            category: raw.category,
            description: raw.description,
            logo: raw.logo,
            docs_url,
            base_url,
            internal,
            status: raw.status,
            tags: raw.tags,
            auth_kind: kind,
            oauth2,
            fields,
            inject,
            test_request,
        }),
        _ => {
            if report.is_clean() {
                report.add("", "the file could not be checked completely");
            }
            Err(report.into_problems())
        }
    }
}

fn slug(report: &mut Report<'_>, text: &str, stem: &str) -> Option<Slug> {
    let slug = match Slug::parse(text) {
        Ok(slug) => slug,
        Err(err) => {
            report.add("slug", err.to_string());
            return None;
        }
    };
    if slug.as_str() != stem {
        report.add(
            "slug",
            format!("`{slug}` must equal the file name (`{stem}.toml`)"),
        );
        return None;
    }
    Some(slug)
}

fn check_logo(report: &mut Report<'_>, name: &str, logo_exists: &dyn Fn(&str) -> bool) {
    if name.contains(['/', '\\']) || name.starts_with('.') {
        report.add("logo", "must be a plain file name inside logos/");
    } else if logo::content_type_for(name).is_none() {
        report.add("logo", "must be a .svg, .png, .jpg or .webp file");
    } else if !logo_exists(name) {
        report.add("logo", format!("`logos/{name}` does not exist"));
    }
}

fn check_tags(report: &mut Report<'_>, tags: &[String]) {
    let mut seen = BTreeSet::new();
    for (index, tag) in tags.iter().enumerate() {
        if tag.trim().is_empty() {
            report.add(format!("tags[{index}]"), "must not be empty");
        } else if !seen.insert(tag) {
            report.add(format!("tags[{index}]"), format!("duplicate tag `{tag}`"));
        }
    }
}
