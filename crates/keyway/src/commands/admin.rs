//! `keyway admin create|reset-password|list`: dashboard accounts, on the database directly. No password
//! passes on the command line: each account chooses its own through the one-time link printed here.

use keyway_broker::operators::links::Link;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::cli::AdminCommand;
use crate::config::Config;
use crate::serve::open_broker;

pub async fn run(config: &Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let (broker, first_start, _) = open_broker(config).await?;
    if let Some(first) = &first_start {
        super::print_first_start(first, true);
    }
    let public_url = config.public_url()?;
    match cmd {
        AdminCommand::Create { email, role } => {
            let (operator, link) = broker
                .create_operator(&email, role, &super::cli_actor())
                .await?;
            println!("{}", password_url(&public_url, &link));
            eprintln!(
                "Created the {role} account {}. Send its holder the link above: it works once, until {}, \
                 and lets them choose a password.",
                operator.email,
                link.expires_at.to_rfc3339()
            );
        }
        AdminCommand::ResetPassword { email } => {
            let (operator, link) = broker
                .password_reset_link(&email, &super::cli_actor())
                .await?;
            println!("{}", password_url(&public_url, &link));
            eprintln!(
                "Open the link above to choose a new password for {} (it works once, until {}). Their \
                 current password keeps working until then; every session ends when it is used.",
                operator.email,
                link.expires_at.to_rfc3339()
            );
        }
        AdminCommand::List { json } => {
            let operators = broker.operators().await?;
            if json {
                let rows: Vec<_> = operators
                    .iter()
                    .map(|o| {
                        json!({
                            "id": o.id,
                            "email": o.email,
                            "role": o.role.as_str(),
                            "passwordSet": o.has_password,
                            "createdAt": o.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if operators.is_empty() {
                println!("No dashboard accounts yet: start the server and open the setup link it prints, or run `keyway admin create --email you@example.com --role owner`.");
            } else {
                println!("{:<40} {:<7} {:<13} CREATED", "EMAIL", "ROLE", "PASSWORD");
                for o in &operators {
                    println!(
                        "{:<40} {:<7} {:<13} {}",
                        o.email,
                        o.role.as_str(),
                        if o.has_password {
                            "set"
                        } else {
                            "link pending"
                        },
                        o.created_at.to_rfc3339()
                    );
                }
            }
        }
    }
    Ok(())
}

/// Where an account's holder chooses a password.
pub fn password_url(public_url: &str, link: &Link) -> String {
    format!(
        "{public_url}/dashboard/password?token={}",
        link.token.expose_secret()
    )
}

/// Where the first owner is created.
pub fn setup_url(public_url: &str, link: &Link) -> String {
    format!(
        "{public_url}/dashboard/setup?token={}",
        link.token.expose_secret()
    )
}
