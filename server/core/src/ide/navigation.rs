//! Go to definition: from a profile name (the string in `ctx.integration("…")`, or a client bound
//! to one) to the profile's TOML file.

use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::analysis::{Analysis, NodesAt, SdkValue};
use crate::source::SourceFile;
use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavigationTarget {
    /// The file, relative to the workspace root (`integrations/virustotal.toml`).
    pub path: String,
    /// What was clicked on.
    pub origin: TextRange,
}

pub fn definition(
    source: &SourceFile,
    workspace: &Workspace,
    offset: TextSize,
) -> Option<NavigationTarget> {
    let analysis = Analysis::new(source, workspace)?;
    let nodes = NodesAt::find(analysis.module(), offset);
    let (profile, origin) = if let Some(string) = nodes.string_itself() {
        let call = nodes.call_with_argument(string, &["name"])?;
        let reference = analysis.bindings.integration_ref(call)?;
        (reference.range == string.range()).then_some((reference.name, string.range()))?
    } else if let Some(name) = nodes.name {
        match analysis.value_of(&Expr::Name(name.clone()))? {
            SdkValue::Client(Some(profile)) => (profile, name.range()),
            _ => return None,
        }
    } else {
        return None;
    };
    let entry = workspace.profile(&profile)?;
    Some(NavigationTarget {
        path: entry.path.clone(),
        origin,
    })
}

/// Where a profile file names its profile (`name = "…"`), to land on.
pub fn profile_name_range(profile_text: &str) -> TextRange {
    crate::formats::key_range(profile_text, "name")
}
