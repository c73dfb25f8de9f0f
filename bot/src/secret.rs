//! Credentials held in memory: the webhook secret, a token, an app's private key.

use std::fmt;

use serde::Deserialize;

/// A credential. Its `Debug` prints `[redacted]`, so configs, job contexts and panic
/// messages that include it never leak it into logs; `expose` is the one way to read it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(
            format!("{:?}", Some(vec![secret.clone()])),
            "Some([[redacted]])"
        );
        assert_eq!(secret.expose(), "hunter2");
    }
}
