//! Writes imported actions to `{out}/{platform}.json`, merging with the file already there: an
//! imported action replaces the one with the same method and path, the others stay. Invariant:
//! the written file is sorted by path then method, one action per line, so re-imports diff cleanly
//! action by action and the catalog stays compact.

use std::path::{Path, PathBuf};

use super::ImportError;
use crate::actions::file::{ActionFile, ActionsFile};

/// Returns the file written and how many actions it now holds.
pub fn merge_into(
    out_dir: &Path,
    platform: &str,
    source: &str,
    actions: Vec<ActionFile>,
) -> Result<(PathBuf, usize), ImportError> {
    let path = out_dir.join(format!("{platform}.json"));
    let error = |reason: String| ImportError::Write {
        path: path.display().to_string(),
        reason,
    };
    let mut file = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<ActionsFile>(&text)
            .map_err(|e| error(format!("the existing file does not parse: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ActionsFile {
            platform: platform.to_owned(),
            sources: Vec::new(),
            actions: Vec::new(),
        },
        Err(e) => return Err(error(e.to_string())),
    };
    let route = |a: &ActionFile| (a.path.clone(), a.method.clone());
    file.actions
        .retain(|old| !actions.iter().any(|new| route(new) == route(old)));
    file.actions.extend(actions);
    file.actions.sort_by_key(route);
    let mut keys = std::collections::BTreeSet::new();
    for action in &mut file.actions {
        if let Some(key) = &action.key {
            let mut unique = key.clone();
            let mut n = 2;
            while !keys.insert(unique.clone()) {
                unique = format!("{key}-{n}");
                n += 1;
            }
            action.key = Some(unique);
        }
    }
    if !source.is_empty() && !file.sources.iter().any(|s| s == source) {
        file.sources.push(source.to_owned());
    }
    let count = file.actions.len();
    let text = render(&file).map_err(|e| error(e.to_string()))?;
    std::fs::create_dir_all(out_dir).map_err(|e| error(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| error(e.to_string()))?;
    Ok((path, count))
}

/// `{"platform": …, "sources": […], "actions": [` then one action per line, then `]}`.
fn render(file: &ActionsFile) -> Result<String, serde_json::Error> {
    let mut out = String::from("{\n");
    out.push_str(&format!(
        "  \"platform\": {},\n",
        serde_json::to_string(&file.platform)?
    ));
    if !file.sources.is_empty() {
        out.push_str(&format!(
            "  \"sources\": {},\n",
            serde_json::to_string(&file.sources)?
        ));
    }
    out.push_str("  \"actions\": [\n");
    for (index, action) in file.actions.iter().enumerate() {
        out.push_str("    ");
        out.push_str(&serde_json::to_string(action)?);
        if index + 1 < file.actions.len() {
            out.push(',');
        }
        out.push('\n');
    }
    out.push_str("  ]\n}\n");
    Ok(out)
}
