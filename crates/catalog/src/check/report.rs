//! Collects the problems of one file while its parts are checked.
//! Invariant: a check that returns `None` has recorded at least one problem.

use std::path::Path;

use super::Problem;

pub(super) struct Report<'a> {
    file: &'a Path,
    problems: Vec<Problem>,
}

impl<'a> Report<'a> {
    pub fn new(file: &'a Path) -> Self {
        Self {
            file,
            problems: Vec::new(),
        }
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(self.file, field, message));
    }

    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }
}

/// A point in a report to ask later whether anything was added since.
#[derive(Clone, Copy)]
pub(super) struct Mark(usize);

impl Report<'_> {
    pub fn mark(&self) -> Mark {
        Mark(self.problems.len())
    }

    pub fn clean_since(&self, mark: Mark) -> bool {
        self.problems.len() == mark.0
    }
}
