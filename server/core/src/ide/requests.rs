//! RP003 on `requests`: rewrite `requests.get("https://host/base/path", params=…)` into
//! `ctx.integration("Profile").get("/path", params=…)` where the target is clear: the URL is
//! written literally, its host is the host of exactly one profile, the URL lies under that
//! profile's base URL, the call passes only what the client accepts (`params`, `json`, `data`,
//! `headers`, `timeout`), and a context is in scope. The import goes when nothing else uses it.
//!
//! The rewrite changes behaviour (the SDK's `Response` has `status`, not `status_code`), so it is
//! offered as a quick fix, never applied by `fixAll`.

use std::collections::HashSet;

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{Expr, ExprCall, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::analysis::Analysis;
use crate::diagnostic::Edit;
use crate::lint::semantic::leading_text;

pub(crate) struct Rewrite {
    pub(crate) title: String,
    pub(crate) edits: Vec<Edit>,
}

/// Keyword arguments of `requests` calls that mean the same to an integration client.
const PORTABLE_KEYWORDS: &[&str] = &["url", "params", "json", "data", "headers", "timeout"];

pub(crate) fn rewrite_requests(analysis: &Analysis) -> Option<Rewrite> {
    let imports: Vec<(&String, TextRange)> = analysis
        .bindings
        .imports
        .iter()
        .filter(|(_, import)| {
            import.qualified == "requests" || import.qualified.starts_with("requests.")
        })
        .map(|(name, import)| (name, import.range))
        .collect();
    if imports.is_empty() {
        return None;
    }
    let bound: HashSet<&str> = imports.iter().map(|(name, _)| name.as_str()).collect();

    let mut calls = Calls::default();
    for stmt in &analysis.module().body {
        calls.visit_stmt(stmt);
    }

    let mut edits = Vec::new();
    let mut rewritten: Vec<TextRange> = Vec::new();
    let mut profiles: Vec<String> = Vec::new();
    for call in &calls.calls {
        if let Some((call_edits, profile)) = rewrite_call(analysis, call) {
            edits.extend(call_edits);
            rewritten.push(call.func.range());
            if !profiles.contains(&profile) {
                profiles.push(profile);
            }
        }
    }
    if rewritten.is_empty() {
        return None;
    }

    // Drop the import when every use of it was rewritten.
    let still_used = calls.names.iter().any(|(name, range)| {
        bound.contains(name.as_str()) && !rewritten.iter().any(|func| func.contains_range(*range))
    });
    if !still_used {
        for (_, alias_range) in &imports {
            if let Some(statement) = calls
                .imports
                .iter()
                .find(|(_, aliases)| aliases.len() == 1 && aliases[0] == *alias_range)
                .map(|(statement, _)| *statement)
            {
                edits.push(Edit::replace(whole_lines(analysis.text(), statement), ""));
            }
        }
    }

    let title = match profiles.as_slice() {
        [profile] => format!("Rewrite `requests` calls to integration `{profile}`"),
        _ => "Rewrite `requests` calls to integration clients".to_string(),
    };
    edits.sort_by_key(|edit| (edit.range.start(), edit.range.end()));
    Some(Rewrite { title, edits })
}

/// The edits for one call, and the profile it now goes through.
fn rewrite_call(analysis: &Analysis, call: &ExprCall) -> Option<(Vec<Edit>, String)> {
    if !analysis.bindings.is_imported(&call.func) {
        return None;
    }
    let qualified = analysis.bindings.qualified_name(&call.func)?;
    let method = qualified.strip_prefix("requests.")?;
    if !super::analysis::is_request_method(method) {
        return None;
    }
    if call.arguments.args.len() > 1
        || call.arguments.keywords.iter().any(|k| {
            k.arg
                .as_ref()
                .is_none_or(|arg| !PORTABLE_KEYWORDS.contains(&arg.as_str()))
        })
        || call
            .arguments
            .args
            .iter()
            .any(|arg| matches!(arg, Expr::Starred(_)))
    {
        return None;
    }
    let url = call
        .arguments
        .args
        .first()
        .or_else(|| call.arguments.find_keyword("url").map(|k| &k.value))?;
    let is_single_part = match url {
        Expr::StringLiteral(literal) => !literal.value.is_implicit_concatenated(),
        Expr::FString(fstring) => !fstring.value.is_implicit_concatenated(),
        _ => false,
    };
    if !is_single_part {
        return None;
    }
    let leading = leading_text(url)?;
    let parsed = url::Url::parse(&leading).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let mut matching = analysis
        .workspace
        .profiles()
        .filter(|entry| entry.profile.host().as_deref() == Some(host.as_str()));
    let entry = matching.next()?;
    if matching.next().is_some() {
        return None;
    }
    let ctx = analysis.ctx_name_at(call.range().start())?;

    // Work on the source text: what is between the quote and the path must be spelled plainly.
    let text = analysis.text();
    let raw = &text[url.range()];
    let quote = raw.find(['"', '\''])?;
    let quotes = if raw[quote..].starts_with("\"\"\"") || raw[quote..].starts_with("'''") {
        3
    } else {
        1
    };
    let content = &raw[quote + quotes..];
    let scheme_end = content.find("://")? + 3;
    let authority_end = content[scheme_end..]
        .find(['/', '?', '#', '{', '"', '\''])
        .map_or(content.len(), |i| scheme_end + i);
    let authority = &content[scheme_end..authority_end];
    if authority.contains('\\') || !authority.to_ascii_lowercase().starts_with(&host) {
        return None;
    }
    let base_path = entry.profile.base_path();
    let after_authority = &content[authority_end..];
    let rest = after_authority.strip_prefix(base_path.as_str())?;
    let path_follows = rest.starts_with(['/', '?', '"', '\'']) || rest.is_empty();
    if !path_follows {
        return None;
    }
    let removed = authority_end + base_path.len();
    let start = url.range().start() + size(quote + quotes);
    let replacement = if rest.starts_with('/') { "" } else { "/" };
    let profile = entry.profile.name.clone();
    let edits = vec![
        Edit::replace(
            call.func.range(),
            format!(
                "{ctx}.integration({}).{method}",
                toml::Value::String(profile.clone())
            ),
        ),
        Edit::replace(TextRange::at(start, size(removed)), replacement),
    ];
    Some((edits, profile))
}

/// The lines a statement occupies, with the line ending after it.
fn whole_lines(text: &str, range: TextRange) -> TextRange {
    let start = text[..range.start().to_usize()]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = text[range.end().to_usize()..]
        .find('\n')
        .map_or(text.len(), |i| range.end().to_usize() + i + 1);
    TextRange::new(size(start), size(end))
}

fn size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or_default()
}

