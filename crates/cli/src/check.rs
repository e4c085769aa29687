//! `zonecast check ZONE`: asks every nameserver of a zone for its SOA and
//! compares the serials (design.md "Binary and commands"; "Verifying
//! Secondary DNS").
//!
//! The servers are the `--server` arguments, or else those found through
//! the API ([`discover`]): the addresses of the zone's apex NS names (in-zone
//! names from the zone's own A/AAAA RRsets, others from the system
//! resolver) on port 53 or `--port`, the primaries of a secondary zone, and
//! the DNS addresses the edges report. All are asked at once over UDP (one
//! resend at half the timeout; TCP when the answer is truncated).
//!
//! Exit codes: [`EXIT_CONSISTENT`] when every server answered
//! authoritatively with the same serial, [`EXIT_DIFFERENT`] when they all
//! answered but the serials differ, [`EXIT_FAILED`] when a server did not
//! answer, answered with an error, was not authoritative, or when there was
//! no server to ask or the API could not tell which.
//!
//! Limitations: no TSIG on the queries; an edge that listens on a wildcard
//! address (`0.0.0.0`, `[::]`) is asked on loopback, which is only right
//! when `check` runs on that edge's host.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zonecast_proto::message::{build_query, Message};
use zonecast_proto::{Name, Rtype};

use crate::client::{encode_segment as seg, Body, Client, Reply};
use crate::error::CliError;
use crate::format;

/// Exit code: every server answered authoritatively with the same serial.
pub const EXIT_CONSISTENT: i32 = 0;
/// Exit code: every server answered, but not all with the same serial.
pub const EXIT_DIFFERENT: i32 = 1;
/// Exit code: a server did not answer or answered wrongly, or no server could be found.
pub const EXIT_FAILED: i32 = 2;

/// Default time to wait for each server, milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;

/// The DNS port, for servers given or found without one.
pub const DNS_PORT: u16 = 53;

/// EDNS payload size advertised in the queries (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// `zonecast check ZONE [--server ADDR]... [--timeout MS] [--port N]`.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct CheckArgs {
    /// Zone name, e.g. example.com.
    pub zone: String,
    /// Server to ask instead of the zone's nameservers: ADDR, ADDR:PORT, [V6]:PORT or NAME[:PORT] (repeatable).
    #[arg(long = "server", value_name = "ADDR")]
    pub servers: Vec<String>,
    /// How long to wait for each server's answer, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT_MS)]
    pub timeout: u64,
    /// Port for the NS addresses found and for --server entries without one (default 53); edges and primaries keep theirs.
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
}

/// Why a server is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// Given with `--server`.
    Given,
    /// An address of one of the zone's apex NS names.
    Ns,
    /// A primary of a secondary zone.
    Primary,
    /// An edge's DNS address.
    Edge,
}

impl Source {
    /// The word shown in the table and the JSON: `given`, `ns`, `primary`, `edge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Given => "given",
            Source::Ns => "ns",
            Source::Primary => "primary",
            Source::Edge => "edge",
        }
    }
}

/// Where a server is, before name resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An address and port.
    Addr(SocketAddr),
    /// A host name for the system resolver, and the port.
    Name(String, u16),
    /// Text that is no server address; the message says why.
    Invalid(String),
}

/// A server to ask, as found: why, under what name, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Why it is asked.
    pub source: Source,
    /// The NS name, edge name or given text it comes from, when that says more than the address.
    pub name: Option<String>,
    /// Where it is.
    pub host: Host,
}

/// What [`discover`] found: the servers and notes for the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The servers, in the order found (NS, primaries, edges).
    pub candidates: Vec<Candidate>,
    /// Things worth telling (substituted addresses, sources that gave nothing).
    pub notes: Vec<String>,
}

/// A resolved server: one address (or why there is none) and every reason to ask it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Why it is asked (several when sources named the same address).
    pub sources: Vec<Source>,
    /// Where the address came from (NS name, edge name, given text), if not the address itself.
    pub name: Option<String>,
    /// The address, or why there is none.
    pub addr: Result<SocketAddr, String>,
}

impl Target {
    /// The server as shown: its address, or its name when it has none.
    pub fn server(&self) -> String {
        match &self.addr {
            Ok(a) => a.to_string(),
            Err(_) => self.name.clone().unwrap_or_else(|| "-".into()),
        }
    }

