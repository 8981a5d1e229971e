//! Sealing and opening secrets against the store, the start-up keyring check, and master-key rotation.
//! Invariant: plaintext goes in and comes out only here; the store receives `SealedBlob`s.

use std::sync::Arc;

use keyway_core::timestamp::Timestamp;
use keyway_crypto::envelope::{self, Aad};
use keyway_crypto::keyed_hash::KeyedHasher;
use keyway_crypto::keyring::Keyring;
use keyway_crypto::random;
use keyway_store::sealed::SealedRow;
use keyway_store::Store;
use secrecy::{ExposeSecret, SecretSlice};

use crate::error::BrokerError;

/// Scope of server-wide secrets (not owned by a project).
pub const SERVER_SCOPE: &str = "server";
const PEPPER_ID: &str = "server/secret-key-pepper";
const PEPPER_PURPOSE: &str = "server.secret-key-pepper";
const ROTATE_BATCH: u32 = 200;

#[derive(Clone, Debug)]
pub struct Sealer {
    store: Store,
    keyring: Arc<Keyring>,
}

/// Progress of a rotation, reported after each batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct RotateProgress {
    pub total: u64,
    pub done: u64,
    pub failed: u64,
}

#[derive(Debug, Default)]
pub struct RotateReport {
    pub rewrapped: u64,
    /// Values that could not be re-wrapped (id, reason). They still open with their old key.
    pub failed: Vec<(String, String)>,
    /// Values changed by someone else during the run; the next run picks them up if needed.
    pub skipped: u64,
}

impl Sealer {
    pub fn new(store: Store, keyring: Keyring) -> Self {
        Self {
            store,
            keyring: Arc::new(keyring),
        }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn seal(&self, id: &str, scope: &str, purpose: &str, plaintext: &[u8]) -> SealedRow {
        let blob = envelope::seal(&self.keyring, &Aad::new(purpose, scope, id), plaintext);
        SealedRow {
            id: id.to_owned(),
            scope: scope.to_owned(),
            purpose: purpose.to_owned(),
            blob,
        }
    }

    pub fn open(&self, row: &SealedRow) -> Result<SecretSlice<u8>, BrokerError> {
        let aad = Aad::new(&row.purpose, &row.scope, &row.id);
        Ok(envelope::open(&self.keyring, &aad, &row.blob)?)
    }

    /// Refuses a keyring that cannot be the one this database was sealed with, or that lacks a key some
    /// sealed value still needs. Records newly configured keys (first start, or a key added for rotation).
    pub async fn check_keyring(&self) -> Result<(), BrokerError> {
        let known = self.store.known_master_keys().await?;
        let configured = self.keyring.keys();
        if !known.is_empty() {
            let recognised = configured.iter().any(|k| {
                known
                    .iter()
                    .any(|kn| kn.key_id == k.id() && kn.fingerprint == k.fingerprint())
            });
            if !recognised {
                return Err(BrokerError::WrongMasterKey {
                    known: known
                        .iter()
                        .map(|k| k.key_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    configured: configured
                        .iter()
                        .map(|k| k.id())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        for usage in self.store.sealed_key_usage().await? {
            if self.keyring.get(&usage.key_id).is_none() {
                return Err(BrokerError::MasterKeyMissing {
                    key_id: usage.key_id,
                    rows: usage.rows,
                });
            }
        }
        let now = Timestamp::now();
        for key in configured {
            self.store
                .remember_master_key(key.id(), key.fingerprint(), now)
                .await?;
        }
        Ok(())
    }

    /// The pepper for keyed hashes of secret keys: random, created once, sealed like any other secret.
    pub async fn secret_key_hasher(&self) -> Result<KeyedHasher, BrokerError> {
        if self.store.sealed(PEPPER_ID).await?.is_none() {
            let row = self.seal(
                PEPPER_ID,
                SERVER_SCOPE,
                PEPPER_PURPOSE,
                &random::bytes::<32>(),
            );
            // Another node may win this race; everyone then reads the winner's pepper.
            self.store
                .insert_sealed_if_absent(&row, Timestamp::now())
                .await?;
        }
        let row = self.store.sealed(PEPPER_ID).await?.ok_or_else(|| {
            keyway_store::error::StoreError::Corrupt("secret-key pepper vanished".into())
        })?;
        let pepper = self.open(&row)?;
        Ok(KeyedHasher::new(SecretSlice::from(
            pepper.expose_secret().to_vec(),
        )))
    }

    /// Re-wraps every sealed value not yet under the primary key. Resumable: it only ever looks at values
    /// still under an old key, so an interrupted run continues where it stopped.
    pub async fn rotate(
        &self,
        mut progress: impl FnMut(RotateProgress),
    ) -> Result<RotateReport, BrokerError> {
        let primary = self.keyring.primary().id().to_owned();
        let total: i64 = self
            .store
            .sealed_key_usage()
            .await?
            .iter()
            .filter(|u| u.key_id != primary)
            .map(|u| u.rows)
            .sum();
        let mut state = RotateProgress {
            total: total.max(0) as u64,
            ..RotateProgress::default()
        };
        progress(state);
        let mut report = RotateReport::default();
        let mut after = String::new();
        loop {
            let batch = self
                .store
                .sealed_not_under(&primary, &after, ROTATE_BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.id.clone();
            for row in &batch {
                let aad = Aad::new(&row.purpose, &row.scope, &row.id);
                match envelope::rewrap(&self.keyring, &aad, &row.blob) {
                    Ok(new_blob) => {
                        if self
                            .store
                            .replace_sealed_blob(&row.id, &row.blob, &new_blob, Timestamp::now())
                            .await?
                        {
                            report.rewrapped += 1;
                        } else {
                            report.skipped += 1;
                        }
                        state.done += 1;
                    }
                    Err(e) => {
                        tracing::warn!(id = %row.id, error = %e, "could not re-wrap sealed value");
                        report.failed.push((row.id.clone(), e.to_string()));
                        state.failed += 1;
                    }
                }
            }
            progress(state);
        }
        if report.failed.is_empty() {
            self.store.forget_unused_master_keys(&primary).await?;
        }
        Ok(report)
    }
}
