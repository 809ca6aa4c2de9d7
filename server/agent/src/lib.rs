//! The Plan/Act co-authoring agent: the task loop, LLM providers, the tools and the mode that
//! gates them, approvals, budgets and transcripts. It knows nothing of LSP or VS Code: the
//! language server and `riposte generate` drive it through the same interface.
