//! `keyway keys create|list|revoke`: straight against the configured database.

use keyway_broker::bootstrap;
use keyway_core::project::SecretKeyRecord;
use serde_json::json;

use crate::cli::KeysCommand;
use crate::config::Config;
use crate::serve::open_broker;

pub async fn run(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    let (broker, first_start, _) = open_broker(config).await?;
    if let Some(first) = &first_start {
        super::print_first_start(first, true);
    }
    match cmd {
        KeysCommand::Create {
            env,
            project,
            name,
            json,
        } => {
            let actor = super::cli_actor();
            let project =
                bootstrap::ensure_project(&broker.store, project.as_deref(), &actor).await?;
            let minted = broker.keys.create(&project.id, env, name, &actor).await?;
            if json {
                let out = json!({
                    "key": minted.key.expose(),
                    "id": minted.record.id,
                    "project": project.name,
                    "environment": env.as_str(),
                    "createdAt": minted.record.created_at.to_rfc3339(),
                });
                println!("{out}");
            } else {
                println!("{}", minted.key.expose());
                eprintln!(
                    "Created {} ({} key of project {:?}). It is shown only this once.",
                    minted.record.id, env, project.name
                );
            }
        }
        KeysCommand::List { project, json } => {
            let project_id = match project.as_deref() {
                Some(name) => Some(
                    bootstrap::project_named(&broker.store, Some(name))
                        .await?
                        .id,
                ),
                None => None,
            };
            let keys = broker.keys.list(project_id.as_ref()).await?;
            let projects = broker.store.list_projects().await?;
            let name_of = |k: &SecretKeyRecord| {
                projects
                    .iter()
                    .find(|p| p.id == k.project_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default()
            };
            if json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({
                            "id": k.id,
                            "project": name_of(k),
                            "environment": k.environment.as_str(),
                            "hint": k.hint,
                            "createdAt": k.created_at.to_rfc3339(),
                            "revokedAt": k.revoked_at.map(|t| t.to_rfc3339()),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:<37} {:<16} {:<5} {:<16} {:<21} STATUS",
                    "ID", "PROJECT", "ENV", "KEY", "CREATED"
                );
                for k in &keys {
                    let status = match k.revoked_at {
                        Some(t) => format!("revoked {}", t.to_rfc3339()),
                        None => "active".into(),
                    };
                    println!(
                        "{:<37} {:<16} {:<5} {:<16} {:<21} {}",
                        k.id,
                        name_of(k),
                        k.environment.as_str(),
                        k.hint,
                        k.created_at.to_rfc3339(),
                        status
                    );
                }
            }
        }
        KeysCommand::Revoke { id_or_key } => {
            let record = broker.keys.revoke(&id_or_key, &super::cli_actor()).await?;
            println!(
                "revoked {} ({} key {})",
                record.id, record.environment, record.hint
            );
        }
    }
    Ok(())
}
