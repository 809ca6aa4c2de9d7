//! `riposte mcp`: the playbook toolchain (validate, docs, list and describe integrations, test,
//! save) as a Model Context Protocol server over stdio, for agents users already have.
