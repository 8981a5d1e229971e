//! `keyway master-key generate|rotate`.
//!
//! Rotation with a key file (the SQLite default, or KEYWAY_MASTER_KEY_FILE): a new key is generated and
//! put first in the file, every sealed value is re-wrapped under it, then the old key is removed from the
//! file. Interrupted, it resumes: a file that already holds two keys is not given a third.
//! With KEYWAY_MASTER_KEY: put the new key first yourself (`NEW,OLD`), rotate, then drop OLD.

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use keyway_crypto::keyring::Keyring;
use keyway_crypto::master_key::MasterKey;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::keyring_source::{self, KeySource};
use crate::serve::{prepare_backend, start_broker};

pub fn generate() -> anyhow::Result<()> {
    let key = MasterKey::generate();
    println!("{}", key.to_base64().expose_secret());
    eprintln!(
        "master key id {} (set it as KEYWAY_MASTER_KEY, or first in a KEYWAY_MASTER_KEY_FILE)",
        key.id()
    );
    Ok(())
}

pub async fn rotate(config: &Config) -> anyhow::Result<()> {
    let backend = prepare_backend(config)?;
    let (mut keyring, source) = keyring_source::load(config, backend)?;
    if let KeySource::File(path) = &source {
        if keyring.keys().len() == 1 {
            let new = MasterKey::generate();
            eprintln!(
                "generated master key {}; adding it to {}",
                new.id(),
                path.display()
            );
            let mut keys = vec![new];
            keys.extend(copy_keys(&keyring)?);
            keyring_source::write_key_file(path, &keys, false)?;
            keyring = Keyring::new(keys)?;
        } else {
            eprintln!(
                "resuming: {} holds {} keys; re-wrapping under the first",
                path.display(),
                keyring.keys().len()
            );
        }
    }
    let primary = keyring.primary().id().to_owned();
    let primary_key = copy_keys(&keyring)?.remove(0);
    let old: Vec<String> = keyring.keys()[1..]
        .iter()
        .map(|k| k.id().to_owned())
        .collect();
    let (broker, first_start) = start_broker(config, keyring).await?;
    if let Some(first) = &first_start {
        super::print_first_start(first, true);
    }

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} re-wrapping sealed values [{bar:40}] {pos}/{len} ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let report = broker
        .sealer
        .rotate(|p| {
            bar.set_length(p.total);
            bar.set_position(p.done + p.failed);
        })
        .await?;
    bar.finish_and_clear();

    println!(
        "re-wrapped {} sealed value(s) under master key {primary}; {} changed concurrently, {} failed",
        report.rewrapped,
        report.skipped,
        report.failed.len()
    );
    if !report.failed.is_empty() {
        for (id, reason) in &report.failed {
            eprintln!("  could not re-wrap {id}: {reason}");
        }
        bail!(
            "{} value(s) still use an old key; keep the old key(s) configured and run rotate again",
            report.failed.len()
        );
    }
    let leftover = broker.store.sealed_key_usage().await?;
    if let Some(u) = leftover.iter().find(|u| u.key_id != primary) {
        bail!(
            "{} value(s) still use master key {}; run rotate again",
            u.rows,
            u.key_id
        );
    }
    match source {
        KeySource::File(path) => {
            keyring_source::write_key_file(&path, &[primary_key], false)?;
            println!("{} now holds only master key {primary}", path.display());
        }
        KeySource::Inline if !old.is_empty() => {
            println!("you can now remove the old key(s) {} from KEYWAY_MASTER_KEY", old.join(", "));
        }
        KeySource::Inline => println!(
            "every value already used master key {primary}. To rotate, set KEYWAY_MASTER_KEY=NEW,CURRENT \
             (NEW from `keyway master-key generate`) and run this again"
        ),
    }
    Ok(())
}

fn copy_keys(ring: &Keyring) -> anyhow::Result<Vec<MasterKey>> {
    Ok(ring
        .keys()
        .iter()
        .map(|k| MasterKey::from_base64(k.to_base64().expose_secret()))
        .collect::<Result<Vec<_>, _>>()?)
}
