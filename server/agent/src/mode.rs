//! Plan and Act. The mode is enforced by the tool dispatcher (`tools::Dispatcher`), not only by
//! the prompt: in Plan a tool that writes or runs is refused before it does anything, and the
//! refusal goes both to the model (as a tool error) and to the person (as an event).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Read-only: ask, look up integrations, fetch approved documentation, propose a plan.
    Plan,
    /// Write the playbook and its docs, validate, test.
    Act,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plan => "plan",
            Mode::Act => "act",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Plan => "Plan",
            Mode::Act => "Act",
        })
    }
}

/// What a tool does to the world, which decides the mode it may run in and the approval it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Reads the workspace or the catalogs; never needs approval.
    Read,
    /// Talks to the person (questions, the plan, completion).
    Converse,
    /// Fetches a URL: allowed in Plan, each fetch approved.
    Fetch,
    /// Writes a workspace file: Act only, approved.
    Write,
    /// Runs the playbook: Act only, approved.
    Run,
}

impl Effect {
    /// Whether a tool with this effect may run in `mode`.
    pub fn allowed_in(self, mode: Mode) -> bool {
        match self {
            Effect::Read | Effect::Converse | Effect::Fetch => true,
            Effect::Write | Effect::Run => mode == Mode::Act,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_refuses_writes_and_runs_act_allows_everything() {
        for effect in [Effect::Read, Effect::Converse, Effect::Fetch] {
            assert!(effect.allowed_in(Mode::Plan), "{effect:?}");
        }
        assert!(!Effect::Write.allowed_in(Mode::Plan));
        assert!(!Effect::Run.allowed_in(Mode::Plan));
        for effect in [
            Effect::Read,
            Effect::Converse,
            Effect::Fetch,
            Effect::Write,
            Effect::Run,
        ] {
            assert!(effect.allowed_in(Mode::Act), "{effect:?}");
        }
    }
}
