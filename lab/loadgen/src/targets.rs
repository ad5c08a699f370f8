//! What to request: URL templates expanded over a rotating list of real
//! places, and the loopback-only rule.

use hyper::http::uri::PathAndQuery;
use hyper::http::HeaderValue;
use std::fmt;
use std::net::SocketAddr;
use url::Url;

/// A real place: the name a user would type, and its coordinates (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    pub name: &'static str,
    pub latitude: f64,
    pub longitude: f64,
}

const fn city(name: &'static str, latitude: f64, longitude: f64) -> City {
    City {
        name,
        latitude,
        longitude,
    }
}

/// Rotated through by `{city}`, `{lat}` and `{lon}`: every continent, accented
/// names, an English alternate name (Cologne) and the "City, Country" form, so
/// a run exercises the lookup paths users hit rather than one cached answer.
pub const CITIES: [City; 24] = [
    city("London", 51.50853, -0.12574),
    city("Paris", 48.85341, 2.3488),
    city("Tokyo", 35.6895, 139.69171),
    city("São Paulo", -23.5475, -46.63611),
    city("New York City", 40.71427, -74.00597),
    city("Köln", 50.93333, 6.95),
    city("Cologne", 50.93333, 6.95),
    city("Zürich", 47.36667, 8.55),
    city("Montréal", 45.50884, -73.58781),
    city("Mexico City", 19.42847, -99.12766),
    city("Sydney", -33.86785, 151.20732),
    city("Cairo", 30.06263, 31.24967),
    city("Lagos", 6.45407, 3.39467),
    city("Mumbai", 19.07283, 72.88261),
    city("Beijing", 39.9075, 116.39723),
    city("Moscow", 55.75222, 37.61556),
    city("Istanbul", 41.01384, 28.94966),
    city("Buenos Aires", -34.61315, -58.37723),
    city("Nairobi", -1.28333, 36.81667),
    city("Reykjavík", 64.13548, -21.89541),
    city("Kraków", 50.06143, 19.93658),
    city("Paris, France", 48.85341, 2.3488),
    city("Springfield, IL", 39.80172, -89.64371),
    city("Wellington", -41.28664, 174.77557),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError(pub String);

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TargetError {}

/// One request, ready to send: origin-form path and query plus the Host header.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path_and_query: PathAndQuery,
    pub host: HeaderValue,
}

/// The expanded request set: every template times every city, all on one authority.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Host and port as written in the URLs (what `Host:` carries).
    pub authority: String,
    /// `requests[i % len]` is request number `i`.
    pub requests: Vec<Prepared>,
    /// The templates as given, for the report.
    pub templates: Vec<String>,
}

fn percent_encode_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        // form encoding writes spaces as '+'; %20 reads the same in a path or a query.
        .replace('+', "%20")
}

/// Substitutes `{city}` (percent-encoded name), `{lat}` and `{lon}`.
pub fn expand(template: &str, city: &City) -> String {
    template
        .replace("{city}", &percent_encode_component(city.name))
        .replace("{lat}", &city.latitude.to_string())
        .replace("{lon}", &city.longitude.to_string())
}

impl Plan {
    /// Expands `templates` over [`CITIES`] (once if a template uses no placeholder).
    /// Request `i` uses template `i % templates` and the next city each round.
    pub fn new(templates: &[String]) -> Result<Self, TargetError> {
        if templates.is_empty() {
            return Err(TargetError("at least one --url is needed".into()));
        }
        let mut authority: Option<String> = None;
        let mut per_template = Vec::new();
        for template in templates {
            let uses_city = ["{city}", "{lat}", "{lon}"]
                .iter()
                .any(|p| template.contains(p));
            let cities: &[City] = if uses_city { &CITIES } else { &CITIES[..1] };
            let mut expanded = Vec::new();
            for city in cities {
                let text = expand(template, city);
                let url = Url::parse(&text)
                    .map_err(|e| TargetError(format!("--url '{template}': {e}")))?;
                if url.scheme() != "http" {
                    return Err(TargetError(format!(
                        "--url '{template}': only http:// is supported (a load test of TLS measures the handshake, not the service)"
                    )));
                }
                let host = url
                    .host_str()
                    .ok_or_else(|| TargetError(format!("--url '{template}' has no host")))?;
                let port = url.port_or_known_default().unwrap_or(80);
                let this_authority = match url.port() {
                    Some(_) => format!("{host}:{port}"),
                    None => host.to_owned(),
                };
                match &authority {
                    None => authority = Some(this_authority),
                    Some(first) if *first != this_authority => {
                        return Err(TargetError(format!(
                            "all --url must share one host and port ('{first}' and '{this_authority}'); run one loadgen per target"
                        )))
                    }
                    Some(_) => {}
                }
                let mut path_and_query = url.path().to_owned();
                if let Some(query) = url.query() {
                    path_and_query.push('?');
                    path_and_query.push_str(query);
                }
                let path_and_query = PathAndQuery::try_from(path_and_query)
                    .map_err(|e| TargetError(format!("--url '{template}': {e}")))?;
                expanded.push(path_and_query);
            }
            per_template.push(expanded);
        }
        let authority = authority.expect("at least one template");
        let host = HeaderValue::from_str(&authority)
            .map_err(|e| TargetError(format!("host '{authority}': {e}")))?;
        // Interleave: template 0 city 0, template 1 city 0, ..., template 0 city 1, ...
        let rounds = per_template.iter().map(Vec::len).max().unwrap_or(1);
        let mut requests = Vec::new();
        for round in 0..rounds {
            for expanded in &per_template {
                requests.push(Prepared {
                    path_and_query: expanded[round % expanded.len()].clone(),
                    host: host.clone(),
                });
            }
        }
        Ok(Self {
            authority,
            requests,
            templates: templates.to_vec(),
        })
    }

