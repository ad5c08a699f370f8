//! Who the client is: the TCP peer, or what `Forwarded` / `X-Forwarded-For`
//! say only when the peer is a proxy the operator trusts
//! (`TRUSTED_PROXIES`). Believed from anyone, those headers would let any
//! caller choose the `client.address` of its spans and logs.

use actix_web::dev::ConnectionInfo;
use env_config::ConfigError;
use std::net::IpAddr;

/// Addresses and networks whose forwarding headers are believed
/// (`TRUSTED_PROXIES`: comma-separated IPs or CIDRs; empty: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let mut networks = Vec::new();
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let invalid = || {
                ConfigError::new(
                    "TRUSTED_PROXIES",
                    value,
                    format!("comma-separated IP addresses or CIDR networks ('{item}' is neither)"),
                )
            };
            let (ip, prefix) = match item.split_once('/') {
                Some((ip, prefix)) => (ip, Some(prefix)),
                None => (item, None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| invalid())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(invalid)?,
            };
            networks.push((ip, prefix));
        }
        Ok(Self(networks))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack socket.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(network, prefix)| match (network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(*n).into(), *prefix, 32)
                    == masked(u32::from(a).into(), *prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(*n), *prefix, 128) == masked(u128::from(a), *prefix, 128)
            }
            _ => false,
        })
    }
}

fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits >> (width - prefix)
    }
}

impl TrustedProxies {
    /// The client's address for `client.address` and the per-request log line:
    /// the forwarded one when the peer is trusted, else the peer's own.
    pub fn client_address(&self, connection: &ConnectionInfo) -> Option<String> {
        let peer = connection.peer_addr()?;
        let trusted = peer.parse::<IpAddr>().is_ok_and(|ip| self.contains(ip));
        let address = if trusted {
            connection.realip_remote_addr().unwrap_or(peer)
        } else {
            peer
        };
        Some(address.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_networks_match_by_prefix() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 127.0.0.1 ,fd00::/8").unwrap();
        for inside in ["10.1.2.3", "127.0.0.1", "fd12::1", "::ffff:10.9.9.9"] {
            assert!(t.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["11.0.0.1", "127.0.0.2", "fe80::1", "::1"] {
            assert!(!t.contains(outside.parse().unwrap()), "{outside}");
        }
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert!(!TrustedProxies::default().contains("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn forwarding_headers_are_believed_from_a_trusted_peer_only() {
        use actix_web::test::TestRequest;
        let request = |peer: &str| {
            TestRequest::default()
                .peer_addr(peer.parse().unwrap())
                .insert_header(("x-forwarded-for", "203.0.113.7"))
                .to_http_request()
        };
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let via_proxy = request("10.1.2.3:4000");
        assert_eq!(
            trusted
                .client_address(&via_proxy.connection_info())
                .as_deref(),
            Some("203.0.113.7")
        );
        let direct = request("198.51.100.9:4000");
        assert_eq!(
            trusted.client_address(&direct.connection_info()).as_deref(),
            Some("198.51.100.9")
        );
        assert_eq!(
            TrustedProxies::default()
                .client_address(&via_proxy.connection_info())
                .as_deref(),
            Some("10.1.2.3")
        );
    }

    #[test]
    fn bad_entries_are_refused_with_the_variable_name() {
        for bad in ["localhost", "10.0.0.0/33", "::1/129", "10.0.0.1/x", "1.2.3"] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert_eq!(error.key, "TRUSTED_PROXIES");
            assert_eq!(error.value, bad);
        }
    }
}