#[derive(Default)]
struct Calls<'a> {
    calls: Vec<&'a ExprCall>,
    /// Every name read, with where.
    names: Vec<(String, TextRange)>,
    /// Import statements with their aliases' ranges.
    imports: Vec<(TextRange, Vec<TextRange>)>,
}

impl<'a> Visitor<'a> for Calls<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => self.imports.push((
                import.range(),
                import.names.iter().map(Ranged::range).collect(),
            )),
            Stmt::ImportFrom(import) => self.imports.push((
                import.range(),
                import.names.iter().map(Ranged::range).collect(),
            )),
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => self.calls.push(call),
            Expr::Name(name) => self.names.push((name.id.to_string(), name.range())),
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::apply_edits;
    use crate::formats::profile::Profile;
    use crate::ide::analysis::Analysis;
    use crate::source::SourceFile;
    use crate::workspace::Workspace;

    fn workspace() -> Workspace {
        let mut workspace = Workspace::default();
        for (name, base) in [
            ("VirusTotal", "https://www.virustotal.com/api/v3"),
            ("Slack", "https://slack.com/api"),
            ("Slack Mirror", "https://slack.com/mirror"),
        ] {
            let text =
                format!("name = \"{name}\"\nbase_url = \"{base}\"\n[auth]\nmethod = \"bearer\"\n");
            let (profile, diagnostics) = Profile::parse(&text);
            assert!(diagnostics.is_empty(), "{diagnostics:?}");
            workspace.add_profile(format!("integrations/{name}.toml"), profile.unwrap(), None);
        }
        workspace
    }

    fn rewrite(code: &str) -> Option<String> {
        let workspace = workspace();
        let source = SourceFile::new(code);
        let analysis = Analysis::new(&source, &workspace).unwrap();
        let rewrite = super::rewrite_requests(&analysis)?;
        Some(apply_edits(code, &rewrite.edits))
    }

    #[test]
    fn rewrites_a_literal_url_under_one_profile() {
        let code = "import requests\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    for url in alert.urls():\n        report = requests.get(f\"https://www.virustotal.com/api/v3/urls/{url.id}\", timeout=10)\n        ctx.log(\"done\", status=report.status)\n";
        let fixed = rewrite(code).unwrap();
        assert_eq!(
            fixed,
            "from riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    for url in alert.urls():\n        report = ctx.integration(\"VirusTotal\").get(f\"/urls/{url.id}\", timeout=10)\n        ctx.log(\"done\", status=report.status)\n"
        );
    }

    #[test]
    fn keeps_the_import_while_other_uses_remain() {
        let code = "import requests as rq\n\ndef run(alert, ctx):\n    rq.post('https://www.virustotal.com/api/v3', json={})\n    rq.get(alert.url)\n";
        let fixed = rewrite(code).unwrap();
        assert_eq!(
            fixed,
            "import requests as rq\n\ndef run(alert, ctx):\n    ctx.integration(\"VirusTotal\").post('/', json={})\n    rq.get(alert.url)\n"
        );
    }

    #[test]
    fn leaves_unclear_targets_alone() {
        // Two profiles on the host, a URL outside the base path, an unportable keyword, no ctx.
        for code in [
            "import requests\ndef run(alert, ctx):\n    requests.get('https://slack.com/api/chat.postMessage')\n",
            "import requests\ndef run(alert, ctx):\n    requests.get('https://www.virustotal.com/gui/home')\n",
            "import requests\ndef run(alert, ctx):\n    requests.get('https://www.virustotal.com/api/v3/x', verify=False)\n",
            "import requests\ndef helper():\n    requests.get('https://www.virustotal.com/api/v3/x')\n",
            "import requests\ndef run(alert, ctx):\n    requests.get(alert.url)\n",
        ] {
            assert_eq!(rewrite(code), None, "{code}");
        }
    }
}
