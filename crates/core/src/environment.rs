//! The two environments every project has. `test` is Pica's "Sandbox", `live` its "Production".

use std::fmt;
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Test,
    Live,
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Test, Environment::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Live => "live",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown environment {0:?}: expected \"test\" or \"live\"")]
pub struct UnknownEnvironment(pub String);

impl FromStr for Environment {
    type Err = UnknownEnvironment;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "test" => Ok(Environment::Test),
            "live" => Ok(Environment::Live),
            other => Err(UnknownEnvironment(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_others() {
        for env in Environment::ALL {
            assert_eq!(env.as_str().parse::<Environment>().ok(), Some(env));
        }
        assert!("Test".parse::<Environment>().is_err());
        assert!("production".parse::<Environment>().is_err());
    }
}
