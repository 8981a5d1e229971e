//! Command-line surface. Global options override `keyway.toml` and `KEYWAY_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keyway_core::environment::Environment;

#[derive(Debug, Parser)]
#[command(
    name = "keyway",
    version,
    about = "Self-hosted integration-auth broker, wire-compatible with Pica's API"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// Configuration file (default: ./keyway.toml when it exists) [env: KEYWAY_CONFIG]
    #[arg(long, global = true, env = "KEYWAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database and generated master key [env: KEYWAY_DATA_DIR]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [env: KEYWAY_DATABASE_URL]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Log format [env: KEYWAY_LOG_FORMAT]
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server
    Serve(ServeArgs),
    /// Apply database migrations and exit
    Migrate,
    /// Manage secret keys (works on the database directly; no running server needed)
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Generate or rotate the master key that seals every stored secret
    #[command(subcommand, name = "master-key")]
    MasterKey(MasterKeyCommand),
    /// Print the OpenAPI document of Keyway's API
    Openapi,
    /// Serve the MCP tools over stdio for an agent (list connections, search actions, execute them)
    Mcp(McpArgs),
    /// Check the platform catalog (built-in and KEYWAY_CATALOG_DIR)
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Integration settings per environment: AuthKit visibility and your own OAuth apps
    #[command(subcommand)]
    Integrations(IntegrationsCommand),
    /// Project settings per environment, e.g. requiring an action id on every passthrough request
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Dashboard accounts: create one or reset a password (each prints a one-time link)
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a dashboard account; prints the one-time link its holder opens to choose a password
    Create {
        #[arg(long)]
        email: String,
        /// owner (everything, accounts too), admin (every project setting), viewer (reads only)
        #[arg(long, default_value = "admin", value_parser = parse_role)]
        role: keyway_core::operator::Role,
    },
    /// Print a one-time link that lets an account choose a new password (its sessions end when it does)
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// List dashboard accounts
    List {
        #[arg(long)]
        json: bool,
    },
}

fn parse_role(s: &str) -> Result<keyway_core::operator::Role, String> {
    s.parse()
        .map_err(|e: keyway_core::operator::UnknownRole| e.to_string())
}

#[derive(Debug, Args, Clone)]
pub struct McpArgs {
    /// The secret key the tools act with (read from the environment so it stays out of `ps`)
    #[arg(long = "secret-key-env", default_value = "KEYWAY_SECRET_KEY")]
    pub secret_key_env: String,
    /// Only this identity's connections are visible and usable
    #[arg(long)]
    pub identity: Option<String>,
    #[arg(long)]
    pub identity_type: Option<String>,
    /// read = GET actions only; write = GET, POST, PUT, PATCH; admin = everything
    #[arg(long, default_value = "write")]
    pub permissions: String,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Validate every platform file; names each problem with file and field
    Check {
        /// A custom catalog directory to check with the built-in one [default: KEYWAY_CATALOG_DIR]
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Turn an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML) into actions for a platform
    #[command(name = "import-openapi")]
    ImportOpenapi {
        /// The OpenAPI document
        file: PathBuf,
        /// The catalog platform the operations belong to
        #[arg(long)]
        platform: String,
        /// Folder of actions files; merges into <out>/<platform>.json [default: catalog/actions]
        #[arg(long, default_value = "catalog/actions")]
        out: PathBuf,
        /// Where the document came from, recorded in the file's `sources` [default: the file name]
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// Show an integration in AuthKit
    Enable {
        platform: String,
        #[arg(long, value_parser = parse_env)]
        env: Environment,
        #[arg(long)]
        project: Option<String>,
    },
    /// Hide an integration from AuthKit
    Disable {
        platform: String,
        #[arg(long, value_parser = parse_env)]
        env: Environment,
        #[arg(long)]
        project: Option<String>,
    },
    /// Use your own OAuth app (client id and secret) for a platform
    OauthApp {
        platform: String,
        #[arg(long, value_parser = parse_env)]
        env: Environment,
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        client_id: String,
        /// File holding the client secret (keeps it out of shell history and `ps`)
        #[arg(long)]
        client_secret_file: PathBuf,
        /// Scopes overriding the platform's defaults, comma-separated
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
    },
    /// List integrations and their settings
    List {
        #[arg(long, value_parser = parse_env, default_value = "test")]
        env: Environment,
        #[arg(long)]
        project: Option<String>,
        /// Only the enabled ones
        #[arg(long)]
        enabled: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the settings of both environments, or of one
    Show {
        /// Only this environment
        #[arg(long, value_parser = parse_env)]
        env: Option<Environment>,
        #[arg(long)]
        project: Option<String>,
        /// Print [{"environment":"test","requireActionIds":false},…] as JSON
        #[arg(long)]
        json: bool,
    },
    /// Change settings of one environment; settings not given keep their value
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true)))]
    Set {
        #[arg(long, value_parser = parse_env)]
        env: Environment,
        #[arg(long)]
        project: Option<String>,
        /// Refuse passthrough requests that carry no action id: true or false
        #[arg(long, group = "change")]
        require_action_ids: Option<bool>,
        /// Print the environment's settings as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    /// Address to listen on [env: KEYWAY_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// URL browsers and OAuth providers use to reach Keyway [env: KEYWAY_PUBLIC_URL]
    #[arg(long)]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a secret key and print it (it is shown only once)
    Create {
        #[arg(long, value_parser = parse_env)]
        env: Environment,
        /// Project name (created if missing) [default: default]
        #[arg(long)]
        project: Option<String>,
        /// A label for the key, e.g. "billing backend" (at most 64 characters)
        #[arg(long)]
        name: Option<String>,
        /// Print {"key":"sk_…","id":…} as JSON
        #[arg(long)]
        json: bool,
    },
    /// List secret keys (hints only; keys are never stored)
    List {
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id (key_…) or by the key itself
    Revoke { id_or_key: String },
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64) for KEYWAY_MASTER_KEY
    Generate,
    /// Re-wrap every sealed value under the primary master key (resumable)
    Rotate,
}

fn parse_env(s: &str) -> Result<Environment, String> {
    s.parse::<Environment>().map_err(|e| e.to_string())
}
