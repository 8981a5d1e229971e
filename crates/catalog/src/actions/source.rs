//! Where actions files come from: `actions/*.json` in the catalog compiled into the binary, or in a
//! custom catalog folder. Invariant: like platform files, an unreadable or misplaced file becomes a
//! `Problem` and reading goes on; `*.md` notes and dotfiles are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use crate::check::Problem;

pub const FOLDER: &str = "actions";

pub struct ActionsSource {
    pub files: Vec<ActionsSourceFile>,
    pub problems: Vec<Problem>,
}

pub struct ActionsSourceFile {
    /// Shown in problems.
    pub path: PathBuf,
    pub stem: String,
    pub text: String,
}

impl ActionsSource {
    pub fn builtin() -> Self {
        let mut source = Self {
            files: Vec::new(),
            problems: Vec::new(),
        };
        let Some(dir) = crate::source::BUILTIN.get_dir(FOLDER) else {
            return source;
        };
        let root = Path::new("catalog");
        for sub in dir.dirs() {
            source
                .problems
                .push(Problem::new(root.join(sub.path()), "", "unexpected folder"));
        }
        for file in dir.files() {
            source.push(root.join(file.path()), file.contents().to_vec());
        }
        source.files.sort_by(|a, b| a.path.cmp(&b.path));
        source
    }

    /// `{root}/actions/*.json`; a missing `actions` folder is no problem.
    pub fn read_dir(root: &Path) -> Self {
        let mut source = Self {
            files: Vec::new(),
            problems: Vec::new(),
        };
        let dir = root.join(FOLDER);
        if !dir.exists() {
            return source;
        }
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(err) => {
                source
                    .problems
                    .push(Problem::new(dir, "", format!("cannot read folder: {err}")));
                return source;
            }
        };
        for item in listing {
            let path = match item {
                Ok(item) => item.path(),
                Err(err) => {
                    source.problems.push(Problem::new(
                        &dir,
                        "",
                        format!("cannot list folder: {err}"),
                    ));
                    continue;
                }
            };
            if path.is_dir() {
                source
                    .problems
                    .push(Problem::new(path, "", "unexpected folder"));
                continue;
            }
            match fs::read(&path) {
                Ok(bytes) => source.push(path, bytes),
                Err(err) => {
                    source
                        .problems
                        .push(Problem::new(path, "", format!("cannot read file: {err}")))
                }
            }
        }
        source.files.sort_by(|a, b| a.path.cmp(&b.path));
        source
    }

    fn push(&mut self, path: PathBuf, bytes: Vec<u8>) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with(".md") {
            return;
        }
        let Some(stem) = name.strip_suffix(".json") else {
            self.problems
                .push(Problem::new(path, "", "actions files must end in `.json`"));
            return;
        };
        match String::from_utf8(bytes) {
            Ok(text) => self.files.push(ActionsSourceFile {
                stem: stem.to_owned(),
                path,
                text,
            }),
            Err(_) => self
                .problems
                .push(Problem::new(path, "", "file is not UTF-8")),
        }
    }

    /// Every file compiled; `platform_exists` says which slugs the catalog holds.
    pub fn compile(
        &self,
        platform_exists: &dyn Fn(&str) -> bool,
    ) -> (Vec<Vec<crate::actions::Action>>, Vec<Problem>) {
        let mut problems = self.problems.clone();
        let mut files = Vec::with_capacity(self.files.len());
        for file in &self.files {
            match crate::actions::check::compile(
                &file.path,
                &file.stem,
                &file.text,
                platform_exists,
            ) {
                Ok(actions) => files.push(actions),
                Err(found) => problems.extend(found),
            }
        }
        (files, problems)
    }
}
