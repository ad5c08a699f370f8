//! `HOST`, `PORT` and `TRUSTED_PROXIES`: where a service listens and whose
//! forwarding headers it believes, read like every other variable.

use crate::client_address::TrustedProxies;
use env_config::{ConfigError, EnvReader};

/// `HOST` and `PORT`: where a service listens; `TRUSTED_PROXIES`: the peers
/// whose `X-Forwarded-For`/`Forwarded` say who the client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    pub host: String,
    pub port: u16,
    pub trusted_proxies: TrustedProxies,
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
        let trusted_proxies = TrustedProxies::parse(&env.string("TRUSTED_PROXIES", ""))?;
        Ok(Self {
            host,
            port,
            trusted_proxies,
        })
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
        let err = ListenConfig::from_env(&EnvReader::from_pairs([("TRUSTED_PROXIES", "x")]), 1)
            .unwrap_err();
        assert_eq!(err.key, "TRUSTED_PROXIES");
    }

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        let env = EnvReader::from_pairs([("PORT", "  ")]);
        assert_eq!(
            ListenConfig::from_env(&env, 5003).unwrap(),
            ListenConfig {
                host: "127.0.0.1".into(),
                port: 5003,
                trusted_proxies: TrustedProxies::default(),
            }
        );
    }
}