    /// Resolves the authority; unless `allow_remote`, every address must be loopback
    /// (a load test must never hit a machine it was not meant for).
    pub async fn resolve(&self, allow_remote: bool) -> Result<SocketAddr, TargetError> {
        let lookup = if self.authority.contains(':') && !self.authority.ends_with(']') {
            self.authority.clone()
        } else {
            format!("{}:80", self.authority)
        };
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host(lookup.as_str())
            .await
            .map_err(|e| TargetError(format!("cannot resolve '{}': {e}", self.authority)))?
            .collect();
        let first = *addresses
            .first()
            .ok_or_else(|| TargetError(format!("'{}' resolves to nothing", self.authority)))?;
        check_loopback(&self.authority, &addresses, allow_remote)?;
        Ok(first)
    }
}

/// The loopback rule on resolved addresses.
pub fn check_loopback(
    authority: &str,
    addresses: &[SocketAddr],
    allow_remote: bool,
) -> Result<(), TargetError> {
    if allow_remote {
        return Ok(());
    }
    match addresses.iter().find(|a| !a.ip().is_loopback()) {
        None => Ok(()),
        Some(remote) => Err(TargetError(format!(
            "'{authority}' resolves to {}, which is not a loopback address; pass --allow-remote to load a host you own (e.g. a compose service)",
            remote.ip()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_percent_encoded_and_rotated() {
        let plan = Plan::new(&["http://127.0.0.1:5002/?location={city}".into()]).unwrap();
        assert_eq!(plan.requests.len(), CITIES.len());
        assert_eq!(plan.authority, "127.0.0.1:5002");
        assert_eq!(plan.requests[0].path_and_query, "/?location=London");
        assert_eq!(
            plan.requests[3].path_and_query,
            "/?location=S%C3%A3o%20Paulo"
        );
        assert_eq!(
            plan.requests[21].path_and_query,
            "/?location=Paris%2C%20France"
        );
    }

    #[test]
    fn coordinates_and_several_templates_interleave() {
        let plan = Plan::new(&[
            "http://localhost:5003/?latitude={lat}&longitude={lon}".into(),
            "http://localhost:5003/healthz".into(),
        ])
        .unwrap();
        assert_eq!(plan.requests.len(), 2 * CITIES.len());
        assert_eq!(
            plan.requests[0].path_and_query,
            "/?latitude=51.50853&longitude=-0.12574"
        );
        assert_eq!(plan.requests[1].path_and_query, "/healthz");
        assert_eq!(
            plan.requests[2].path_and_query,
            "/?latitude=48.85341&longitude=2.3488"
        );
        assert_eq!(plan.requests[0].host, "localhost:5003");
    }

    #[test]
    fn one_authority_and_plain_http_only() {
        let two_hosts = Plan::new(&["http://127.0.0.1:1/".into(), "http://127.0.0.1:2/".into()]);
        assert!(two_hosts.unwrap_err().0.contains("one host and port"));
        assert!(Plan::new(&["https://127.0.0.1/".into()])
            .unwrap_err()
            .0
            .contains("only http://"));
        assert!(Plan::new(&[]).is_err());
        assert!(Plan::new(&["not a url".into()]).is_err());
    }

    #[test]
    fn only_loopback_addresses_pass_without_allow_remote() {
        let loopback: Vec<SocketAddr> =
            vec!["127.0.0.1:80".parse().unwrap(), "[::1]:80".parse().unwrap()];
        assert!(check_loopback("localhost", &loopback, false).is_ok());
        let mixed: Vec<SocketAddr> = vec![
            "127.0.0.1:80".parse().unwrap(),
            "10.0.0.7:80".parse().unwrap(),
        ];
        let error = check_loopback("somehost", &mixed, false).unwrap_err();
        assert!(error.0.contains("10.0.0.7"), "{error}");
        assert!(check_loopback("somehost", &mixed, true).is_ok());
    }

    #[tokio::test]
    async fn resolution_applies_the_loopback_rule() {
        let plan = Plan::new(&["http://127.0.0.1:9/".into()]).unwrap();
        assert_eq!(
            plan.resolve(false).await.unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        let remote = Plan::new(&["http://192.0.2.1:9/".into()]).unwrap();
        assert!(remote.resolve(false).await.is_err());
        // Resolving is all that happens: nothing is sent by `resolve`.
        assert!(remote.resolve(true).await.is_ok());
    }
}
