//! `HOST` and `PORT`: where a service listens, read like every other variable.

use env_config::{ConfigError, EnvReader};

/// `HOST` and `PORT`: where a service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    pub host: String,
    pub port: u16,
}

impl ListenConfig {
    pub fn from_env(env: &EnvReader, default_port: u16) -> Result<Self, ConfigError> {
        let host = env.string("HOST", "127.0.0.1");
        if host.parse::<std::net::IpAddr>().is_err() && !is_hostname(&host) {
            return Err(ConfigError::new(
                "HOST",
                &host,
                "an IP address or a host name",
            ));
        }
        let port = env.parse("PORT", default_port, "a port number between 0 and 65535")?;
        Ok(Self { host, port })
    }
}

fn is_hostname(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let err =
            ListenConfig::from_env(&EnvReader::from_pairs([("PORT", "abc")]), 5000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid PORT='abc': a port number between 0 and 65535"
        );
        assert!(
            ListenConfig::from_env(&EnvReader::from_pairs([("HOST", "bad host!")]), 1).is_err()
        );
    }

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        let env = EnvReader::from_pairs([("PORT", "  ")]);
        assert_eq!(
            ListenConfig::from_env(&env, 5003).unwrap(),
            ListenConfig {
                host: "127.0.0.1".into(),
                port: 5003
            }
        );
    }
}
