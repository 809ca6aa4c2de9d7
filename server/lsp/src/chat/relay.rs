//! The chat panel as the agent's front end: each [`Event`] becomes a `riposte/chat/event`
//! notification, each decision a request to the client (`riposte/chat/approve`, `ask`,
//! `switchToAct`). Everything sent has every string scrubbed by the task's scrubber first.
//!
//! Events are queued to one forwarding task, so they reach the client in the order the agent
//! emitted them; a request waits until the events before it have been sent (the panel sees
//! `approval_requested` before the approval request). Requests have no time limit (a person
//! decides); cancelling the task ends the wait, and any later answer is ignored.

use riposte_agent::provider::BoxFuture;
use riposte_agent::redact::Scrubber;
use riposte_agent::transcript::scrub_strings;
use riposte_agent::{ApprovalRequest, Decision, Event, Frontend, Plan, Question};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::request::Request;

/// `riposte/chat/event` (server → client notification).
pub enum ChatEvent {}

impl Notification for ChatEvent {
    type Params = Value;
    const METHOD: &'static str = "riposte/chat/event";
}

/// `riposte/chat/approve`.
enum Approve {}

impl Request for Approve {
    type Params = Value;
    /// Read as a `Value`: anything unexpected is a rejection, not a deserialisation error.
    type Result = Value;
    const METHOD: &'static str = "riposte/chat/approve";
}

/// `riposte/chat/ask`.
enum Ask {}

impl Request for Ask {
    type Params = Value;
    type Result = Value;
    const METHOD: &'static str = "riposte/chat/ask";
}

/// `riposte/chat/switchToAct`.
enum SwitchToAct {}

impl Request for SwitchToAct {
    type Params = Value;
    type Result = Value;
    const METHOD: &'static str = "riposte/chat/switchToAct";
}

enum Outgoing {
    Event(Value),
    /// Answered once everything queued before it has been handed to the client.
    Flush(oneshot::Sender<()>),
}

/// The front end of one chat task.
pub struct Relay {
    client: Client,
    chat_id: String,
    cancel: CancellationToken,
    scrubber: Scrubber,
    queue: mpsc::UnboundedSender<Outgoing>,
}

/// The forwarding task of a [`Relay`]; [`Forwarder::finish`] waits until every event is sent.
pub struct Forwarder(tokio::task::JoinHandle<()>);

impl Forwarder {
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}

impl Relay {
    /// A relay for `chat_id`, and its forwarding task (it ends when the relay is dropped).
    pub fn start(
        client: Client,
        chat_id: String,
        cancel: CancellationToken,
        scrubber: Scrubber,
    ) -> (Relay, Forwarder) {
        let (queue, mut receiver) = mpsc::unbounded_channel();
        let forward = {
            let client = client.clone();
            tokio::spawn(async move {
                while let Some(outgoing) = receiver.recv().await {
                    match outgoing {
                        Outgoing::Event(params) => {
                            client.send_notification::<ChatEvent>(params).await;
                        }
                        Outgoing::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
        };
        let relay = Relay {
            client,
            chat_id,
            cancel,
            scrubber,
            queue,
        };
        (relay, Forwarder(forward))
    }

    /// `value` serialised with every string scrubbed.
    fn scrubbed(&self, value: &impl Serialize) -> Value {
        let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
        scrub_strings(&mut value, &self.scrubber);
        value
    }

    /// Asks the client, after the events queued so far; `None` when the task was cancelled,
    /// the client answered with an error, or the connection is gone.
    async fn ask<R>(&self, params: Value) -> Option<Value>
    where
        R: Request<Params = Value, Result = Value>,
    {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Outgoing::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
        tokio::select! {
            answer = self.client.send_request::<R>(params) => match answer {
                Ok(value) => Some(value),
                Err(_) => {
                    tracing::info!("{}: {} answered with an error", self.chat_id, R::METHOD);
                    None
                }
            },
            () = self.cancel.cancelled() => None,
        }
    }
}

impl Frontend for Relay {
    fn event(&self, event: &Event) {
        let params = json!({ "chatId": self.chat_id, "event": self.scrubbed(event) });
        // The queue outlives every event: the forwarder stops only after the relay is dropped.
        let _ = self.queue.send(Outgoing::Event(params));
    }

    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            let params = json!({ "chatId": self.chat_id, "request": self.scrubbed(request) });
            let answer = self.ask::<Approve>(params).await;
            decision(answer.as_ref())
        })
    }

    fn answer<'a>(&'a self, question: &'a Question) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let params = json!({ "chatId": self.chat_id, "question": self.scrubbed(question) });
            let answer = self.ask::<Ask>(params).await?;
            answer
                .get("text")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    }

    fn switch_to_act<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let params = json!({ "chatId": self.chat_id, "plan": self.scrubbed(plan) });
            let answer = self.ask::<SwitchToAct>(params).await;
            answer.and_then(|a| a.get("switch").and_then(Value::as_bool)) == Some(true)
        })
    }
}

/// `{"decision": "approve"}` approves; anything else (a rejection, another shape, no answer)
/// rejects, with the person's reason when there is one.
fn decision(answer: Option<&Value>) -> Decision {
    let Some(answer) = answer else {
        return Decision::Reject { reason: None };
    };
    match answer.get("decision").and_then(Value::as_str) {
        Some("approve") => Decision::Approve,
        _ => Decision::Reject {
            reason: answer
                .get("reason")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|reason| !reason.is_empty())
                .map(str::to_owned),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_approve_approves() {
        assert_eq!(
            decision(Some(&json!({ "decision": "approve" }))),
            Decision::Approve
        );
        assert_eq!(
            decision(Some(
                &json!({ "decision": "reject", "reason": "not on prod" })
            )),
            Decision::Reject {
                reason: Some("not on prod".into())
            }
        );
        for other in [
            json!(null),
            json!({ "decision": "APPROVE" }),
            json!("approve"),
            json!({ "decision": true }),
        ] {
            assert_eq!(
                decision(Some(&other)),
                Decision::Reject { reason: None },
                "{other}"
            );
        }
        assert_eq!(decision(None), Decision::Reject { reason: None });
    }
}
