//! The system prompt: what Riposte is, the playbook contract (DESIGN.md's, and the SDK stub
//! itself, so the model sees exactly the surface the validator checks), the workspace's
//! integration profiles, and the rules of the current mode. The mode is enforced by the tool
//! layer whatever the prompt says; the prompt only saves the model a refused call.

use std::fmt::Write as _;

use riposte_core::Workspace;

use crate::mode::Mode;

const CONTRACT: &str = r#"You are Riposte's playbook author, working with a SOC analyst. A playbook is one Python file, playbooks/<name>.py, that takes a security alert and calls external APIs through integration profiles.

The playbook contract:
- Standard library and the `riposte` module only; no `requests`, no other packages.
- Entry point: a top-level `def run(alert: Alert, ctx: Context) -> None` (its return value, JSON-serialisable or None, is the run's output). Start the file with a docstring saying what it does.
- `alert` is normalised (id, title, severity, status, provider, description, created, incident_id, tactics, raw) with typed evidence: alert.entities(kind), users(), ips(), urls(), files(), devices(), mailboxes(), processes().
- `ctx.integration("<profile name>")` gives an HTTP client bound to one profile: get/post/put/patch/delete(path, params=, json=, data=, headers=, timeout=) -> Response (status, ok, headers, json(), text, raise_for_status()). Paths are relative to the profile's base URL. Never put credentials in code or headers: the host signs every request.
- ctx.comment(text), ctx.update_alert(status=, classification=, determination=, assigned_to=), ctx.log(msg, **fields), `with ctx.step(name):` marks a node of the run trace, ctx.deadline, ctx.dry_run.
- Handle errors the way an analyst expects: check `resp.ok` or call `raise_for_status()`, comment on the alert when something could not be done.

The SDK stub (riposte.pyi), exactly what the validator checks against:
```python
"#;

const PLAN_RULES: &str = "\
You are in PLAN mode: read-only. Use list_integrations, describe_integration, get_alert_schema and read_file to learn what exists; ask_user for anything unclear (one question at a time); fetch_url only for API documentation (the user approves each URL). Name every integration profile the playbook needs and say which are missing (the user creates them; never ask for secrets). Finish with propose_plan: a short summary, the steps, a Mermaid flowchart (`flowchart TD`) and the profiles. write_playbook, write_docs and run_test are refused in Plan mode.";

const ACT_RULES: &str = "\
You are in ACT mode. If there is no plan yet, make one with propose_plan first. Then write the playbook with write_playbook (the whole file, or search/replace edits for fixes); every write returns the validator's diagnostics: fix every error and keep going until it is clean. Then write_docs, then run_test as a dry run on a saved alert and read its planned changes; fix and re-test if it fails. Finish with attempt_completion and a short summary. Never ask for or print secrets: no tool can read them.";

/// The system prompt for `mode` in `workspace`.
pub fn system_prompt(mode: Mode, workspace: &Workspace) -> String {
    let mut prompt = String::from(CONTRACT);
    prompt.push_str(riposte_core::sdk::RIPOSTE_PYI);
    prompt.push_str("```\n\nIntegration profiles in this workspace (describe_integration gives the endpoints):\n");
    let profiles = riposte_core::describe::integrations(workspace);
    if profiles.is_empty() {
        prompt.push_str("- none yet\n");
    }
    for profile in profiles {
        let _ = writeln!(
            prompt,
            "- {} ({}, {} auth{}): {}",
            profile.name,
            profile.base_url,
            profile.auth_method,
            profile
                .catalog
                .as_deref()
                .map(|c| format!(", catalog {c}"))
                .unwrap_or_default(),
            profile.description
        );
    }
    prompt.push('\n');
    prompt.push_str(match mode {
        Mode::Plan => PLAN_RULES,
        Mode::Act => ACT_RULES,
    });
    prompt.push('\n');
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_stub_and_the_mode() {
        let workspace = Workspace::default();
        let plan = system_prompt(Mode::Plan, &workspace);
        assert!(plan.contains("class Context"), "the SDK stub is included");
        assert!(plan.contains("PLAN mode"));
        assert!(system_prompt(Mode::Act, &workspace).contains("ACT mode"));
    }
}
