//! Integration settings per (project, environment, platform): shown in AuthKit or not, and the
//! customer's own OAuth app. The client secret is a sealed value referenced by id; only a hint is here.

use keyway_core::audit::AuditEvent;
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::insert_audit;
use crate::error::StoreError;
use crate::sealed::SealedRow;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationSettings {
    pub project_id: ProjectId,
    pub environment: Environment,
    pub platform: String,
    pub enabled: bool,
    pub oauth_app: Option<OAuthApp>,
    pub activated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The customer's OAuth client. The secret itself is in `sealed_secrets` under `client_secret_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret_id: Option<String>,
    /// E.g. `••••••••3xYz`.
    pub client_secret_hint: Option<String>,
    /// Space-separated override of the platform's default scopes.
    pub scopes: Option<String>,
}

const COLUMNS: &str = "project_id, environment, platform, enabled, client_id, client_secret_id, \
    client_secret_hint, scopes, activated_at, created_at, updated_at";

impl Store {
    pub async fn integrations(
        &self,
        project: &ProjectId,
        environment: Environment,
    ) -> Result<Vec<IntegrationSettings>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM integrations WHERE project_id = $1 AND environment = $2 ORDER BY platform"
        );
        let rows = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(environment.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(settings_from_row).collect()
    }

    pub async fn integration(
        &self,
        project: &ProjectId,
        environment: Environment,
        platform: &str,
    ) -> Result<Option<IntegrationSettings>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM integrations WHERE project_id = $1 AND environment = $2 AND platform = $3"
        );
        let row = sqlx::query(&sql)
            .bind(project.as_str())
            .bind(environment.as_str())
            .bind(platform)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(settings_from_row).transpose()
    }

    /// Writes the settings, and the sealed client secret when given, in one transaction.
    pub async fn put_integration(
        &self,
        settings: &IntegrationSettings,
        client_secret: Option<&SealedRow>,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if let Some(secret) = client_secret {
            sqlx::query(
                "INSERT INTO sealed_secrets (id, scope, purpose, key_id, blob, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, blob = excluded.blob, \
                 updated_at = excluded.updated_at",
            )
            .bind(&secret.id)
            .bind(&secret.scope)
            .bind(&secret.purpose)
            .bind(secret.blob.key_id())
            .bind(secret.blob.as_bytes())
            .bind(settings.updated_at.unix_millis())
            .execute(&mut *tx)
            .await?;
        }
        let app = settings.oauth_app.as_ref();
        sqlx::query(&format!(
            "INSERT INTO integrations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (project_id, environment, platform) DO UPDATE SET enabled = excluded.enabled, \
             client_id = excluded.client_id, client_secret_id = excluded.client_secret_id, \
             client_secret_hint = excluded.client_secret_hint, scopes = excluded.scopes, \
             activated_at = excluded.activated_at, updated_at = excluded.updated_at"
        ))
        .bind(settings.project_id.as_str())
        .bind(settings.environment.as_str())
        .bind(&settings.platform)
        .bind(i64::from(settings.enabled))
        .bind(app.map(|a| a.client_id.clone()))
        .bind(app.and_then(|a| a.client_secret_id.clone()))
        .bind(app.and_then(|a| a.client_secret_hint.clone()))
        .bind(app.and_then(|a| a.scopes.clone()))
        .bind(settings.activated_at.map(Timestamp::unix_millis))
        .bind(settings.created_at.unix_millis())
        .bind(settings.updated_at.unix_millis())
        .execute(&mut *tx)
        .await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn settings_from_row(row: &AnyRow) -> Result<IntegrationSettings, StoreError> {
    let environment: String = row.try_get("environment")?;
    let client_id: Option<String> = row.try_get("client_id")?;
    Ok(IntegrationSettings {
        project_id: ProjectId::from_trusted(row.try_get("project_id")?),
        environment: environment
            .parse()
            .map_err(|_| StoreError::Corrupt("integration environment".into()))?,
        platform: row.try_get("platform")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        oauth_app: match client_id {
            Some(client_id) => Some(OAuthApp {
                client_id,
                client_secret_id: row.try_get("client_secret_id")?,
                client_secret_hint: row.try_get("client_secret_hint")?,
                scopes: row.try_get("scopes")?,
            }),
            None => None,
        },
        activated_at: row
            .try_get::<Option<i64>, _>("activated_at")?
            .map(Timestamp::from_unix_millis),
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}