    /// The sources joined with commas (`ns`, `ns,edge`).
    pub fn source_text(&self) -> String {
        self.sources
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// How a server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// An authoritative NOERROR answer with the zone's SOA.
    Ok,
    /// No answer: timeout, refused connection, no address (the text says which).
    NoAnswer(String),
    /// An answer with this (extended) response code.
    Rcode(u16),
    /// A NOERROR answer without the AA bit.
    NotAuthoritative,
    /// An authoritative NOERROR answer without the zone's SOA.
    NoSoa,
    /// An answer that could not be used (malformed, not matching the query).
    Error(String),
}

impl Status {
    /// The status as shown: `ok`, `no answer (timeout after 2000 ms)`, `rcode REFUSED`, ...
    pub fn text(&self) -> String {
        match self {
            Status::Ok => "ok".into(),
            Status::NoAnswer(why) => format!("no answer ({why})"),
            Status::Rcode(r) => format!("rcode {}", rcode_name(*r)),
            Status::NotAuthoritative => "not authoritative".into(),
            Status::NoSoa => "no SOA in the answer".into(),
            Status::Error(e) => format!("error: {e}"),
        }
    }

    /// A one-word form for scripts: `ok`, `no_answer`, `rcode`, `not_authoritative`, `no_soa`, `error`.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoAnswer(_) => "no_answer",
            Status::Rcode(_) => "rcode",
            Status::NotAuthoritative => "not_authoritative",
            Status::NoSoa => "no_soa",
            Status::Error(_) => "error",
        }
    }
}

pub use zonecast_proto::message::rcode_name;

/// One server's result.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerResult {
    /// The server.
    pub target: Target,
    /// The serial of the SOA in its answer, if there was one.
    pub serial: Option<u32>,
    /// Time from the first query sent to the answer, milliseconds (absent without an answer).
    pub ms: Option<f64>,
    /// How it answered.
    pub status: Status,
}

/// The results of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The zone, absolute.
    pub zone: String,
    /// One result per server, in the order found.
    pub results: Vec<ServerResult>,
    /// Notes from discovery and resolution.
    pub notes: Vec<String>,
}

impl Report {
    /// The serial every server answered with, when they all answered well with the same one.
    pub fn consistent_serial(&self) -> Option<u32> {
        let first = self.results.first()?.serial?;
        self.results
            .iter()
            .all(|r| r.status == Status::Ok && r.serial == Some(first))
            .then_some(first)
    }

    /// [`EXIT_CONSISTENT`], [`EXIT_DIFFERENT`] or [`EXIT_FAILED`] (a failure wins over a difference).
    pub fn exit_code(&self) -> i32 {
        if self.results.is_empty() || self.results.iter().any(|r| r.status != Status::Ok) {
            EXIT_FAILED
        } else if self.consistent_serial().is_some() {
            EXIT_CONSISTENT
        } else {
            EXIT_DIFFERENT
        }
    }

    /// `{"zone","consistent","serial","servers":[{"server","source","name","serial","ms","status","error"}]}`.
    pub fn to_json(&self) -> Value {
        let servers: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                json!({
                    "server": r.target.server(),
                    "source": r.target.source_text(),
                    "name": r.target.name,
                    "serial": r.serial,
                    "ms": r.ms.map(|m| (m * 100.0).round() / 100.0),
                    "status": r.status.word(),
                    "error": (r.status != Status::Ok).then(|| r.status.text()),
                })
            })
            .collect();
        let serial = self.consistent_serial();
        json!({
            "zone": self.zone,
            "consistent": serial.is_some(),
            "serial": serial,
            "servers": servers,
        })
    }

    /// The table (SERVER SOURCE NAME SERIAL MS STATUS) and a summary line.
    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .results
            .iter()
            .map(|r| {
                vec![
                    r.target.server(),
                    r.target.source_text(),
                    r.target.name.clone().unwrap_or_else(|| "-".into()),
                    r.serial.map_or_else(|| "-".into(), |s| s.to_string()),
                    r.ms.map_or_else(|| "-".into(), |m| format!("{m:.1}")),
                    r.status.text(),
                ]
            })
            .collect();
        let mut out = format::table(
            &["SERVER", "SOURCE", "NAME", "SERIAL", "MS", "STATUS"],
            &rows,
        );
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// One line: consistent with which serial, which serials differ, or how many failed.
    pub fn summary(&self) -> String {
        let n = self.results.len();
        let servers = |k: usize| if k == 1 { "server" } else { "servers" };
        if n == 0 {
            return format!("{}: no nameserver to ask", self.zone);
        }
        let failed = self
            .results
            .iter()
            .filter(|r| r.status != Status::Ok)
            .count();
        if failed > 0 {
            return format!("{}: {failed} of {n} {} failed", self.zone, servers(n));
        }
        if let Some(s) = self.consistent_serial() {
            return format!(
                "{}: consistent, serial {s} on {n} {}",
                self.zone,
                servers(n)
            );
        }
        let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
        for r in &self.results {
            if let Some(s) = r.serial {
                *counts.entry(s).or_default() += 1;
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(s, k)| format!("{s} on {k} {}", servers(*k)))
            .collect();
        format!("{}: serials differ: {}", self.zone, parts.join(", "))
    }

    /// What `zonecast check` prints: the table or JSON on stdout; notes and
    /// one `error:` line per failed server on stderr.
    pub fn output(&self, json: bool) -> crate::Output {
        let mut stderr = String::new();
        for n in &self.notes {
            stderr.push_str(&format!("note: {n}\n"));
        }
        if self.results.is_empty() {
            stderr.push_str(&format!(
                "error: {}: no nameserver to ask (give --server ADDR)\n",
                self.zone
            ));
        }
        for r in self.results.iter().filter(|r| r.status != Status::Ok) {
            stderr.push_str(&format!(
                "error: {} ({}): {}\n",
                r.target.server(),
                r.target.source_text(),
                r.status.text()
            ));
        }
        let stdout = if json {
            let mut s = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
            s.push('\n');
            s
        } else {
            self.table()
        };
        crate::Output { stdout, stderr }
    }
}

