//! `keyway integrations enable|disable|oauth-app|list`: straight against the configured database.

use anyhow::Context;
use keyway_broker::bootstrap;
use keyway_broker::integrations::{IntegrationChange, OAuthAppChange};
use secrecy::SecretString;
use serde_json::json;

use crate::cli::IntegrationsCommand;
use crate::config::Config;
use crate::serve::open_broker;

pub async fn run(config: &Config, cmd: IntegrationsCommand) -> anyhow::Result<()> {
    let (broker, first_start, _) = open_broker(config).await?;
    if let Some(first) = &first_start {
        super::print_first_start(first, true);
    }
    let public_url = config.public_url()?;
    match cmd {
        IntegrationsCommand::Enable {
            platform,
            env,
            project,
        } => {
            set_enabled(&broker, &platform, env, project.as_deref(), true).await?;
        }
        IntegrationsCommand::Disable {
            platform,
            env,
            project,
        } => {
            set_enabled(&broker, &platform, env, project.as_deref(), false).await?;
        }
        IntegrationsCommand::OauthApp {
            platform,
            env,
            project,
            client_id,
            client_secret_file,
            scopes,
        } => {
            let project = bootstrap::project_named(&broker.store, project.as_deref()).await?;
            let secret = std::fs::read_to_string(&client_secret_file)
                .with_context(|| format!("cannot read {}", client_secret_file.display()))?;
            let change = IntegrationChange {
                enabled: None,
                oauth_app: Some(OAuthAppChange::Set {
                    client_id,
                    client_secret: Some(SecretString::from(secret.trim().to_owned())),
                    scopes,
                }),
            };
            broker
                .change_integration(&project.id, env, &platform, change, &super::cli_actor())
                .await?;
            println!(
                "saved the OAuth app for {platform} ({env}, project {:?})",
                project.name
            );
            println!("register this redirect URI with {platform}: {public_url}/connections/oauth/callback");
        }
        IntegrationsCommand::List {
            env,
            project,
            enabled,
            json,
        } => {
            let project = bootstrap::project_named(&broker.store, project.as_deref()).await?;
            let all = broker.integrations(&project.id, env).await?;
            let rows: Vec<_> = all.iter().filter(|i| !enabled || i.enabled()).collect();
            if json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|i| {
                        let app = i.settings.as_ref().and_then(|s| s.oauth_app.as_ref());
                        json!({
                            "platform": i.platform.slug().as_str(),
                            "name": i.platform.name(),
                            "authKind": i.platform.auth_kind().as_str(),
                            "enabled": i.enabled(),
                            "oauthApp": app.map(|a| json!({
                                "clientId": a.client_id,
                                "clientSecretDisplay": a.client_secret_hint,
                                "scopes": a.scopes,
                            })),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                println!(
                    "{:<20} {:<26} {:<28} {:<8} OAUTH APP",
                    "PLATFORM", "NAME", "AUTH", "AUTHKIT"
                );
                for i in rows {
                    let app = i
                        .settings
                        .as_ref()
                        .and_then(|s| s.oauth_app.as_ref())
                        .map(|a| a.client_id.clone())
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "{:<20} {:<26} {:<28} {:<8} {}",
                        i.platform.slug().as_str(),
                        i.platform.name(),
                        i.platform.auth_kind().as_str(),
                        if i.enabled() { "on" } else { "off" },
                        app
                    );
                }
            }
        }
    }
    Ok(())
}

async fn set_enabled(
    broker: &keyway_broker::Broker,
    platform: &str,
    env: keyway_core::environment::Environment,
    project: Option<&str>,
    enabled: bool,
) -> anyhow::Result<()> {
    let project = bootstrap::project_named(&broker.store, project).await?;
    let change = IntegrationChange {
        enabled: Some(enabled),
        ..IntegrationChange::default()
    };
    broker
        .change_integration(&project.id, env, platform, change, &super::cli_actor())
        .await?;
    let shown = if enabled { "shown in" } else { "hidden from" };
    println!(
        "{platform} is now {shown} AuthKit ({env}, project {:?})",
        project.name
    );
    Ok(())
}
