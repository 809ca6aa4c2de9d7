//! The engine's HTTP API: the request and response types (`wire`) that the engine serves and its
//! clients (the CLI, the language server, the MCP server) send, and a client for them.

pub mod client;
pub mod wire;