/// Parses a zone name: absolute with or without the trailing dot.
pub fn parse_zone(text: &str) -> Result<Name, CliError> {
    Name::from_presentation(text.trim(), Some(&Name::root()))
        .map(|n| n.to_lowercase())
        .map_err(|e| CliError::Usage(format!("zone {text:?}: {e}")))
}

/// Reads a server given as `ADDR`, `ADDR:PORT`, `[V6]`, `[V6]:PORT`, `NAME` or `NAME:PORT`;
/// `default_port` when none is given.
pub fn parse_server(text: &str, default_port: u16) -> Host {
    let t = text.trim();
    if let Ok(a) = t.parse::<SocketAddr>() {
        return Host::Addr(a);
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Host::Addr(SocketAddr::new(ip, default_port));
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(ip) => Host::Addr(SocketAddr::new(IpAddr::V6(ip), default_port)),
            Err(_) => Host::Invalid(format!("{t:?} is no IPv6 address")),
        };
    }
    let (host, port) = match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse::<u16>() {
            Ok(p) => (h, p),
            Err(_) => return Host::Invalid(format!("{t:?}: port {p:?} is not a number 0-65535")),
        },
        Some(_) => {
            return Host::Invalid(format!(
                "{t:?} is no address (IPv6 with a port: [ADDR]:PORT)"
            ))
        }
        None => (t, default_port),
    };
    let host = host.trim_end_matches('.');
    let name_ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if name_ok {
        Host::Name(host.to_string(), port)
    } else {
        Host::Invalid(format!("{t:?} is no address or host name"))
    }
}

/// The address to ask for an edge's listen address: wildcards become loopback.
///
/// Returns the address and, for a wildcard, a note saying so.
pub fn edge_address(edge: &str, listen: SocketAddr) -> (SocketAddr, Option<String>) {
    let local = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => return (listen, None),
    };
    let asked = SocketAddr::new(local, listen.port());
    (
        asked,
        Some(format!(
            "edge {edge} listens on {listen}; asking {asked} (right only on that edge's host)"
        )),
    )
}

