//! `read_file`, `write_playbook` and the path rules behind them: reads stay inside the workspace
//! and never touch secrets files; writes go only to `playbooks/<name>.py` (and the docs beside
//! it), atomically, with a diff for the person to approve.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// Largest file `read_file` returns: no playbook, profile or alert is this big.
pub const MAX_READ_BYTES: u64 = 256 * 1024;

/// File names that hold (or usually hold) secrets: never read, whatever the folder.
fn is_secrets_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == ".env"
        || lower.starts_with(".env.")
        || lower.ends_with(".env")
        || lower.contains("secret")
        || lower.contains("credential")
        || lower == ".netrc"
        || lower == ".npmrc"
        || lower == ".pypirc"
        || lower.starts_with("id_rsa")
        || lower.starts_with("id_ed25519")
        || lower.starts_with("id_ecdsa")
        || [".pem", ".key", ".p12", ".pfx", ".jks", ".keystore"]
            .iter()
            .any(|ext| lower.ends_with(ext))
}

/// Why a path was refused (the message goes to the model and the person as it is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathRefused(pub String);

/// A workspace-relative path, checked to stay inside the workspace. Returns the absolute path.
pub fn resolve_inside(root: &Path, path: &str) -> Result<PathBuf, PathRefused> {
    let relative = Path::new(path.trim());
    if relative.as_os_str().is_empty() {
        return Err(PathRefused("the path is empty".into()));
    }
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(PathRefused(format!(
            "{path}: give a path relative to the workspace root, without `..` (files outside the workspace are not readable)"
        )));
    }
    for component in relative.components() {
        if let Component::Normal(name) = component {
            let name = name.to_string_lossy();
            if is_secrets_file(&name) {
                return Err(PathRefused(format!(
                    "{path}: secrets files are never read; profiles in integrations/ say which secrets exist, by name only"
                )));
            }
            if name == ".git" || name == ".riposte" {
                return Err(PathRefused(format!(
                    "{path}: {name}/ is not part of the workspace's content"
                )));
            }
        }
    }
    let root = std::fs::canonicalize(root)
        .map_err(|err| PathRefused(format!("cannot open the workspace: {err}")))?;
    let joined = root.join(relative);
    // A symlink inside the workspace must not lead outside it.
    let canonical =
        std::fs::canonicalize(&joined).map_err(|err| PathRefused(format!("{path}: {err}")))?;
    if !canonical.starts_with(&root) {
        return Err(PathRefused(format!(
            "{path} leads outside the workspace; only workspace files are readable"
        )));
    }
    if let Some(name) = canonical.file_name()
        && is_secrets_file(&name.to_string_lossy())
    {
        return Err(PathRefused(format!("{path}: secrets files are never read")));
    }
    Ok(canonical)
}

#[derive(Debug, Deserialize)]
pub struct ReadArgs {
    pub path: String,
}

/// `read_file`: the text of a workspace file.
pub fn read_file(root: &Path, args: &ReadArgs) -> Result<String, String> {
    let path = resolve_inside(root, &args.path).map_err(|e| e.0)?;
    let metadata = std::fs::metadata(&path).map_err(|err| format!("{}: {err}", args.path))?;
    if metadata.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .map_err(|err| format!("{}: {err}", args.path))?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !is_secrets_file(name) && !name.starts_with('.'))
            .collect();
        names.sort();
        return Ok(format!(
            "{} is a folder with: {}",
            args.path,
            names.join(", ")
        ));
    }
    if metadata.len() > MAX_READ_BYTES {
        return Err(format!(
            "{} is {} bytes; read_file returns files up to {MAX_READ_BYTES} bytes",
            args.path,
            metadata.len()
        ));
    }
    let bytes = std::fs::read(&path).map_err(|err| format!("{}: {err}", args.path))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not a UTF-8 text file", args.path))
}

/// A playbook path the agent may write: `playbooks/<name>.py` (a bare `<name>` or `<name>.py`
/// means the same). Returns the workspace-relative form.
pub fn playbook_path(path: &str) -> Result<String, PathRefused> {
    let trimmed = path.trim().trim_start_matches("./");
    let name = trimmed.strip_prefix("playbooks/").unwrap_or(trimmed);
    let stem = name.strip_suffix(".py").unwrap_or(name);
    let valid = !stem.is_empty()
        && stem.len() <= 100
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !stem.starts_with('-');
    if !valid {
        return Err(PathRefused(format!(
            "{path}: playbooks are written only as playbooks/<name>.py, with a name of letters, digits, `-` and `_`"
        )));
    }
    Ok(format!("playbooks/{stem}.py"))
}

/// The absolute path of a workspace-relative path made by [`playbook_path`], refusing a
/// `playbooks/` that is a link out of the workspace.
pub fn writable(root: &Path, relative: &str) -> Result<PathBuf, PathRefused> {
    let root = std::fs::canonicalize(root)
        .map_err(|err| PathRefused(format!("cannot open the workspace: {err}")))?;
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| PathRefused(format!("cannot create {}: {err}", parent.display())))?;
        let parent = std::fs::canonicalize(parent)
            .map_err(|err| PathRefused(format!("{relative}: {err}")))?;
        if !parent.starts_with(&root) {
            return Err(PathRefused(format!(
                "{relative}: playbooks/ leads outside the workspace"
            )));
        }
    }
    if path.is_symlink() {
        return Err(PathRefused(format!(
            "{relative} is a symbolic link; the agent does not write through links"
        )));
    }
    Ok(path)
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SearchReplace {
    pub search: String,
    pub replace: String,
}

