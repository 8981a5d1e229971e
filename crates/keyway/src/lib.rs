//! The keyway binary's library half: configuration, start-up and the CLI commands, so tests drive the
//! exact code `main` runs. Invariant: `anyhow` lives here and nowhere below.

pub mod cli;
pub mod commands;
pub mod config;
pub mod keyring_source;
pub mod serve;
pub mod telemetry;
