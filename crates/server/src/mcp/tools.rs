//! The MCP tools. Descriptions are written for a model choosing between them: find the connection, find
//! the action, read its knowledge, execute it. Every tool is scoped to the session's project environment,
//! to one identity when configured, and to the permission level.

use std::collections::BTreeMap;

use keyway_broker::error::BrokerError;
use keyway_broker::execute::ExecuteRequest;
use keyway_broker::Broker;
use keyway_core::connection::ConnectionFilter;
use keyway_store::connections::Window;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{
    schemars, tool, tool_handler, tool_router, ErrorData as McpError, RoleServer, ServerHandler,
};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::mcp::scope::McpScope;

/// Where a session's scope comes from: fixed (stdio) or per HTTP request (set by the `/mcp` middleware).
#[derive(Debug, Clone)]
pub enum ScopeSource {
    Fixed(McpScope),
    PerRequest,
}

#[derive(Clone)]
pub struct KeywayTools {
    broker: Broker,
    scope: ScopeSource,
    public_url: String,
    tool_router: ToolRouter<KeywayTools>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListConnectionsArgs {
    /// Only connections to this platform (its slug, e.g. `github`).
    pub platform: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// The platform's slug, e.g. `github`, `gmail`, `slack` (see list_connections or list_integrations).
    pub platform: String,
    /// What you want to do, in plain words, e.g. "list open issues" or "send an email".
    pub query: String,
    /// How many actions to return (default 5, at most 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct KnowledgeArgs {
    /// The action id from search_actions (`conn_mod_def::…`).
    pub action_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ExecuteArgs {
    /// The action id from search_actions (`conn_mod_def::…`).
    pub action_id: String,
    /// The connection key from list_connections (`test::github::default::…|user`).
    pub connection_key: String,
    /// Values for the `{{variables}}` in the action's path.
    #[serde(default)]
    pub path_variables: BTreeMap<String, String>,
    /// Query string parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON request body, for actions that take one.
    pub body: Option<serde_json::Value>,
    /// Extra request headers the action's knowledge asks for.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn text(value: serde_json::Value) -> Result<CallToolResult, McpError> {
    Ok(CallToolResult::success(vec![ContentBlock::text(
        serde_json::to_string_pretty(&value).unwrap_or_default(),
    )]))
}

fn failure(message: impl Into<String>) -> Result<CallToolResult, McpError> {
    Ok(CallToolResult::error(vec![ContentBlock::text(
        message.into(),
    )]))
}

/// A broker failure as a tool error carrying what the HTTP API would answer: the same status and stable
/// code (e.g. 401 `reconnect_required`) in the API's error shape, as text and as structured content.
fn broker_failure(e: BrokerError, request_id: Option<&str>) -> Result<CallToolResult, McpError> {
    let e = ApiError::from(e);
    let mut error = json!({
        "type": "error", "code": e.code, "status": e.status.as_u16(), "message": e.message,
    });
    if let Some(id) = request_id {
        error["requestId"] = json!(id);
    }
    Ok(CallToolResult::structured_error(error))
}

#[tool_router]
impl KeywayTools {
    pub fn new(broker: Broker, scope: ScopeSource, public_url: String) -> Self {
        Self {
            broker,
            scope,
            public_url,
            tool_router: Self::tool_router(),
        }
    }

    fn scope(&self, ctx: &RequestContext<RoleServer>) -> Result<McpScope, McpError> {
        match &self.scope {
            ScopeSource::Fixed(scope) => Ok(scope.clone()),
            ScopeSource::PerRequest => ctx
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<McpScope>())
                .cloned()
                .ok_or_else(|| McpError::invalid_request("no secret key for this request", None)),
        }
    }

    #[tool(
        description = "List the integrations (platforms) this project can use, with how many \
        actions each has and whether users can connect it. Use it to learn platform slugs."
    )]
    async fn list_integrations(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let scope = self.scope(&ctx)?;
        let enabled = match self
            .broker
            .enabled_integrations(&scope.principal.project_id, scope.principal.environment)
            .await
        {
            Ok(list) => list
                .iter()
                .map(|i| i.platform.slug().as_str().to_owned())
                .collect::<Vec<_>>(),
            Err(e) => return broker_failure(e, None),
        };
        let actions = self.broker.catalog.actions();
        let rows: Vec<_> = self
            .broker
            .catalog
            .iter()
            .map(|p| {
                let slug = p.slug().as_str();
                json!({
                    "platform": slug, "name": p.name(), "category": p.category(),
                    "actions": actions.for_platform(slug).len(),
                    "connectable": enabled.iter().any(|e| e == slug),
                })
            })
            .collect();
        text(json!({ "integrations": rows }))
    }

    #[tool(
        description = "List the connected accounts this session may act for, with their connection \
        keys (needed by execute_action), platforms and states. A state other than `operational` means the \
        user may need to reconnect."
    )]
    async fn list_connections(
        &self,
        Parameters(args): Parameters<ListConnectionsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let scope = self.scope(&ctx)?;
        let filter = ConnectionFilter {
            identity: scope.identity.as_ref().map(|(i, _)| i.to_string()),
            identity_type: scope.identity.as_ref().and_then(|(_, t)| *t),
            platform: args.platform,
            active: Some(true),
            ..ConnectionFilter::default()
        };
        let window = Window {
            skip: 0,
            limit: 200,
        };
        match self
            .broker
            .list_connections(&scope.principal, &filter, window)
            .await
        {
            Ok((rows, total)) => text(json!({
                "total": total,
                "connections": rows.iter().map(|c| json!({
                    "key": c.key.to_string(), "platform": c.platform, "identity": c.identity.to_string(),
                    "name": c.name, "state": c.state.as_str(), "tags": c.tags,
                })).collect::<Vec<_>>(),
            })),
            Err(e) => broker_failure(e, None),
        }
    }

    #[tool(
        description = "Search a platform's API actions by what you want to do, best match first. \
        Returns action ids, titles, methods and paths; read an action's knowledge before executing it."
    )]
    async fn search_actions(
        &self,
        Parameters(args): Parameters<SearchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let scope = self.scope(&ctx)?;
        let limit = args.limit.unwrap_or(5).clamp(1, 20) as usize;
        if self.broker.catalog.get(&args.platform).is_none() {
            return failure(format!(
                "no platform {:?}; list_integrations shows the slugs",
                args.platform
            ));
        }
        let found: Vec<_> = self
            .broker
            .catalog
            .actions()
            .search(&args.platform, &args.query, limit * 4)
            .into_iter()
            .filter(|a| scope.permission.allows(a.method().as_str()))
            .take(limit)
            .map(|a| {
                json!({
                    "actionId": a.id().as_str(), "title": a.title(), "method": a.method().as_str(),
                    "path": a.path().as_str(), "tags": a.tags(),
                })
            })
            .collect();
        text(json!({ "platform": args.platform, "actions": found }))
    }

    #[tool(
        description = "Read everything needed to execute an action: what it does, its path, query and \
        header parameters, its body schema, and an example request and response."
    )]
    async fn get_action_knowledge(
        &self,
        Parameters(args): Parameters<KnowledgeArgs>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let Some(action) = self.broker.catalog.actions().get(&args.action_id) else {
            return failure(format!(
                "no action {:?}; use search_actions",
                args.action_id
            ));
        };
        let base = self
            .broker
            .catalog
            .get(action.platform())
            .map(|p| p.base_url().as_str().to_owned())
            .unwrap_or_default();
        Ok(CallToolResult::success(vec![ContentBlock::text(
            keyway_catalog::actions::knowledge::render(action, &base),
        )]))
    }

    #[tool(
        description = "Execute an action as a connected account: Keyway adds the account's credentials \
        and calls the platform. Give the action id, the connection key, the path variables, and query, body \
        and headers as the action's knowledge describes. Returns the platform's status and response body."
    )]
    async fn execute_action(
        &self,
        Parameters(args): Parameters<ExecuteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let scope = self.scope(&ctx)?;
        let request = ExecuteRequest {
            action_id: args.action_id,
            connection_key: args.connection_key,
            path_variables: args.path_variables,
            query: args.query,
            body: args.body,
            headers: args.headers,
        };
        let request_id = crate::request_id::new_id();
        let identity = scope.identity.as_ref().map(|(i, _)| i);
        let permission = scope.permission;
        match self
            .broker
            .execute_action(
                &scope.principal,
                identity,
                |m| permission.allows(m),
                request,
                &request_id,
            )
            .await
        {
            Ok(reply) => {
                let body = if reply
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.contains("json"))
                {
                    serde_json::from_slice(&reply.body).unwrap_or_else(|_| {
                        serde_json::Value::String(String::from_utf8_lossy(&reply.body).into_owned())
                    })
                } else {
                    serde_json::Value::String(String::from_utf8_lossy(&reply.body).into_owned())
                };
                let result = json!({
                    "status": reply.status, "contentType": reply.content_type, "body": body,
                    "truncated": reply.truncated, "requestId": request_id,
                });
                if (200..300).contains(&reply.status) {
                    text(result)
                } else {
                    Ok(CallToolResult::error(vec![ContentBlock::text(
                        result.to_string(),
                    )]))
                }
            }
            Err(e) => broker_failure(e, Some(&request_id)),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KeywayTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            // Keyway's name and version (one version for the whole workspace, so the binary's), not
            // rmcp's, which `Implementation::from_build_env` would report.
            .with_server_info(Implementation::new("keyway", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "Keyway lets you act on users' connected accounts (Gmail, GitHub, Slack…) at {}. \
                 Typical flow: list_connections → search_actions on that platform → get_action_knowledge → \
                 execute_action with the connection key.",
                self.public_url
            ))
    }
}
