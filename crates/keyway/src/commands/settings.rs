//! `keyway settings show|set`: project settings per environment, straight against the configured database.
//! A running server applies a change within its 2 s key cache (at once on Postgres, which notifies it).

use keyway_broker::bootstrap;
use keyway_broker::settings::SettingsChange;
use keyway_core::environment::Environment;
use keyway_core::project::ProjectSettings;
use serde_json::json;

use crate::cli::SettingsCommand;
use crate::config::Config;
use crate::serve::open_broker;

pub async fn run(config: &Config, cmd: SettingsCommand) -> anyhow::Result<()> {
    let (broker, first_start, _) = open_broker(config).await?;
    if let Some(first) = &first_start {
        super::print_first_start(first, true);
    }
    match cmd {
        SettingsCommand::Show { env, project, json } => {
            let project = bootstrap::project_named(&broker.store, project.as_deref()).await?;
            let envs = match env {
                Some(env) => vec![env],
                None => vec![Environment::Test, Environment::Live],
            };
            let mut rows = Vec::new();
            for env in envs {
                rows.push((env, broker.settings(&project.id, env).await?));
            }
            if json {
                let out: Vec<_> = rows.iter().map(|(env, s)| wire(*env, s)).collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                println!("{:<6} REQUIRE ACTION IDS", "ENV");
                for (env, s) in rows {
                    println!("{:<6} {}", env.as_str(), on_off(s.require_action_ids));
                }
            }
        }
        SettingsCommand::Set {
            env,
            project,
            require_action_ids,
            json,
        } => {
            let project = bootstrap::project_named(&broker.store, project.as_deref()).await?;
            let change = SettingsChange { require_action_ids };
            let settings = broker
                .change_settings(&project.id, env, change, &super::cli_actor())
                .await?;
            if json {
                println!("{}", wire(env, &settings));
            } else {
                let requires = if settings.require_action_ids {
                    "requires"
                } else {
                    "does not require"
                };
                println!(
                    "passthrough now {requires} an action id ({env}, project {:?})",
                    project.name
                );
            }
        }
    }
    Ok(())
}

/// The shape `GET /v1/settings` answers with.
fn wire(env: Environment, settings: &ProjectSettings) -> serde_json::Value {
    json!({
        "environment": env.as_str(),
        "requireActionIds": settings.require_action_ids,
    })
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
