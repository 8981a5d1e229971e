//! Which database a URL selects. Only `sqlite:` and `postgres:`/`postgresql:` are accepted.

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(StoreError::UnsupportedUrl {
                // Only the scheme: a URL may carry a password.
                scheme: other.chars().take(32).collect(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_backend_by_scheme_and_refuses_others() {
        assert_eq!(
            Backend::from_url("sqlite://./k.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        for bad in ["mysql://root:pw@h/db", "file.db", ""] {
            let err = Backend::from_url(bad).expect_err(bad).to_string();
            assert!(!err.contains("pw"), "{err}");
            assert!(err.contains("sqlite") && err.contains("postgres"), "{err}");
        }
    }
}
