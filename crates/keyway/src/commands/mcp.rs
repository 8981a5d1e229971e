//! `keyway mcp`: the MCP tools over stdio, acting with a secret key from the environment.
//! Standard output belongs to the protocol: everything else goes to standard error.

use anyhow::{anyhow, Context};
use keyway_core::identity::{Identity, IdentityType};
use keyway_server::mcp::scope::{McpScope, Permission};
use keyway_server::mcp::tools::{KeywayTools, ScopeSource};
use rmcp::ServiceExt;

use crate::cli::McpArgs;
use crate::config::Config;
use crate::serve::open_broker;

pub async fn run(config: &Config, args: McpArgs) -> anyhow::Result<()> {
    let secret = std::env::var(&args.secret_key_env).with_context(|| {
        format!(
            "set {} to the secret key the MCP tools act with",
            args.secret_key_env
        )
    })?;
    let permission: Permission = args.permissions.parse().map_err(|e: String| anyhow!(e))?;
    let identity = match &args.identity {
        None => None,
        Some(i) => {
            let kind = args
                .identity_type
                .as_deref()
                .map(str::parse::<IdentityType>)
                .transpose()
                .map_err(|e| anyhow!(e))?;
            Some((
                Identity::parse(i).map_err(|e| anyhow!("--identity: {e}"))?,
                kind,
            ))
        }
    };
    let (broker, first_start, _) = open_broker(config).await?;
    if let Some(first) = &first_start {
        super::print_first_start(first, true);
    }
    let principal = broker
        .keys
        .authenticate(Some(&secret))
        .await?
        .map_err(|reason| {
            anyhow!(
                "the secret key in {} was refused: {reason}",
                args.secret_key_env
            )
        })?;
    let scope = McpScope {
        principal,
        identity,
        permission,
    };
    let log = broker.request_log.clone();
    let tools = KeywayTools::new(broker, ScopeSource::Fixed(scope), config.public_url()?);
    let running = tools
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow!("MCP session failed to start: {e}"))?;
    let ended = running.waiting().await;
    log.flush().await;
    ended.map_err(|e| anyhow!("MCP session ended with an error: {e}"))?;
    Ok(())
}