#[derive(Debug, Deserialize)]
pub struct WriteArgs {
    pub path: String,
    pub content: Option<String>,
    pub edits: Option<Vec<SearchReplace>>,
}

/// The new text of a playbook: the whole `content`, or `edits` applied in order to `old`.
pub fn new_text(path: &str, old: Option<&str>, args: &WriteArgs) -> Result<String, String> {
    match (&args.content, &args.edits) {
        (Some(content), None) => Ok(content.clone()),
        (None, Some(edits)) => {
            let Some(old) = old else {
                return Err(format!(
                    "{path} does not exist yet: write the whole file with `content`"
                ));
            };
            apply_edits(path, old, edits)
        }
        (Some(_), Some(_)) => Err("give either `content` or `edits`, not both".into()),
        (None, None) => Err("give the whole file as `content`, or `edits`".into()),
    }
}

fn apply_edits(path: &str, old: &str, edits: &[SearchReplace]) -> Result<String, String> {
    if edits.is_empty() {
        return Err("`edits` is empty".into());
    }
    let mut text = old.to_string();
    for (index, edit) in edits.iter().enumerate() {
        if edit.search.is_empty() {
            return Err(format!("edit {}: `search` is empty", index + 1));
        }
        let found = text.matches(edit.search.as_str()).count();
        if found != 1 {
            return Err(format!(
                "edit {}: the search text was found {found} times in {path}; it must match exactly once (copy it exactly from the current file, with enough lines to be unique). No edit was applied",
                index + 1
            ));
        }
        text = text.replacen(edit.search.as_str(), &edit.replace, 1);
    }
    Ok(text)
}

/// A unified diff of `old` → `new` for the person to approve.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Writes through a temporary file in the same folder and a rename, so a reader never sees half
/// a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbook_paths_are_confined_to_playbooks() {
        assert_eq!(playbook_path("playbooks/vt.py").unwrap(), "playbooks/vt.py");
        assert_eq!(playbook_path("vt").unwrap(), "playbooks/vt.py");
        assert_eq!(
            playbook_path("./playbooks/a_b-1.py").unwrap(),
            "playbooks/a_b-1.py"
        );
        for bad in [
            "../x.py",
            "playbooks/../../etc/passwd",
            "/tmp/x.py",
            "integrations/vt.toml",
            "playbooks/sub/x.py",
            "playbooks/.py",
            "",
        ] {
            assert!(playbook_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_stay_inside_and_skip_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("playbooks")).unwrap();
        std::fs::write(root.join("playbooks/a.py"), "x = 1\n").unwrap();
        std::fs::write(root.join(".env"), "RIPOSTE_X_API_KEY=fake\n").unwrap();
        std::fs::write(root.join("secrets.toml"), "").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("other.txt"), "no").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("other.txt"), root.join("link.txt"))
            .unwrap();

        let read = |path: &str| {
            read_file(
                root,
                &ReadArgs {
                    path: path.to_string(),
                },
            )
        };
        assert_eq!(read("playbooks/a.py").unwrap(), "x = 1\n");
        assert!(read(".env").unwrap_err().contains("secrets files"));
        assert!(read("secrets.toml").unwrap_err().contains("secrets files"));
        assert!(read("../x").unwrap_err().contains("without `..`"));
        assert!(read("/etc/passwd").unwrap_err().contains("relative"));
        #[cfg(unix)]
        assert!(
            read("link.txt")
                .unwrap_err()
                .contains("outside the workspace")
        );
        let listing = read(".").unwrap();
        assert!(
            listing.contains("playbooks") && !listing.contains(".env"),
            "{listing}"
        );
    }

    #[test]
    fn edits_must_match_exactly_once() {
        let old = "a = 1\nb = 1\n";
        let args = |search: &str| WriteArgs {
            path: "playbooks/x.py".into(),
            content: None,
            edits: Some(vec![SearchReplace {
                search: search.into(),
                replace: "c = 2".into(),
            }]),
        };
        assert_eq!(
            new_text("playbooks/x.py", Some(old), &args("b = 1")).unwrap(),
            "a = 1\nc = 2\n"
        );
        let twice = new_text("playbooks/x.py", Some(old), &args("= 1")).unwrap_err();
        assert!(twice.contains("found 2 times"), "{twice}");
        let none = new_text("playbooks/x.py", Some(old), &args("z")).unwrap_err();
        assert!(none.contains("found 0 times"), "{none}");
        assert!(new_text("playbooks/x.py", None, &args("a")).is_err());
    }

    #[test]
    fn diff_and_atomic_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p/x.py");
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let shown = diff("playbooks/x.py", "old\n", "new\n");
        assert!(shown.contains("-old") && shown.contains("+new"), "{shown}");
    }
}
