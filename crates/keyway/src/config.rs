//! Configuration, layered: defaults → `keyway.toml` → `KEYWAY_*` environment → command-line flags.
//! Unknown keys in the file are errors (a typo must not silently fall back to a default).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::cli::{GlobalArgs, LogFormat, ServeArgs};

/// Every setting; field names are the TOML keys and, upper-cased with `KEYWAY_`, the variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// What browsers and OAuth providers reach; default `http://{listen}` (loopback if unspecified).
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Default: `sqlite://{data_dir}/keyway.db`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Base64 master key(s), comma-separated, newest first.
    #[serde(default)]
    pub master_key: Option<SecretString>,
    /// File holding the master key(s), one per line, newest first.
    #[serde(default)]
    pub master_key_file: Option<PathBuf>,
    #[serde(default = "default_log_format")]
    pub log_format: LogFormat,
    /// `tracing` filter, e.g. `info` or `keyway=debug,info`.
    #[serde(default = "default_log")]
    pub log: String,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Largest request body a passthrough may stream upstream.
    #[serde(default = "default_passthrough_max_body_bytes")]
    pub passthrough_max_body_bytes: usize,
    /// Passthrough: seconds to connect upstream, from the request body sent to the upstream's response
    /// headers, and of body silence (either way, the upstream not taking the request body included).
    #[serde(default = "default_connect_timeout")]
    pub passthrough_connect_timeout_seconds: u64,
    #[serde(default = "default_first_byte_timeout")]
    pub passthrough_first_byte_timeout_seconds: u64,
    #[serde(default = "default_idle_timeout")]
    pub passthrough_idle_timeout_seconds: u64,
    #[serde(default = "default_database_max_connections")]
    pub database_max_connections: u32,
    /// After SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
    /// Extra platform definitions (`platforms/*.toml`, `logos/`) that add to or override the built-in catalog.
    #[serde(default)]
    pub catalog_dir: Option<PathBuf>,
    /// Requests per second per secret key (burst twice that; on Postgres shared by all nodes); 0 = unlimited.
    #[serde(default)]
    pub rate_limit_per_second: u32,
    /// Days of passthrough request log to keep.
    #[serde(default = "default_request_log_retention_days")]
    pub request_log_retention_days: u32,
    /// How often each node sweeps for OAuth tokens to refresh ahead of expiry (0 turns the sweep off).
    #[serde(default = "default_refresh_sweep_seconds")]
    pub refresh_sweep_seconds: u64,
    /// Open HTTP connections per node; at the cap new connections wait in the listen backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a connection has to deliver a complete request head, when it opens and after each
    /// response (so also how long an idle keep-alive connection stays open).
    #[serde(default = "default_header_read_timeout_seconds")]
    pub header_read_timeout_seconds: u64,
    /// Largest total size of a request's header fields, in bytes (431 above it).
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
}

const ENV_KEYS: [&str; 22] = [
    "max_connections",
    "header_read_timeout_seconds",
    "max_header_bytes",
    "rate_limit_per_second",
    "request_log_retention_days",
    "passthrough_connect_timeout_seconds",
    "passthrough_first_byte_timeout_seconds",
    "passthrough_idle_timeout_seconds",
    "passthrough_max_body_bytes",
    "refresh_sweep_seconds",
    "catalog_dir",
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "master_key",
    "master_key_file",
    "log_format",
    "log",
    "max_body_bytes",
    "database_max_connections",
    "shutdown_grace_seconds",
];

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./keyway-data")
}
fn default_log_format() -> LogFormat {
    LogFormat::Human
}
fn default_log() -> String {
    "info".into()
}
fn default_max_body_bytes() -> usize {
    1024 * 1024
}
fn default_max_connections() -> usize {
    10_000
}
fn default_header_read_timeout_seconds() -> u64 {
    20
}
fn default_max_header_bytes() -> usize {
    32 * 1024
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_first_byte_timeout() -> u64 {
    60
}
fn default_idle_timeout() -> u64 {
    60
}
fn default_passthrough_max_body_bytes() -> usize {
    2 * 1024 * 1024 * 1024
}
fn default_database_max_connections() -> u32 {
    10
}
fn default_request_log_retention_days() -> u32 {
    30
}
fn default_refresh_sweep_seconds() -> u64 {
    60
}
fn default_shutdown_grace_seconds() -> u64 {
    30
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            data_dir: default_data_dir(),
            database_url: None,
            master_key: None,
            master_key_file: None,
            log_format: default_log_format(),
            log: default_log(),
            max_body_bytes: default_max_body_bytes(),
            passthrough_max_body_bytes: default_passthrough_max_body_bytes(),
            passthrough_connect_timeout_seconds: default_connect_timeout(),
            passthrough_first_byte_timeout_seconds: default_first_byte_timeout(),
            passthrough_idle_timeout_seconds: default_idle_timeout(),
            database_max_connections: default_database_max_connections(),
            shutdown_grace_seconds: default_shutdown_grace_seconds(),
            catalog_dir: None,
            refresh_sweep_seconds: default_refresh_sweep_seconds(),
            request_log_retention_days: default_request_log_retention_days(),
            rate_limit_per_second: 0,
            max_connections: default_max_connections(),
            header_read_timeout_seconds: default_header_read_timeout_seconds(),
            max_header_bytes: default_max_header_bytes(),
        }
    }
}