/// Finds the zone's servers through the API: NS addresses (port `ns_port`),
/// a secondary zone's primaries, the edges' DNS addresses.
///
/// Reads `GET /v1/zones/{zone}`, `GET /v1/zones/{zone}/rrsets/@/NS`, for
/// each in-zone NS name `GET /v1/zones/{zone}/rrsets?name=NAME`, and `GET
/// /v1/edges`. An NS name without an address in the zone, and every
/// out-of-zone one, is left to the system resolver ([`Host::Name`]). Errors:
/// the zone cannot be read (unknown zone, no access, API unreachable).
pub fn discover(client: &Client, zone: &Name, ns_port: u16) -> Result<Discovery, CliError> {
    let mut d = Discovery::default();
    let zone_text = zone.to_string();
    let z = seg(&zone_text);
    let info = match client.send("GET", &format!("/v1/zones/{z}"), &[], Body::None)? {
        Reply::Json(v) => v,
        other => return Err(unexpected("GET /v1/zones/{zone}", &other)),
    };

    // Apex NS names and their addresses.
    let ns_names: Vec<String> = match client.send(
        "GET",
        &format!("/v1/zones/{z}/rrsets/{}/NS", seg("@")),
        &[],
        Body::None,
    ) {
        Ok(Reply::Json(v)) => strings(&v["records"]),
        Ok(other) => return Err(unexpected("GET /v1/zones/{zone}/rrsets/@/NS", &other)),
        Err(CliError::Api { status: 404, .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    if ns_names.is_empty() {
        d.notes
            .push(format!("{zone_text} has no apex NS records in the API"));
    }
    for ns in ns_names {
        let Ok(ns_name) = Name::from_presentation(&ns, Some(zone)) else {
            d.notes
                .push(format!("NS target {ns:?} is no name; skipped"));
            continue;
        };
        let shown = ns_name.to_string();
        let mut addrs = Vec::new();
        if ns_name.is_subdomain_of(zone) {
            let sets = match client.send(
                "GET",
                &format!("/v1/zones/{z}/rrsets"),
                &[("name", shown.as_str())],
                Body::None,
            )? {
                Reply::Json(v) => format::list_of(&v),
                _ => Vec::new(),
            };
            for set in sets {
                let rtype = format::text(&set, "type");
                let owner = format::text(&set, "name");
                if !(rtype == "A" || rtype == "AAAA") || !owner.eq_ignore_ascii_case(&shown) {
                    continue;
                }
                for r in strings(&set["records"]) {
                    if let Ok(ip) = r.parse::<IpAddr>() {
                        addrs.push(SocketAddr::new(ip, ns_port));
                    }
                }
            }
        }
        if addrs.is_empty() {
            d.candidates.push(Candidate {
                source: Source::Ns,
                name: Some(shown.clone()),
                host: Host::Name(shown.trim_end_matches('.').to_string(), ns_port),
            });
        }
        for a in addrs {
            d.candidates.push(Candidate {
                source: Source::Ns,
                name: Some(shown.clone()),
                host: Host::Addr(a),
            });
        }
    }

    // A secondary zone's primaries.
    if info["kind"].as_str() == Some("secondary") {
        let primaries = strings(&info["settings"]["primaries"]);
        if primaries.is_empty() {
            d.notes
                .push(format!("secondary zone {zone_text} has no primaries"));
        }
        for p in primaries {
            d.candidates.push(Candidate {
                source: Source::Primary,
                name: None,
                host: parse_server(&p, DNS_PORT),
            });
        }
    }

    // The edges' DNS addresses.
    match client.send("GET", "/v1/edges", &[], Body::None) {
        Ok(Reply::Json(v)) => {
            for e in format::list_of(&v) {
                let name = format::text(&e, "name");
                let dns = strings(&e["dns"]);
                if dns.is_empty() {
                    d.notes.push(format!(
                        "edge {name} reports no DNS address (an older version?); not asked"
                    ));
                }
                for listen in dns {
                    let host = match listen.parse::<SocketAddr>() {
                        Ok(a) => {
                            let (asked, note) = edge_address(&name, a);
                            d.notes.extend(note);
                            Host::Addr(asked)
                        }
                        Err(_) => Host::Invalid(format!("edge {name}: {listen:?} is no ADDR:PORT")),
                    };
                    d.candidates.push(Candidate {
                        source: Source::Edge,
                        name: Some(name.clone()),
                        host,
                    });
                }
            }
        }
        Ok(_) => {}
        Err(e @ CliError::Connection { .. }) => return Err(e),
        Err(e) => d.notes.push(format!("cannot list the edges: {e}")),
    }
    Ok(d)
}

/// The strings of a JSON array (others skipped); empty for anything else.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn unexpected(what: &str, reply: &Reply) -> CliError {
    CliError::Connection {
        url: String::new(),
        message: format!("unexpected answer to {what}: {reply:?}"),
    }
}

/// The candidates for `--server` arguments, with `default_port` where none is given.
pub fn given(servers: &[String], default_port: u16) -> Discovery {
    Discovery {
        candidates: servers
            .iter()
            .map(|s| {
                let host = parse_server(s, default_port);
                let name = match &host {
                    Host::Addr(_) => None,
                    _ => Some(s.clone()),
                };
                Candidate {
                    source: Source::Given,
                    name,
                    host,
                }
            })
            .collect(),
        notes: Vec::new(),
    }
}

/// Resolves the candidates' names (all at once, within `timeout`) and merges
/// candidates with the same address; a name with several addresses gives one
/// target per address.
pub async fn resolve(candidates: Vec<Candidate>, timeout: Duration) -> Vec<Target> {
    let lookups: Vec<_> = candidates
        .into_iter()
        .map(|c| {
            tokio::spawn(async move {
                let addrs: Vec<Result<SocketAddr, String>> = match &c.host {
                    Host::Addr(a) => vec![Ok(*a)],
                    Host::Invalid(why) => vec![Err(why.clone())],
                    Host::Name(h, port) => {
                        match tokio::time::timeout(
                            timeout,
                            tokio::net::lookup_host((h.as_str(), *port)),
                        )
                        .await
                        {
                            Ok(Ok(found)) => {
                                let mut v: Vec<SocketAddr> = found.collect();
                                v.dedup();
                                if v.is_empty() {
                                    vec![Err(format!("{h} has no address"))]
                                } else {
                                    v.into_iter().map(Ok).collect()
                                }
                            }
                            Ok(Err(e)) => vec![Err(format!("cannot resolve {h}: {e}"))],
                            Err(_) => vec![Err(format!("cannot resolve {h}: timeout"))],
                        }
                    }
                };
                (c, addrs)
            })
        })
        .collect();
    let mut out: Vec<Target> = Vec::new();
    for l in lookups {
        let Ok((c, addrs)) = l.await else { continue };
        for addr in addrs {
            if let Ok(a) = &addr {
                if let Some(t) = out.iter_mut().find(|t| t.addr.as_ref() == Ok(a)) {
                    if !t.sources.contains(&c.source) {
                        t.sources.push(c.source);
                    }
                    if t.name.is_none() {
                        t.name = c.name.clone();
                    }
                    continue;
                }
            }
            out.push(Target {
                sources: vec![c.source],
                name: c.name.clone(),
                addr,
            });
        }
    }
    out
}

/// A query id that is hard to guess.
fn random_id() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() & 0xffff) as u16
}

