//! The Plan/Act co-authoring agent: the task loop, LLM providers, the tools and the mode that
//! gates them, approvals, budgets and transcripts. It knows nothing of LSP or VS Code: the
//! language server and `riposte generate` drive it through the same interface.
//!
//! Code map: `task` (the loop and its guards), `mode` (Plan/Act and what each allows), `tools/`
//! (schemas and implementations), `approval` (categories, auto-approve, decisions), `events`
//! (what a front end sees and answers), `budget` (the daily token budget), `transcript` (JSONL
//! history), `redact` (secrets out of model messages and transcripts), `prompt` (the system
//! prompt), `provider/` (the models).

pub mod approval;
pub mod budget;
pub mod events;
pub mod mode;
pub mod prompt;
pub mod provider;
pub mod redact;
pub mod task;
pub mod tools;
pub mod transcript;

pub use approval::{AutoApprove, Category, Decision};
pub use events::{ApprovalRequest, Controls, Event, Frontend, Outcome, Plan, Question};
pub use mode::Mode;
pub use task::{TaskConfig, TaskLimits, TaskReport, run_task, run_task_blocking};
