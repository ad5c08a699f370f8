//! Environment variables into typed values, with messages that name the
//! variable, the bad value and what was expected: `invalid KEY='value': expected`.
//!
//! Every service's `Config` and the telemetry crate's `TelemetryConfig` read
//! through [`EnvReader`], so a bad value reads the same whichever part of the
//! stack refuses it, and tests pass variables without touching the process.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;
use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {key}='{value}': {expected}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub expected: String,
}

impl ConfigError {
    pub fn new(key: &str, value: &str, expected: impl Display) -> Self {
        Self {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: expected.to_string(),
        }
    }
}

/// Reads configuration from the process environment or, in tests, from a map.
pub struct EnvReader {
    overrides: Option<HashMap<String, String>>,
}

impl EnvReader {
    pub fn from_process() -> Self {
        Self { overrides: None }
    }

    /// A reader over exactly these variables (nothing from the process environment).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            overrides: Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            ),
        }
    }

    /// The variable's value; unset and blank count as absent.
    pub fn get(&self, key: &str) -> Option<String> {
        let value = match &self.overrides {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(key).ok(),
        };
        value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or_else(|| default.to_owned())
    }

    pub fn parse<T: FromStr>(
        &self,
        key: &str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| ConfigError::new(key, &value, expected)),
        }
    }

    /// An absolute `http`/`https` URL with a host.
    pub fn url(&self, key: &str, default: &str) -> Result<Url, ConfigError> {
        let value = self.string(key, default);
        let expected = "an absolute http:// or https:// URL";
        let url = Url::parse(&value).map_err(|_| ConfigError::new(key, &value, expected))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::new(key, &value, expected));
        }
        Ok(url)
    }

    pub fn optional_url(&self, key: &str) -> Result<Option<Url>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => self.url(key, &value).map(Some),
        }
    }

    /// A timeout: a positive number of milliseconds of at most ten minutes.
    pub fn millis(&self, key: &str, default_ms: u64) -> Result<Duration, ConfigError> {
        self.millis_up_to(key, default_ms, 600_000)
    }

    /// A positive number of milliseconds of at most `max_ms`.
    pub fn millis_up_to(
        &self,
        key: &str,
        default_ms: u64,
        max_ms: u64,
    ) -> Result<Duration, ConfigError> {
        let expected = format!("a whole number of milliseconds between 1 and {max_ms}");
        let ms: u64 = self.parse(key, default_ms, &expected)?;
        if !(1..=max_ms).contains(&ms) {
            return Err(ConfigError::new(key, &ms.to_string(), expected));
        }
        Ok(Duration::from_millis(ms))
    }

    /// One of `allowed` (case-insensitive), returned in lower case.
    pub fn choice(
        &self,
        key: &str,
        default: &str,
        allowed: &[&str],
    ) -> Result<String, ConfigError> {
        let value = self.string(key, default).to_ascii_lowercase();
        if allowed.contains(&value.as_str()) {
            Ok(value)
        } else {
            Err(ConfigError::new(
                key,
                &value,
                format!("one of {}", allowed.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let env = EnvReader::from_pairs([
            ("U", "not a url"),
            ("T", "0"),
            ("C", "maybe"),
            ("P", "70000"),
        ]);
        assert!(env
            .url("U", "http://x")
            .unwrap_err()
            .to_string()
            .starts_with("invalid U='not a url'"));
        assert!(env.millis("T", 5).is_err());
        assert_eq!(
            env.choice("C", "a", &["a", "b"]).unwrap_err().to_string(),
            "invalid C='maybe': one of a, b"
        );
        assert!(env.parse::<u16>("P", 1, "port").is_err());
    }

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        let env = EnvReader::from_pairs([("X", "  ")]);
        assert_eq!(env.get("X"), None);
        assert_eq!(env.millis("X", 2000).unwrap(), Duration::from_millis(2000));
        assert!(env.millis_up_to("X", 7_200_000, 86_400_000).is_ok());
        assert!(
            env.millis_up_to("X", 7_200_000, 3_600_000).is_err(),
            "a default is checked too"
        );
        assert_eq!(
            env.url("X", "http://a:1/p").unwrap().as_str(),
            "http://a:1/p"
        );
        assert!(env.url("X", "ftp://a").is_err());
        assert_eq!(env.choice("X", "SGP4", &["sgp4"]).unwrap(), "sgp4");
    }
}
