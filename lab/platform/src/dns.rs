//! A DNS server standing in for the one compose gives its containers, for
//! the programs under test that send DNS queries themselves rather than read
//! `/etc/hosts` (Prometheus' `dns_sd_configs` ask the servers of
//! `/etc/resolv.conf` directly). It answers A queries over UDP from a table
//! the test changes while it runs: addresses, "no such name" (NXDOMAIN, a
//! compose service that is not running) or a failure (SERVFAIL, a resolver
//! that cannot answer); a name not in the table is NXDOMAIN.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the stand-in answers for one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// These A records (none: the name exists, without addresses).
    Addresses(Vec<Ipv4Addr>),
    /// RCODE 3: the name does not exist.
    NxDomain,
    /// RCODE 2: the server failed to answer.
    ServFail,
}

const RCODE_SERVFAIL: u16 = 2;
const RCODE_NXDOMAIN: u16 = 3;
const RCODE_FORMERR: u16 = 1;
const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;

#[derive(Default)]
struct State {
    answers: BTreeMap<String, Answer>,
    /// Queries received per name, whatever the answer.
    asked: BTreeMap<String, u64>,
}

/// The server, on UDP port 53 of one address; stopped when dropped.
pub struct DnsStandIn {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DnsStandIn {
    /// Serves on `ip`:53. Port 53 is privileged: the tests run as root (or
    /// with CAP_NET_BIND_SERVICE); anything else fails here, saying so.
    pub fn start(ip: Ipv4Addr) -> Self {
        Self::start_at(SocketAddr::from((ip, 53)))
    }

    /// Serves on `address` (port 0: any free one).
    pub fn start_at(address: SocketAddr) -> Self {
        let socket = UdpSocket::bind(address).unwrap_or_else(|error| {
            panic!(
                "cannot serve DNS on {address} ({error}); resolv.conf can only name port 53, \
                 which needs root, CAP_NET_BIND_SERVICE or net.ipv4.ip_unprivileged_port_start <= 53"
            )
        });
        let address = socket.local_addr().expect("the bound address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || serve(&socket, &state, &stop))
        };
        Self {
            address,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// From now on, answers `answer` for `name` (any case, with or without the final dot).
    pub fn set(&self, name: &str, answer: Answer) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(normalize(name), answer);
    }

    /// How many queries for `name` arrived so far.
    pub fn asked(&self, name: &str) -> u64 {
        let state = self.state.lock().unwrap();
        state.asked.get(&normalize(name)).copied().unwrap_or(0)
    }
}

impl Drop for DnsStandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocked receive; the thread then sees `stop`.
        if let Ok(waker) = UdpSocket::bind((self.address.ip(), 0)) {
            let _ = waker.send_to(&[], self.address);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn serve(socket: &UdpSocket, state: &Mutex<State>, stop: &AtomicBool) {
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let Ok((length, peer)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        if let Some(reply) = respond(&buffer[..length], state) {
            let _ = socket.send_to(&reply, peer);
        }
    }
}

/// The reply to one query message; None for what is not a query at all.
fn respond(query: &[u8], state: &Mutex<State>) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let flags = u16::from_be_bytes([query[2], query[3]]);
    if flags & 0x8000 != 0 {
        return None; // a response, not a query
    }
    let question_count = u16::from_be_bytes([query[4], query[5]]);
    let parsed = (question_count == 1)
        .then(|| parse_question(query))
        .flatten();
    let Some((name, question_end, qtype, qclass)) = parsed else {
        return Some(header(query, flags, RCODE_FORMERR, 0, 0));
    };
    let answer = {
        let mut state = state.lock().unwrap();
        *state.asked.entry(name.clone()).or_default() += 1;
        state
            .answers
            .get(&name)
            .cloned()
            .unwrap_or(Answer::NxDomain)
    };
    let (rcode, addresses) = match answer {
        Answer::Addresses(addresses) if qtype == TYPE_A && qclass == CLASS_IN => (0, addresses),
        // The name exists, with no records of the type asked for.
        Answer::Addresses(_) => (0, Vec::new()),
        Answer::NxDomain => (RCODE_NXDOMAIN, Vec::new()),
        Answer::ServFail => (RCODE_SERVFAIL, Vec::new()),
    };
    let mut reply = header(query, flags, rcode, 1, addresses.len() as u16);
    reply.extend_from_slice(&query[12..question_end]);
    for address in addresses {
        // The name as a pointer to the question's (offset 12), type A, class
        // IN, TTL 0 (the test changes answers), 4 bytes of address.
        reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
        reply.extend_from_slice(&address.octets());
    }
    Some(reply)
}

/// A response header: the query's id, QR and AA set, RD copied, RA set.
fn header(query: &[u8], query_flags: u16, rcode: u16, questions: u16, answers: u16) -> Vec<u8> {
    let flags = 0x8000 | 0x0400 | (query_flags & 0x0100) | 0x0080 | rcode;
    let mut header = Vec::with_capacity(512);
    header.extend_from_slice(&query[0..2]);
    header.extend_from_slice(&flags.to_be_bytes());
    for count in [questions, answers, 0, 0] {
        header.extend_from_slice(&count.to_be_bytes());
    }
    header
}

/// The question's name (lowercase, dotted), where the question ends, its
/// type and class. Queries carry no compression pointers in the question.
fn parse_question(message: &[u8]) -> Option<(String, usize, u16, u16)> {
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let length = *message.get(at)? as usize;
        at += 1;
        if length == 0 {
            break;
        }
        if length > 63 {
            return None;
        }
        let label = message.get(at..at + length)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += length;
    }
    let fixed = message.get(at..at + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    Some((labels.join("."), at + 4, qtype, qclass))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query as a stub resolver sends it: id, RD, one question, an EDNS OPT record.
    fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut message = Vec::new();
        message.extend_from_slice(&id.to_be_bytes());
        message.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
        for label in name.split('.') {
            message.push(label.len() as u8);
            message.extend_from_slice(label.as_bytes());
        }
        message.push(0);
        message.extend_from_slice(&qtype.to_be_bytes());
        message.extend_from_slice(&CLASS_IN.to_be_bytes());
        message.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        message
    }

