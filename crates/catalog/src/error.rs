//! The catalog crate's one error type.
//! Invariant: loading never half-succeeds; any problem in any file fails the whole load.

use std::fmt;

use crate::check::Problem;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the platform catalog is invalid:\n{}", ProblemList(.0))]
    Invalid(Vec<Problem>),
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "  {problem}")?;
        }
        Ok(())
    }
}
