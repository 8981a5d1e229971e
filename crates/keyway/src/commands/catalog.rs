//! `keyway catalog check`.

use std::path::PathBuf;

use anyhow::bail;

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
    println!("catalog OK: {} platforms", catalog.len());
    Ok(())
}