    fn rcode(reply: &[u8]) -> u16 {
        u16::from_be_bytes([reply[2], reply[3]]) & 0x000f
    }

    fn answers(reply: &[u8]) -> u16 {
        u16::from_be_bytes([reply[6], reply[7]])
    }

    #[test]
    fn answers_a_records_nxdomain_and_servfail_over_udp() {
        let server = DnsStandIn::start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        server.set(
            "Otel-Agent.",
            Answer::Addresses(vec![
                Ipv4Addr::new(127, 0, 0, 7),
                Ipv4Addr::new(127, 0, 0, 8),
            ]),
        );
        server.set("broken", Answer::ServFail);
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let ask = |id: u16, name: &str, qtype: u16| {
            client
                .send_to(&query(id, name, qtype), server.address())
                .unwrap();
            let mut buffer = [0u8; 512];
            let length = client.recv(&mut buffer).expect("a reply");
            let reply = buffer[..length].to_vec();
            assert_eq!(reply[0..2], id.to_be_bytes(), "the query's id");
            assert_ne!(reply[2] & 0x80, 0, "a response");
            reply
        };

        let found = ask(1, "otel-agent", TYPE_A);
        assert_eq!((rcode(&found), answers(&found)), (0, 2));
        assert_eq!(found[found.len() - 4..], [127, 0, 0, 8]);
        let aaaa = ask(2, "otel-agent", 28);
        assert_eq!((rcode(&aaaa), answers(&aaaa)), (0, 0));
        let missing = ask(3, "otel-gateway-1", TYPE_A);
        assert_eq!((rcode(&missing), answers(&missing)), (RCODE_NXDOMAIN, 0));
        let failing = ask(4, "broken", TYPE_A);
        assert_eq!((rcode(&failing), answers(&failing)), (RCODE_SERVFAIL, 0));
        assert_eq!(server.asked("otel-agent"), 2);
        assert_eq!(server.asked("otel-gateway-1"), 1);
        assert_eq!(server.asked("nobody"), 0);
    }
}
