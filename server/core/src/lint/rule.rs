//! The rule registry: every check Riposte makes has a stable code, a name, a default severity and a
//! section in `docs/rules.md` (which is also what hover shows, so the two cannot drift).

use serde::{Serialize, Serializer};

use crate::diagnostic::Severity;

macro_rules! rules {
    ($($variant:ident = $code:literal, $name:literal, $severity:ident, $summary:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule { $($variant,)* }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable code, such as `RP003`.
            pub fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code,)* }
            }

            /// The kebab-case name, such as `external-import`.
            pub fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name,)* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// One line on what the rule finds.
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary,)* }
            }
        }
    };
}

rules! {
    SyntaxError = "RP001", "syntax-error", Error, "Python the parser cannot read";
    TooManyLines = "RP002", "too-many-lines", Error, "a playbook longer than `limits.max_lines`";
    ExternalImport = "RP003", "external-import", Error, "an import of a module that is neither standard library nor `riposte`";
    MissingEntryPoint = "RP004", "missing-entry-point", Error, "no top-level `def run(alert, ctx)`";
    UnknownIntegration = "RP005", "unknown-integration", Error, "`ctx.integration(\"X\")` with no profile named X";
    UnknownEndpoint = "RP006", "unknown-endpoint", Warning, "a method and path that the profile's API catalog does not have";
    MissingRequiredParameter = "RP007", "missing-required-parameter", Warning, "a call that omits a path parameter or a required field";
    HardcodedSecret = "RP008", "hardcoded-secret", Error, "a literal that looks like a credential";
    DirectNetwork = "RP009", "direct-network", Error, "network access that bypasses the integration bridge";
    DangerousCall = "RP010", "dangerous-call", Error, "code execution, process spawning or unsafe deserialisation";
    InsecureUrl = "RP011", "insecure-url", Warning, "an `http://` URL";
    ForeignHost = "RP012", "foreign-host", Error, "an absolute URL to another host passed to an integration client";
    UnknownAlertAttribute = "RP013", "unknown-alert-attribute", Warning, "`alert.<name>` that the Alert model does not have";
    PrintCall = "RP014", "print-call", Warning, "`print(...)` instead of `ctx.log(...)`";
    SwallowedException = "RP015", "swallowed-exception", Warning, "a bare `except:` or an `except Exception: pass`";
    UnsupportedSyntax = "RP016", "unsupported-syntax", Error, "syntax the configured Python version does not have";
    InvalidProfile = "RP101", "invalid-profile", Error, "an integration profile that does not parse or is incomplete";
    InvalidRule = "RP102", "invalid-rule", Error, "an automation rule that does not parse or points nowhere";
}

impl Rule {
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|rule| rule.code().eq_ignore_ascii_case(code))
    }

    /// Where `docs/rules.md` is published with the source.
    pub const DOCS_URL: &'static str =
        "https://github.com/riposte-soc/riposte/blob/main/docs/rules.md";

    /// The rule's documentation on the web (CLI JSON/SARIF output, LSP `codeDescription`).
    pub fn doc_url(self) -> String {
        format!("{}#{}", Self::DOCS_URL, self.doc_anchor())
    }

    /// The anchor of the rule's section in `docs/rules.md`, e.g. `rp003-external-import`.
    pub fn doc_anchor(self) -> String {
        format!("{}-{}", self.code().to_ascii_lowercase(), self.name())
    }

    /// The rule's section of `docs/rules.md` (what, why, example, fix), for hover and `riposte rule`.
    pub fn documentation(self) -> &'static str {
        let heading = format!("## {} {}", self.code(), self.name());
        let Some(start) = RULES_MD.find(&heading) else {
            return self.summary();
        };
        let rest = &RULES_MD[start..];
        let end = rest[heading.len()..]
            .find("\n## ")
            .map_or(rest.len(), |i| i + heading.len());
        rest[..end].trim_end()
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

const RULES_MD: &str = include_str!("../../../../docs/rules.md");
