//! The MCP server (rmcp): the same tools over stdio (`keyway mcp`) and streamable HTTP (`/mcp`, secret key
//! required). Scope and permissions come from the secret key and optional identity/permission settings.

pub mod http;
pub mod scope;
pub mod tools;
