//! One module per subcommand; `run` dispatches.

pub mod admin;
pub mod catalog;
pub mod integrations;
pub mod keys;
pub mod master_key;
pub mod mcp;
pub mod serve;
pub mod settings;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::telemetry;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Openapi => {
            print!("{}", keyway_server::openapi::document_json());
            Ok(())
        }
        Command::MasterKey(crate::cli::MasterKeyCommand::Generate) => master_key::generate(),
        Command::Serve(args) => {
            let config = Config::load(&cli.global, Some(&args))?;
            // Held until the server has stopped: dropping it writes the last lines.
            let (_log_writer, dropped) = telemetry::init_server(config.log_format, &config.log);
            tokio::spawn(telemetry::report_dropped(dropped));
            serve::run(&config).await
        }
        Command::Migrate => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, &config.log);
            crate::serve::open_broker(&config).await?;
            println!(
                "database is up to date ({})",
                redact_url(&config.database_url())
            );
            Ok(())
        }
        Command::Keys(cmd) => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, "warn");
            keys::run(&config, cmd).await
        }
        Command::Catalog(crate::cli::CatalogCommand::Check { dir }) => {
            let config = Config::load(&cli.global, None)?;
            catalog::check(dir.or(config.catalog_dir))
        }
        Command::Catalog(crate::cli::CatalogCommand::ImportOpenapi {
            file,
            platform,
            out,
            source,
        }) => {
            let config = Config::load(&cli.global, None)?;
            catalog::import_openapi(&config, &file, &platform, &out, source)
        }
        Command::Mcp(args) => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, "warn");
            mcp::run(&config, args).await
        }
        Command::Integrations(cmd) => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, "warn");
            integrations::run(&config, cmd).await
        }
        Command::Admin(cmd) => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, "warn");
            admin::run(&config, cmd).await
        }
        Command::Settings(cmd) => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, "warn");
            settings::run(&config, cmd).await
        }
        Command::MasterKey(crate::cli::MasterKeyCommand::Rotate) => {
            let config = Config::load(&cli.global, None)?;
            telemetry::init(config.log_format, "warn");
            master_key::rotate(&config).await
        }
    }
}

/// Who CLI changes are recorded as in the audit trail: `cli (<OS user>)`.
pub fn cli_actor() -> keyway_core::audit::Actor {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok();
    keyway_core::audit::Actor::cli(user.as_deref())
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Shown once, on the first start of an empty database (by the server or a CLI command).
pub fn print_first_start(first: &keyway_broker::bootstrap::FirstStart, to_stderr: bool) {
    let text = format!(
        "\nKeyway created the project {:?}. Its secret keys are shown only this once:\n\n  test: {}\n  live: {}\n\n\
         Keep them in your backend's secret store. Create more with `keyway keys create --env test`.\n",
        first.project.name,
        first.test_key.key.expose(),
        first.live_key.key.expose(),
    );
    if to_stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}