/// Asks `addr` for the SOA of `zone` and judges the answer.
pub async fn ask(target: Target, zone: &Name, timeout: Duration) -> ServerResult {
    let addr = match &target.addr {
        Ok(a) => *a,
        Err(why) => {
            let why = why.clone();
            return ServerResult {
                target,
                serial: None,
                ms: None,
                status: Status::NoAnswer(why),
            };
        }
    };
    let start = Instant::now();
    match query_soa(addr, zone, timeout).await {
        Ok(m) => {
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            let (serial, status) = judge(&m, zone);
            ServerResult {
                target,
                serial,
                ms: Some(ms),
                status,
            }
        }
        Err(status) => ServerResult {
            target,
            serial: None,
            ms: None,
            status,
        },
    }
}

/// The serial of the zone's SOA in an answer, and how good the answer is.
pub fn judge(m: &Message, zone: &Name) -> (Option<u32>, Status) {
    let serial = m
        .answer
        .iter()
        .find(|r| r.rtype == Rtype::SOA && r.owner == *zone)
        .and_then(|r| zonecast_proto::rdata::soa_serial(&r.rdata));
    let status = match m.rcode() {
        0 if !m.header.aa => Status::NotAuthoritative,
        0 if serial.is_none() => Status::NoSoa,
        0 => Status::Ok,
        r => Status::Rcode(r),
    };
    (serial, status)
}

/// Whether `wire` answers the query `id` for the SOA of `zone`: Ok with the
/// message, Err(None) for something else (ignored), Err(Some(why)) for a
/// matching id whose message cannot be read.
fn answer_to(wire: &[u8], id: u16, zone: &Name) -> Result<Message, Option<String>> {
    if wire.len() < 12 || u16::from_be_bytes([wire[0], wire[1]]) != id || wire[2] & 0x80 == 0 {
        return Err(None);
    }
    let m = Message::parse(wire).map_err(|e| Some(format!("malformed answer: {e}")))?;
    let q_ok = matches!(m.questions.as_slice(), [q] if q.qname == *zone && q.qtype == Rtype::SOA);
    // A FORMERR or NOTIMP may come without the question: take it as the answer.
    let bare_error = m.questions.is_empty() && m.rcode() != 0;
    if !(q_ok || bare_error) {
        return Err(Some("answer does not match the question".into()));
    }
    Ok(m)
}

