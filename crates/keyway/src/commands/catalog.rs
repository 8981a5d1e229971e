//! `keyway catalog check` and `keyway catalog import-openapi`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

pub fn check(custom: Option<PathBuf>) -> anyhow::Result<()> {
    let mut problems = keyway_catalog::check::check_builtin();
    if let Some(dir) = &custom {
        if !dir.is_dir() {
            bail!("catalog directory {} does not exist", dir.display());
        }
        problems.extend(keyway_catalog::check::check_dir(dir));
    }
    for problem in &problems {
        println!("{problem}");
    }
    if !problems.is_empty() {
        bail!("{} problem(s) in the catalog", problems.len());
    }
    let catalog = keyway_catalog::load::Catalog::load(true, custom.as_deref())?;
    println!(
        "catalog OK: {} platforms, {} actions",
        catalog.len(),
        catalog.actions().len()
    );
    Ok(())
}

/// `keyway catalog import-openapi FILE --platform SLUG [--out DIR] [--source LABEL]`.
pub fn import_openapi(
    config: &crate::config::Config,
    file: &Path,
    platform: &str,
    out: &Path,
    source: Option<String>,
) -> anyhow::Result<()> {
    let catalog = keyway_catalog::load::Catalog::load(true, config.catalog_dir.as_deref())?;
    let Some(platform) = catalog.get(platform) else {
        bail!("no platform {platform:?} in the catalog");
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} operations")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("importing {}", file.display()));
    let imported = keyway_catalog::openapi::import(&text, platform, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let source = source.unwrap_or_else(|| {
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let count = imported.actions.len();
    let slug = platform.slug().as_str();
    let (path, total) =
        keyway_catalog::openapi::write::merge_into(out, slug, &source, imported.actions)?;
    println!(
        "{slug}: imported {count} action(s) into {} ({total} in the file)",
        path.display()
    );
    if !imported.skipped.is_empty() {
        let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for skip in &imported.skipped {
            reasons
                .entry(skip.reason.as_str())
                .or_default()
                .push(skip.operation.as_str());
        }
        println!(
            "skipped {} operation(s) it cannot represent:",
            imported.skipped.len()
        );
        for (reason, operations) in reasons {
            let shown: Vec<&str> = operations.iter().take(3).copied().collect();
            let more = operations.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(", … {more} more")
            } else {
                String::new()
            };
            println!(
                "  {} × {reason} (e.g. {}{more})",
                operations.len(),
                shown.join(", ")
            );
        }
    }
    Ok(())
}