/// Flags, as a provider: only the ones given override.
#[derive(Debug, Default, Serialize)]
struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
}

impl Config {
    pub fn load(global: &GlobalArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Self> {
        let file = match &global.config {
            Some(path) if !path.exists() => {
                bail!("configuration file {} does not exist", path.display())
            }
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from("keyway.toml")).filter(|p| p.exists()),
        };
        let mut figment = Figment::new();
        if let Some(file) = &file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let flags = FlagOverrides {
            listen: serve.and_then(|s| s.listen),
            public_url: serve.and_then(|s| s.public_url.clone()),
            data_dir: global.data_dir.clone(),
            database_url: global.database_url.clone(),
            log_format: global.log_format,
        };
        let config: Config = figment
            .merge(Env::prefixed("KEYWAY_").only(&ENV_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .context("invalid configuration")?;
        config.public_url()?;
        config.check_limits()?;
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("keyway.db").display()
            ),
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> anyhow::Result<String> {
        self.public_url_for(self.listen)
    }

    /// The public base URL when the server is bound to `bound` (which differs from `listen` for port 0).
    pub fn public_url_for(&self, bound: std::net::SocketAddr) -> anyhow::Result<String> {
        let raw = match &self.public_url {
            Some(url) => url.clone(),
            None => {
                let mut addr = bound;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{addr}")
            }
        };
        let parsed =
            url::Url::parse(&raw).with_context(|| format!("public_url {raw:?} is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            bail!("public_url {raw:?} must be an http(s) URL without query or fragment");
        }
        Ok(raw.trim_end_matches('/').to_owned())
    }

    fn check_limits(&self) -> anyhow::Result<()> {
        if self.max_connections == 0 {
            bail!("max_connections must be at least 1");
        }
        if self.header_read_timeout_seconds == 0 {
            bail!("header_read_timeout_seconds must be at least 1");
        }
        if !(1024..=1024 * 1024).contains(&self.max_header_bytes) {
            bail!("max_header_bytes must be between 1024 and 1048576");
        }
        Ok(())
    }

    /// What a connection may take of this node (`keyway_server::listen`).
    pub fn connection_limits(&self) -> keyway_server::listen::Limits {
        keyway_server::listen::Limits {
            max_connections: self.max_connections,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            // The backstop above the caps `App` enforces in the JSON shape: headers, the request line.
            max_head_bytes: self.max_header_bytes + keyway_server::MAX_URI_BYTES + 16 * 1024,
            linger: keyway_server::listen::Linger::default(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

#[cfg(test)]
// figment's Jail API returns its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_typos_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "keyway.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from-file\"\nlog = \"debug\"",
            )?;
            jail.set_env("KEYWAY_DATA_DIR", "/from-env");
            jail.set_env("KEYWAY_PUBLIC_URL", "https://keyway.example.com/");
            let global = GlobalArgs {
                database_url: Some("postgres://u@h/db".into()),
                ..GlobalArgs::default()
            };
            let config = Config::load(&global, None).map_err(|e| e.to_string())?;
            assert_eq!(config.listen, "127.0.0.1:9000".parse().expect("addr"));
            assert_eq!(config.data_dir, PathBuf::from("/from-env"));
            assert_eq!(config.log, "debug");
            assert_eq!(config.database_url(), "postgres://u@h/db");
            assert_eq!(
                config.public_url().map_err(|e| e.to_string())?,
                "https://keyway.example.com"
            );

            let serve = ServeArgs {
                listen: Some("0.0.0.0:7000".parse().expect("addr")),
                public_url: None,
            };
            jail.set_env("KEYWAY_PUBLIC_URL", "");
            let config = Config::load(&GlobalArgs::default(), Some(&serve));
            assert!(config.is_err(), "an empty public URL is not a URL");

            jail.create_file("keyway.toml", "lisen = \"127.0.0.1:9000\"")?;
            let err = Config::load(&GlobalArgs::default(), None).expect_err("typo refused");
            assert!(format!("{err:#}").contains("lisen"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn defaults_derive_the_public_url_and_sqlite_path() {
        figment::Jail::expect_with(|_jail| {
            let serve = ServeArgs {
                listen: Some("0.0.0.0:7000".parse().expect("addr")),
                public_url: None,
            };
            let config =
                Config::load(&GlobalArgs::default(), Some(&serve)).map_err(|e| e.to_string())?;
            assert_eq!(
                config.public_url().map_err(|e| e.to_string())?,
                "http://127.0.0.1:7000"
            );
            assert_eq!(
                config.database_url(),
                "sqlite://./keyway-data/keyway.db?mode=rwc"
            );
            Ok(())
        });
    }
}