/// One SOA query to `addr`: UDP (resent once at half the timeout), then TCP if truncated.
pub async fn query_soa(
    addr: SocketAddr,
    zone: &Name,
    timeout: Duration,
) -> Result<Message, Status> {
    let id = random_id();
    let query = build_query(id, zone, Rtype::SOA, Some(EDNS_PAYLOAD));
    let deadline = tokio::time::Instant::now() + timeout;
    let ms = timeout.as_millis();
    let m = udp_exchange(addr, &query, id, zone, timeout, deadline)
        .await
        .map_err(|e| e.unwrap_or_else(|| Status::NoAnswer(format!("timeout after {ms} ms"))))?;
    if !m.header.tc {
        return Ok(m);
    }
    match tokio::time::timeout_at(deadline, tcp_exchange(addr, &query)).await {
        Err(_) => Err(Status::NoAnswer(format!(
            "truncated over UDP; TCP timed out after {ms} ms"
        ))),
        Ok(Err(e)) => Err(Status::NoAnswer(format!(
            "truncated over UDP; TCP: {}",
            io_text(&e)
        ))),
        Ok(Ok(wire)) => answer_to(&wire, id, zone).map_err(|e| {
            Status::Error(e.unwrap_or_else(|| "TCP answer does not match the query".into()))
        }),
    }
}

/// A UDP exchange; `Err(None)` on timeout.
async fn udp_exchange(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    zone: &Name,
    timeout: Duration,
    deadline: tokio::time::Instant,
) -> Result<Message, Option<Status>> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: std::io::Error| Some(Status::NoAnswer(io_text(&e)));
    let sock = tokio::net::UdpSocket::bind(local).await.map_err(io)?;
    sock.connect(addr).await.map_err(io)?;
    sock.send(query).await.map_err(io)?;
    let mut resend = Some(tokio::time::Instant::now() + timeout / 2);
    let mut unusable: Option<String> = None;
    let mut buf = vec![0u8; 65535];
    loop {
        let until = resend.unwrap_or(deadline).min(deadline);
        match tokio::time::timeout_at(until, sock.recv(&mut buf)).await {
            Err(_) if resend.is_some() && until < deadline => {
                resend = None;
                sock.send(query).await.map_err(io)?;
            }
            Err(_) => return Err(unusable.map(Status::Error)),
            Ok(Err(e)) => return Err(io(e)),
            Ok(Ok(n)) => match answer_to(&buf[..n], id, zone) {
                Ok(m) => return Ok(m),
                Err(why) => unusable = why.or(unusable),
            },
        }
    }
}

/// A TCP exchange: the query with its length prefix, one answer back.
async fn tcp_exchange(addr: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let len = u16::try_from(query.len()).unwrap_or(u16::MAX);
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    s.write_all(&framed).await?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await?;
    let mut wire = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut wire).await?;
    Ok(wire)
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::UnexpectedEof => "connection closed".into(),
        _ => e.to_string(),
    }
}

/// Runs the check: finds the servers (`--server`, else [`discover`]),
/// resolves them and asks them all at once.
///
/// Errors: bad usage, or the API could not say which servers the zone has.
pub fn check(args: &CheckArgs, api: &str, token: Option<&str>) -> Result<Report, CliError> {
    let zone = parse_zone(&args.zone)?;
    if args.timeout == 0 {
        return Err(CliError::Usage("--timeout must be at least 1 ms".into()));
    }
    let timeout = Duration::from_millis(args.timeout);
    let port = args.port.unwrap_or(DNS_PORT);
    let found = if args.servers.is_empty() {
        discover(&Client::new(api, token)?, &zone, port)?
    } else {
        given(&args.servers, port)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the query runtime: {e}")))?;
    let results = rt.block_on(async {
        let targets = resolve(found.candidates, timeout).await;
        let asks: Vec<_> = targets
            .into_iter()
            .map(|t| {
                let zone = zone.clone();
                tokio::spawn(async move { ask(t, &zone, timeout).await })
            })
            .collect();
        let mut out = Vec::with_capacity(asks.len());
        for a in asks {
            if let Ok(r) = a.await {
                out.push(r);
            }
        }
        out
    });
    Ok(Report {
        zone: zone.to_string(),
        results,
        notes: found.notes,
    })
}

/// `zonecast check`: prints the report and returns its exit code
/// ([`EXIT_FAILED`] too when the servers could not be found).
pub fn run(args: &CheckArgs, api: &str, token: Option<&str>, json: bool) -> i32 {
    use std::io::Write;
    match check(args, api, token) {
        Ok(report) => {
            let out = report.output(json);
            let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
            report.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
