//! The chat relay: the Plan/Act agent (`riposte_agent`) driven by the editor's chat panel over
//! `riposte/chat/*` and, for the editor's own models, `riposte/lm/*` (`docs/chat-protocol.md` is
//! the contract). [`Chat`] is the state kept in the session: the one running task (a server runs
//! one at a time) and the `vscode-lm` turns waiting for the editor. [`relay`] is the task's front
//! end (events out as notifications, decisions in as requests to the client); [`lm`] is the
//! provider that asks the editor for each model turn. The request handlers are in
//! `handlers/chat.rs`.

pub mod lm;
pub mod relay;

use std::sync::{Arc, Mutex, PoisonError};

use riposte_agent::Controls;

/// The running task: its id and what steers it.
#[derive(Debug, Clone)]
pub struct Running {
    pub chat_id: String,
    pub controls: Controls,
}

/// The chat state of one language server session.
#[derive(Default)]
pub struct Chat {
    state: Mutex<State>,
    /// `vscode-lm` turns waiting for the editor's answer (their `riposte/lm/delta`s go here).
    pub lm: Arc<lm::Streams>,
}

#[derive(Default)]
struct State {
    /// Tasks started so far: the next one is `chat-{started + 1}`.
    started: u64,
    running: Option<Running>,
}

impl Chat {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the one task slot for a new task, or answers the running task's id. The slot is
    /// freed again when the reservation is dropped without [`Reservation::keep`] (a start that
    /// failed, or panicked, must not leave the server believing a task runs).
    pub fn reserve(&self) -> Result<Reservation<'_>, String> {
        let mut state = self.state();
        if let Some(running) = &state.running {
            return Err(running.chat_id.clone());
        }
        state.started += 1;
        let running = Running {
            chat_id: format!("chat-{}", state.started),
            controls: Controls::new(),
        };
        state.running = Some(running.clone());
        Ok(Reservation {
            chat: self,
            running,
            kept: false,
        })
    }

    /// Frees the slot when `chat_id` holds it (a task that ended, or failed to start).
    pub fn release(&self, chat_id: &str) {
        let mut state = self.state();
        if state
            .running
            .as_ref()
            .is_some_and(|running| running.chat_id == chat_id)
        {
            state.running = None;
        }
    }

    /// The running task's id, if any.
    pub fn running_id(&self) -> Option<String> {
        self.state()
            .running
            .as_ref()
            .map(|running| running.chat_id.clone())
    }

    /// The controls of `chat_id` when it is the running task (`None`: ended or unknown).
    pub fn controls(&self, chat_id: &str) -> Option<Controls> {
        self.state()
            .running
            .as_ref()
            .filter(|running| running.chat_id == chat_id)
            .map(|running| running.controls.clone())
    }
}

/// The task slot, held while a task starts.
pub struct Reservation<'a> {
    chat: &'a Chat,
    running: Running,
    kept: bool,
}

impl Reservation<'_> {
    pub fn chat_id(&self) -> &str {
        &self.running.chat_id
    }

    /// The task started: the slot stays taken until [`Chat::release`].
    pub fn keep(mut self) -> Running {
        self.kept = true;
        self.running.clone()
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.chat.release(&self.running.chat_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_task_at_a_time_with_increasing_ids() {
        let chat = Chat::default();
        let failed = chat.reserve().unwrap();
        assert_eq!(failed.chat_id(), "chat-1");
        drop(failed);
        assert_eq!(
            chat.running_id(),
            None,
            "a start that failed frees the slot"
        );
        let first = chat.reserve().unwrap().keep();
        assert_eq!(first.chat_id, "chat-2");
        assert_eq!(chat.reserve().err().as_deref(), Some("chat-2"));
        assert!(chat.controls("chat-2").is_some());
        assert!(chat.controls("chat-9").is_none());
        chat.release("chat-9");
        assert_eq!(chat.running_id().as_deref(), Some("chat-2"));
        chat.release("chat-2");
        assert_eq!(chat.running_id(), None);
        assert_eq!(chat.reserve().unwrap().chat_id(), "chat-3");
    }
}
