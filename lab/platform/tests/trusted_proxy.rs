//! The gateway believes `X-Forwarded-For` from the frontend only, as compose
//! configures it: `TRUSTED_PROXIES` in docker-compose-services.yml names the
//! frontend's fixed address on the compose network, not the network. Every
//! connection to the host-published `127.0.0.1:5001` arrives from the bridge
//! gateway, an address of that same network; trusted, it would let any local
//! process choose the `client.address` recorded about it.
//!
//! The compose network's addresses are mapped onto loopback (10.213.47.X ->
//! 127.213.47.X, the same host part), so the real gateway binary runs with
//! compose's value and is called from the frontend's address, the bridge
//! gateway's and another address of the network.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use e2e::StackBuilder;
use platform::*;

const FORWARDED: &str = "203.0.113.7";

fn ipv4(text: &str) -> Ipv4Addr {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} is not an IPv4 address: {e}"))
}

/// The compose network's address with the same host part, on loopback.
fn on_loopback(address: Ipv4Addr) -> Ipv4Addr {
    let [_, b, c, d] = address.octets();
    Ipv4Addr::new(127, b, c, d)
}

/// Which client address the gateway logs for a request from `from` that
/// says it is forwarded for [`FORWARDED`].
async fn logged_client(gateway: &e2e::Process, from: Ipv4Addr) -> String {
    let before = client_lines(gateway).len();
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(from))
        .build()
        .unwrap();
    // No downstreams are running: the answer is an error, the log line is there anyway.
    client
        .get(format!("{}?location=Paris", gateway.url()))
        .header("x-forwarded-for", FORWARDED)
        .send()
        .await
        .unwrap_or_else(|e| panic!("request from {from}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = client_lines(gateway);
        if lines.len() > before {
            return lines[before].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no request log line for the request from {from}:\n{}",
            gateway.output_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn client_lines(gateway: &e2e::Process) -> Vec<String> {
    gateway
        .stderr()
        .lines()
        .filter_map(|l| {
            l.split_once("received request from IP address ")
                .map(|(_, a)| a.trim().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_believes_x_forwarded_for_from_the_frontend_address_only() {
    let services = yaml("docker-compose-services.yml");
    let compose = yaml("docker-compose.yml");
    let trusted = ystr(&services["services"]["gateway"]["environment"]["TRUSTED_PROXIES"])
        .expect("the gateway sets TRUSTED_PROXIES");
    let frontend =
        ystr(&services["services"]["frontend"]["networks"]["observability"]["ipv4_address"])
            .expect("the frontend has a fixed address on the observability network");
    let subnet = ystr(&compose["networks"]["observability"]["ipam"]["config"][0]["subnet"])
        .expect("the observability network has a fixed subnet");
    assert_eq!(
        trusted, frontend,
        "the gateway trusts exactly the frontend's address"
    );
    let (network, prefix) = subnet.split_once('/').expect("a CIDR subnet");
    assert_eq!(prefix, "24", "the mapping below keeps the last octet");
    let network = ipv4(network);
    let frontend = ipv4(&frontend);
    assert_eq!(
        frontend.octets()[..3],
        network.octets()[..3],
        "the frontend's address is on the network"
    );
    // Docker gives a bridge network's gateway the subnet's first address.
    let [a, b, c, _] = network.octets();
    let bridge_gateway = Ipv4Addr::new(a, b, c, 1);
    let neighbour = Ipv4Addr::new(a, b, c, 77);

    let gateway = StackBuilder::new("trusted-proxy")
        .env("TRUSTED_PROXIES", &on_loopback(ipv4(&trusted)).to_string())
        .start_one("gateway")
        .await;

    let from_frontend = logged_client(&gateway, on_loopback(frontend)).await;
    assert_eq!(from_frontend, FORWARDED, "the frontend is believed");
    for other in [bridge_gateway, neighbour] {
        let from = on_loopback(other);
        assert_eq!(
            logged_client(&gateway, from).await,
            from.to_string(),
            "a request from {other} (here {from}) is recorded under its own address"
        );
    }
}
