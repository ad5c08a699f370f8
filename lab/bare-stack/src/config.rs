//! Which role a process plays (`--role`) and where it listens and sends
//! requests (the same variables as the real services).

use std::fmt;
use std::str::FromStr;
use url::Url;

/// The part of the stack a process plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A mock of open-notify's `iss-now.json`.
    IssApi,
    Geolocator,
    IssDistance,
    Gateway,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::IssApi,
        Role::Geolocator,
        Role::IssDistance,
        Role::Gateway,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::IssApi => "iss-api",
            Role::Geolocator => "geolocator",
            Role::IssDistance => "iss-distance",
            Role::Gateway => "gateway",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.name() == text)
            .ok_or_else(|| {
                format!("unknown role '{text}' (iss-api, geolocator, iss-distance or gateway)")
            })
    }
}

/// Where a role sends its own requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Downstream {
    None,
    /// iss-distance: the ISS API.
    IssApi(Url),
    /// gateway: geolocator, then iss-distance.
    Services {
        geolocator: Url,
        iss_distance: Url,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub role: Role,
    pub host: String,
    pub port: u16,
    pub downstream: Downstream,
}

pub const USAGE: &str = "usage: bare-stack --role iss-api|geolocator|iss-distance|gateway

  HOST, PORT                  where to listen (default 127.0.0.1, any free port)
  ISS_API_URL                 iss-distance: the ISS API (open-notify's iss-now.json format)
  GEOLOCATOR_SERVICE_URL      gateway: geolocator
  ISS_DISTANCE_SERVICE_URL    gateway: iss-distance
";

impl Config {
    /// From the arguments (after the program name) and the environment (`env` looks a variable up).
    pub fn from_args(
        mut args: impl Iterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut role = None;
        while let Some(arg) = args.next() {
            let value = match arg.strip_prefix("--role=") {
                Some(value) => value.to_owned(),
                None if arg == "--role" => args.next().ok_or("--role needs a value")?,
                None => return Err(format!("unknown argument '{arg}'")),
            };
            role = Some(value.parse::<Role>()?);
        }
        let role = role.ok_or("--role is required")?;
        let set = |key: &str| env(key).filter(|value| !value.trim().is_empty());
        let url = |key: &str| -> Result<Url, String> {
            let text = set(key).ok_or_else(|| format!("{key} is required for --role {role}"))?;
            Url::parse(text.trim()).map_err(|error| format!("invalid {key}='{text}': {error}"))
        };
        let port = match set("PORT") {
            None => 0,
            Some(text) => text
                .trim()
                .parse()
                .map_err(|_| format!("invalid PORT='{text}': a port number"))?,
        };
        let downstream = match role {
            Role::IssApi | Role::Geolocator => Downstream::None,
            Role::IssDistance => Downstream::IssApi(url("ISS_API_URL")?),
            Role::Gateway => Downstream::Services {
                geolocator: url("GEOLOCATOR_SERVICE_URL")?,
                iss_distance: url("ISS_DISTANCE_SERVICE_URL")?,
            },
        };
        Ok(Self {
            role,
            host: set("HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
            port,
            downstream,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_args(args.iter().map(|a| (*a).to_owned()), |key| {
            env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_role_picks_the_downstream_variables_it_needs() {
        let gateway = config(
            &["--role", "gateway"],
            &[
                ("GEOLOCATOR_SERVICE_URL", "http://127.0.0.1:1/"),
                ("ISS_DISTANCE_SERVICE_URL", "http://127.0.0.1:2"),
                ("PORT", "0"),
            ],
        )
        .unwrap();
        assert_eq!(gateway.role, Role::Gateway);
        assert_eq!(gateway.host, "127.0.0.1");
        match gateway.downstream {
            Downstream::Services {
                geolocator,
                iss_distance,
            } => {
                assert_eq!(geolocator.as_str(), "http://127.0.0.1:1/");
                // Normalised with a path, so "?query" can be appended.
                assert_eq!(iss_distance.as_str(), "http://127.0.0.1:2/");
            }
            other => panic!("{other:?}"),
        }
        let mock = config(&["--role=iss-api"], &[]).unwrap();
        assert_eq!((mock.role, mock.port), (Role::IssApi, 0));
        assert_eq!(mock.downstream, Downstream::None);
    }

    #[test]
    fn missing_or_bad_settings_are_named() {
        assert_eq!(config(&[], &[]).unwrap_err(), "--role is required");
        assert!(config(&["--role", "frontend"], &[])
            .unwrap_err()
            .contains("unknown role 'frontend'"));
        assert_eq!(
            config(&["--role", "iss-distance"], &[]).unwrap_err(),
            "ISS_API_URL is required for --role iss-distance"
        );
        assert!(config(&["--role", "geolocator"], &[("PORT", "x")])
            .unwrap_err()
            .starts_with("invalid PORT='x'"));
        assert!(config(&["--verbose"], &[]).is_err());
    }
}
