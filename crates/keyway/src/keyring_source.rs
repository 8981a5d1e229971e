//! Where the master keyring comes from: `master_key` (env/config), else `master_key_file`, else — SQLite
//! only — `{data_dir}/master.key`, generated with mode 0600 on first start. Postgres deployments share one
//! database across nodes, so they must be given a key explicitly; there is never a plaintext fallback.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use keyway_crypto::keyring::Keyring;
use keyway_crypto::master_key::MasterKey;
use keyway_store::backend::Backend;
use secrecy::ExposeSecret;

use crate::config::Config;

pub const DEFAULT_KEY_FILE: &str = "master.key";

#[derive(Debug)]
pub enum KeySource {
    /// `KEYWAY_MASTER_KEY` or `master_key` in the file.
    Inline,
    /// A key file we may rewrite during rotation.
    File(PathBuf),
}

pub fn load(config: &Config, backend: Backend) -> anyhow::Result<(Keyring, KeySource)> {
    if let Some(inline) = &config.master_key {
        let ring =
            Keyring::parse(inline.expose_secret()).context("KEYWAY_MASTER_KEY is invalid")?;
        return Ok((ring, KeySource::Inline));
    }
    if let Some(path) = &config.master_key_file {
        return Ok((read_file(path)?, KeySource::File(path.clone())));
    }
    if backend == Backend::Postgres {
        bail!(
            "PostgreSQL needs an explicit master key shared by every node: set KEYWAY_MASTER_KEY or \
             KEYWAY_MASTER_KEY_FILE (generate one with `keyway master-key generate`)"
        );
    }
    let path = config.data_dir().join(DEFAULT_KEY_FILE);
    if !path.exists() {
        write_key_file(&path, &[MasterKey::generate()], true)?;
        tracing::warn!(
            path = %path.display(),
            "generated a new master key; back this file up: without it the stored credentials cannot be opened"
        );
    }
    Ok((read_file(&path)?, KeySource::File(path)))
}

fn read_file(path: &Path) -> anyhow::Result<Keyring> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read master key file {}", path.display()))?;
    Keyring::parse(&text).with_context(|| format!("master key file {} is invalid", path.display()))
}

/// Writes keys (newest first) with mode 0600. `create_new` refuses to overwrite; otherwise the file is
/// replaced atomically (write beside, then rename).
pub fn write_key_file(path: &Path, keys: &[MasterKey], create_new: bool) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text =
        String::from("# Keyway master keys, newest first. Keep this file secret and backed up.\n");
    for key in keys {
        text.push_str(key.to_base64().expose_secret());
        text.push('\n');
    }
    let target = if create_new {
        path.to_path_buf()
    } else {
        path.with_extension("key.tmp")
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if !create_new {
        std::fs::rename(&target, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}
