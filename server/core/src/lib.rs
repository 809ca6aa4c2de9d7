//! Riposte's core: everything about a playbook workspace that can be decided from text alone.
//!
//! It parses playbooks (ruff's error-resilient parser), runs every validation rule, reads the
//! workspace formats, normalises alerts and generates documentation. It does no I/O and builds
//! for `wasm32-unknown-unknown`: callers read files and hand the text in.

pub mod alert;
pub mod automation;
pub mod catalog;
pub mod describe;
pub mod diagnostic;
pub mod docs;
pub mod formats;
pub mod ide;
pub mod lint;
pub mod sdk;
pub mod source;
pub mod workspace;

pub use diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
pub use lint::{Rule, check_playbook, check_playbook_bytes};
pub use source::SourceFile;
pub use workspace::Workspace;
