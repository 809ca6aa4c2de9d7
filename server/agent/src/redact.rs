//! Keeping secrets away from the model and out of transcripts. Everything a tool returns, and
//! every transcript line, goes through a [`Scrubber`]: the runtime's [`Redactor`] (which knows
//! every secret value of the workspace's profiles, from the same sources a run uses, plus the
//! model provider's key) and a scan for credential-shaped strings (keys, tokens, private keys)
//! that nobody registered, e.g. one pasted into a prompt.

use std::sync::Arc;

use riposte_core::lint::secrets::credential_ranges;
use riposte_runtime::secrets::{REDACTED, Redactor};

#[derive(Clone, Default)]
pub struct Scrubber {
    redactor: Arc<Redactor>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scrubber")
    }
}

impl Scrubber {
    /// Uses `redactor` (typically the one of the run's `Integrations`, which has registered every
    /// profile secret it can find).
    pub fn new(redactor: Arc<Redactor>) -> Self {
        Self { redactor }
    }

    /// Remembers one more secret value (the model provider's key).
    pub fn add_secret(&self, value: &str) {
        self.redactor.add_secret(value);
    }

    /// `text` with known secrets, credential headers and parameters, and credential-shaped
    /// strings replaced by `[REDACTED]`.
    pub fn scrub(&self, text: &str) -> String {
        let known_removed = self.redactor.redact(text);
        // RP008's shapes (`riposte_core::lint::secrets`): one list of what a credential looks like.
        let mut out = String::with_capacity(known_removed.len());
        let mut kept_from = 0;
        for range in credential_ranges(&known_removed) {
            out.push_str(&known_removed[kept_from..range.start]);
            out.push_str(REDACTED);
            kept_from = range.end;
        }
        out.push_str(&known_removed[kept_from..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_shapes_are_redacted() {
        let scrubber = Scrubber::default();
        scrubber.add_secret("fake-profile-secret-123");
        let text = "key fake-profile-secret-123, aws AKIAABCDEFGHIJKLMNOP, \
                    url https://bob:hunter22@example.test/x, header Authorization: Bearer abcdefghijklmnopqrstu";
        let out = scrubber.scrub(text);
        for leaked in [
            "fake-profile-secret-123",
            "AKIAABCDEFGHIJKLMNOP",
            "hunter22",
            "abcdefghijklmnopqrstu",
        ] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(out.contains("https://[REDACTED]@example.test/x"), "{out}");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "def run(alert, ctx):\n    vt = ctx.integration(\"VirusTotal\")\n";
        assert_eq!(Scrubber::default().scrub(text), text);
    }
}
