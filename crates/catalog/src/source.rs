//! Where catalog files come from: the folder compiled into the binary, or a folder on disk with
//! the same layout (`platforms/*.toml`, `logos/*`).
//! Invariant: reading never stops at the first bad entry; each unreadable or misplaced file
//! becomes a `Problem` and the rest are still read.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::check::Problem;
use crate::logo::{self, Logo};

pub(crate) static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../catalog");

/// How built-in file paths are shown in problems: as in the repository.
const BUILTIN_ROOT: &str = "catalog";

pub(crate) struct Source {
    pub files: Vec<SourceFile>,
    pub logos: BTreeMap<String, Logo>,
    pub problems: Vec<Problem>,
}

pub(crate) struct SourceFile {
    /// Shown in problems.
    pub path: PathBuf,
    pub stem: String,
    pub text: String,
}

enum Entry {
    Platform {
        path: PathBuf,
        name: String,
        bytes: Vec<u8>,
    },
    Logo {
        path: PathBuf,
        name: String,
        bytes: Cow<'static, [u8]>,
    },
    Unexpected {
        path: PathBuf,
        message: &'static str,
    },
}

impl Source {
    pub fn builtin() -> Self {
        let root = Path::new(BUILTIN_ROOT);
        let mut entries = Vec::new();
        for (folder, is_logo) in [("platforms", false), ("logos", true)] {
            let Some(dir) = BUILTIN.get_dir(folder) else {
                continue;
            };
            for sub in dir.dirs() {
                entries.push(Entry::Unexpected {
                    path: root.join(sub.path()),
                    message: "unexpected folder",
                });
            }
            for file in dir.files() {
                let path = root.join(file.path());
                let name = file_name(file.path());
                entries.push(if is_logo {
                    Entry::Logo {
                        path,
                        name,
                        bytes: Cow::Borrowed(file.contents()),
                    }
                } else {
                    Entry::Platform {
                        path,
                        name,
                        bytes: file.contents().to_vec(),
                    }
                });
            }
        }
        Self::from_entries(entries, Vec::new())
    }

    pub fn read_dir(root: &Path) -> Self {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        for (folder, is_logo) in [("platforms", false), ("logos", true)] {
            let dir = root.join(folder);
            if is_logo && !dir.exists() {
                continue;
            }
            let listing = match fs::read_dir(&dir) {
                Ok(listing) => listing,
                Err(err) => {
                    problems.push(Problem::new(dir, "", format!("cannot read folder: {err}")));
                    continue;
                }
            };
            for item in listing {
                let path = match item {
                    Ok(item) => item.path(),
                    Err(err) => {
                        problems.push(Problem::new(&dir, "", format!("cannot list folder: {err}")));
                        continue;
                    }
                };
                if path.is_dir() {
                    entries.push(Entry::Unexpected {
                        path,
                        message: "unexpected folder",
                    });
                    continue;
                }
                match fs::read(&path) {
                    Ok(bytes) => {
                        let name = file_name(&path);
                        entries.push(if is_logo {
                            Entry::Logo {
                                path,
                                name,
                                bytes: Cow::Owned(bytes),
                            }
                        } else {
                            Entry::Platform { path, name, bytes }
                        });
                    }
                    Err(err) => {
                        problems.push(Problem::new(path, "", format!("cannot read file: {err}")))
                    }
                }
            }
        }
        Self::from_entries(entries, problems)
    }

    fn from_entries(entries: Vec<Entry>, mut problems: Vec<Problem>) -> Self {
        let mut files = Vec::new();
        let mut logos = BTreeMap::new();
        for entry in entries {
            match entry {
                Entry::Platform { name, .. } | Entry::Logo { name, .. }
                    if name.starts_with('.') => {}
                Entry::Platform { path, name, bytes } => {
                    let Some(stem) = name.strip_suffix(".toml") else {
                        problems.push(Problem::new(path, "", "platform files must end in `.toml`"));
                        continue;
                    };
                    match String::from_utf8(bytes) {
                        Ok(text) => files.push(SourceFile {
                            stem: stem.to_owned(),
                            path,
                            text,
                        }),
                        Err(_) => problems.push(Problem::new(path, "", "file is not UTF-8")),
                    }
                }
                Entry::Logo { path, name, bytes } => {
                    if bytes.len() > logo::MAX_BYTES {
                        problems.push(Problem::new(
                            path,
                            "",
                            format!("logo is larger than {} KiB", logo::MAX_BYTES / 1024),
                        ));
                    } else if let Some(found) = Logo::new(&name, bytes) {
                        logos.insert(name, found);
                    } else {
                        problems.push(Problem::new(
                            path,
                            "",
                            "logo must be .svg, .png, .jpg or .webp",
                        ));
                    }
                }
                Entry::Unexpected { path, message } => {
                    problems.push(Problem::new(path, "", message))
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        problems.sort();
        Self {
            files,
            logos,
            problems,
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
