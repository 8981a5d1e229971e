//! Change notifications between nodes. On Postgres, a change is announced with `pg_notify` and every node
//! listens, so caches drop what changed at once. The payload names what changed: a connection id, or a
//! prefixed key id or project id (the broker defines the prefixes). SQLite is one node: nothing to do.

use futures_util::Stream;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::Store;

pub const CHANNEL: &str = "keyway_connection_changed";

impl Store {
    /// Tells every node that what `payload` names changed (a connection's credentials, tags, state or
    /// deletion; a revoked key; a project's settings).
    pub async fn announce_change(&self, payload: &str) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Payloads announced by any node, as they arrive. `None` on SQLite.
    pub async fn connection_changes(
        &self,
    ) -> Result<Option<impl Stream<Item = String> + Send + 'static>, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url)
            .await
            .map_err(StoreError::Connect)?;
        listener.listen(CHANNEL).await?;
        let stream = futures_util::stream::unfold(listener, |mut listener| async move {
            loop {
                match listener.recv().await {
                    Ok(n) => return Some((n.payload().to_owned(), listener)),
                    Err(e) => {
                        // PgListener reconnects by itself on the next recv; pause so a dead server
                        // does not spin this loop.
                        tracing::warn!(error = %e, "connection change listener interrupted");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(stream))
    }
}
