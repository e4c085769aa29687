//! Asking a primary: the SOA query and zone transfers in (RFC 1034 §4.3.5,
//! RFC 5936, RFC 1995, RFC 7766), optionally signed with TSIG (RFC 8945).
//!
//! - [`query_soa`] asks for the zone's SOA over UDP, and again over TCP
//!   when the answer is truncated; the answer must be authoritative, for
//!   the zone, and signed with the key when one is given.
//! - [`transfer`] opens a TCP connection, sends an AXFR or IXFR (with our
//!   SOA in the authority section, RFC 1995 §3) and reads the messages with
//!   a [`TransferReader`] until the transfer is complete; each message is
//!   verified with TSIG when a key is given, and the last one must be signed.
//!
//! Each read waits at most the configured idle timeout and the whole
//! transfer at most its total timeout. Nothing here changes a zone.

use crate::response::{soa_fields, Ask, ReadError, Received, TransferReader};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use zonecast_proto::message::{build_query, write_records_uncompressed, Message};
use zonecast_proto::tsig::{sign_request, Key, ResponseVerifier, SignedRequest, DEFAULT_FUDGE};
use zonecast_proto::{Name, Record, Rtype};

/// Timeouts and limits of the client.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Wait for each UDP answer to an SOA query (two tries).
    pub soa_timeout: Duration,
    /// Wait for a TCP connection, and for each message of a transfer.
    pub idle_timeout: Duration,
    /// The longest a whole transfer may take.
    pub total_timeout: Duration,
    /// The most records a transfer may carry (`--xfr-max-records`, by
    /// default the zone size limit `--max-zone-records`); a transfer over it
    /// is refused, logged and counted as a `zone_records` limit refusal.
    pub max_records: usize,
    /// The most octets a transfer may carry, message lengths included
    /// (`--xfr-max-bytes`, default [`DEFAULT_MAX_BYTES`]); a transfer over
    /// it is cut off as it arrives, logged and counted as a
    /// `transfer_bytes` limit refusal.
    pub max_bytes: u64,
}

/// Default of [`ClientConfig::max_bytes`]: 2 GiB, over three times the
/// AXFR of a 10-million-record zone of the benchmark's kind.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            soa_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(600),
            max_records: zonecast_control::Limits::DEFAULT_MAX_ZONE_RECORDS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Why asking a primary failed; the message names the primary and zone.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer in time, or the connection failed or dropped.
    #[error("{peer}: {what}")]
    Io {
        /// The primary.
        peer: SocketAddr,
        /// What failed.
        what: String,
    },
    /// The answer was signed wrongly, not signed, or carried a TSIG error.
    #[error("{peer}: TSIG: {what}")]
    Tsig {
        /// The primary.
        peer: SocketAddr,
        /// What failed.
        what: String,
    },
    /// The transfer carried more octets than `--xfr-max-bytes` allows;
    /// the connection was closed at the message that crossed it.
    #[error("{peer}: the transfer reached {bytes} octets; the limit is {max} (--xfr-max-bytes)")]
    TooLarge {
        /// The primary.
        peer: SocketAddr,
        /// Octets read when it was cut off.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The answer was not acceptable.
    #[error("{peer}: {error}")]
    Read {
        /// The primary.
        peer: SocketAddr,
        /// What was wrong.
        error: ReadError,
    },
}

impl ClientError {
    /// Whether the primary refused or cannot do IXFR (an AXFR may work).
    pub fn ixfr_refused(&self) -> bool {
        matches!(
            self,
            ClientError::Read {
                error: ReadError::Rcode(1 | 4 | 5),
                ..
            }
        )
    }
}

/// The primary's SOA as it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct SoaAnswer {
    /// The SOA record.
    pub soa: Record,
    /// Its serial.
    pub serial: u32,
    /// How long the answer took.
    pub elapsed: Duration,
}

/// A complete transfer and what it took.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// What came.
    pub received: Received,
    /// Messages read.
    pub messages: usize,
    /// Octets read.
    pub bytes: usize,
    /// How long it took.
    pub elapsed: Duration,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn io(peer: SocketAddr, what: impl Into<String>) -> ClientError {
    ClientError::Io {
        peer,
        what: what.into(),
    }
}

fn sign(
    msg: &mut Vec<u8>,
    key: Option<&Key>,
    peer: SocketAddr,
) -> Result<Option<SignedRequest>, ClientError> {
    key.map(|k| sign_request(msg, k, unix_now(), DEFAULT_FUDGE))
        .transpose()
        .map_err(|e| ClientError::Tsig {
            peer,
            what: e.to_string(),
        })
}

/// Asks `peer` for the SOA of `zone`.
pub async fn query_soa(
    peer: SocketAddr,
    zone: &Name,
    key: Option<&Key>,
    config: &ClientConfig,
) -> Result<SoaAnswer, ClientError> {
    let started = Instant::now();
    let id: u16 = rand::random();
    let mut msg = build_query(id, zone, Rtype::SOA, Some(1232));
    let signed = sign(&mut msg, key, peer)?;
    let bind: SocketAddr = if peer.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| io(peer, format!("no socket: {e}")))?;
    sock.connect(peer)
        .await
        .map_err(|e| io(peer, format!("cannot reach: {e}")))?;
    let mut buf = vec![0u8; 65535];
    for _ in 0..2 {
        let _ = sock.send(&msg).await;
        let deadline = tokio::time::Instant::now() + config.soa_timeout;
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            let wire = &buf[..n];
            let Ok(m) = Message::parse(wire) else {
                continue;
            };
            if m.header.id != id || !m.header.qr {
                continue;
            }
            if m.header.tc {
                return query_soa_tcp(peer, zone, key, config, started).await;
            }
            return soa_from(peer, zone, wire, &m, signed.as_ref(), started);
        }
    }
    Err(io(
        peer,
        format!(
            "no answer to the SOA query in {:?} (2 tries)",
            config.soa_timeout * 2
        ),
    ))
}

async fn query_soa_tcp(
    peer: SocketAddr,
    zone: &Name,
    key: Option<&Key>,
    config: &ClientConfig,
    started: Instant,
) -> Result<SoaAnswer, ClientError> {
    let id: u16 = rand::random();
    let mut msg = build_query(id, zone, Rtype::SOA, None);
    let signed = sign(&mut msg, key, peer)?;
    let mut stream = connect(peer, config).await?;
    write_message(&mut stream, &msg, peer).await?;
    let wire = read_message(&mut stream, peer, config.idle_timeout).await?;
    let m = Message::parse(&wire).map_err(|e| ClientError::Read {
        peer,
        error: ReadError::Malformed(e.to_string()),
    })?;
    if m.header.id != id {
        return Err(io(peer, "the TCP answer to the SOA query has another ID"));
    }
    soa_from(peer, zone, &wire, &m, signed.as_ref(), started)
}

fn soa_from(
    peer: SocketAddr,
    zone: &Name,
    wire: &[u8],
    m: &Message,
    signed: Option<&SignedRequest>,
    started: Instant,
) -> Result<SoaAnswer, ClientError> {
    if let Some(req) = signed {
        let mut v = req.verifier();
        v.verify(wire, unix_now())
            .and_then(|_| v.finish())
            .map_err(|e| ClientError::Tsig {
                peer,
                what: e.to_string(),
            })?;
    }
    let bad = |what: String| ClientError::Read {
        peer,
        error: ReadError::NotOurs(what),
    };
    if m.rcode() != 0 {
        return Err(ClientError::Read {
            peer,
            error: ReadError::Rcode(m.rcode()),
        });
    }
    if !m.header.aa {
        return Err(bad(format!(
            "the SOA answer for {zone} is not authoritative"
        )));
    }
    let zone = zone.to_lowercase();
    let soa = m
        .answer
        .iter()
        .find(|r| r.rtype == Rtype::SOA && r.owner.to_lowercase() == zone)
        .ok_or_else(|| bad(format!("no SOA of {zone} in the answer")))?;
    let fields = soa_fields(&soa.rdata).ok_or_else(|| bad("an SOA without timers".into()))?;
    Ok(SoaAnswer {
        soa: soa.clone(),
        serial: fields[0],
        elapsed: started.elapsed(),
    })
}

async fn connect(peer: SocketAddr, config: &ClientConfig) -> Result<TcpStream, ClientError> {
    match tokio::time::timeout(config.idle_timeout, TcpStream::connect(peer)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(io(peer, format!("cannot connect: {e}"))),
        Err(_) => Err(io(
            peer,
            format!("no TCP connection in {:?}", config.idle_timeout),
        )),
    }
}

async fn write_message(
    stream: &mut TcpStream,
    msg: &[u8],
    peer: SocketAddr,
) -> Result<(), ClientError> {
    let len = u16::try_from(msg.len()).map_err(|_| io(peer, "query too long"))?;
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(msg);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| io(peer, format!("sending the query: {e}")))
}

async fn read_message(
    stream: &mut TcpStream,
    peer: SocketAddr,
    idle: Duration,
) -> Result<Vec<u8>, ClientError> {
    let read = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    match tokio::time::timeout(idle, read).await {
        Ok(Ok(buf)) => Ok(buf),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(io(peer, "the connection closed before the transfer ended"))
        }
        Ok(Err(e)) => Err(io(peer, format!("reading: {e}"))),
        Err(_) => Err(io(peer, format!("nothing read for {idle:?}"))),
    }
}

/// The transfer query: AXFR, or IXFR with `ours` (our SOA) in the authority section.
pub fn transfer_query(id: u16, zone: &Name, ours: Option<&Record>) -> Vec<u8> {
    match ours {
        None => build_query(id, zone, Rtype::AXFR, None),
        Some(soa) => {
            let mut m = build_query(id, zone, Rtype::IXFR, None);
            if let Some(ns) = m.get_mut(9) {
                *ns = 1;
            }
            write_records_uncompressed(std::slice::from_ref(soa), &mut m);
            m
        }
    }
}

/// Transfers `zone` from `peer`: IXFR from `ours` (our SOA) when given, AXFR otherwise.
pub async fn transfer(
    peer: SocketAddr,
    zone: &Name,
    ours: Option<&Record>,
    key: Option<&Key>,
    config: &ClientConfig,
) -> Result<Transfer, ClientError> {
    let started = Instant::now();
    let ask = match ours {
        None => Ask::Axfr,
        Some(soa) => Ask::Ixfr {
            serial: crate::response::soa_serial(&soa.rdata).unwrap_or(0),
        },
    };
    let id: u16 = rand::random();
    let mut msg = transfer_query(id, zone, ours);
    let signed = sign(&mut msg, key, peer)?;
    let work = async {
        let mut stream = connect(peer, config).await?;
        write_message(&mut stream, &msg, peer).await?;
        read_transfer(&mut stream, peer, zone, ask, id, signed, config).await
    };
    let (received, messages, bytes) = tokio::time::timeout(config.total_timeout, work)
        .await
        .map_err(|_| {
            io(
                peer,
                format!("the transfer took longer than {:?}", config.total_timeout),
            )
        })??;
    Ok(Transfer {
        received,
        messages,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// "the AXFR of zone example.com. from 192.0.2.1:53", for limit refusals.
fn transfer_what(zone: &Name, ask: Ask, peer: SocketAddr) -> String {
    let kind = if matches!(ask, Ask::Axfr) {
        "AXFR"
    } else {
        "IXFR"
    };
    format!("the {kind} of zone {} from {peer}", zone.to_lowercase())
}

/// Logs and counts a size-limit refusal of a transfer.
fn refused(limit: zonecast_control::Limit, zone: &Name, what: String, value: usize, max: usize) {
    let e = zonecast_control::limits::Exceeded {
        limit,
        zone: zone.to_lowercase().to_string(),
        what,
        rrset: None,
        value,
        max,
    };
    zonecast_control::limits::refused(&e, "transfer");
}

/// The error of a transfer cut off at `--xfr-max-bytes`, logged and counted.
fn too_many_bytes(zone: &Name, ask: Ask, peer: SocketAddr, bytes: usize, max: u64) -> ClientError {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    refused(
        zonecast_control::Limit::TransferBytes,
        zone,
        transfer_what(zone, ask, peer),
        bytes,
        max,
    );
    ClientError::TooLarge { peer, bytes, max }
}

async fn read_transfer(
    stream: &mut TcpStream,
    peer: SocketAddr,
    zone: &Name,
    ask: Ask,
    id: u16,
    signed: Option<SignedRequest>,
    config: &ClientConfig,
) -> Result<(Received, usize, usize), ClientError> {
    let mut reader = TransferReader::new(zone, ask, id, config.max_records);
    let mut verifier: Option<ResponseVerifier> = signed.as_ref().map(|s| s.verifier());
    let mut bytes = 0;
    loop {
        let wire = read_message(stream, peer, config.idle_timeout).await?;
        bytes += wire.len() + 2;
        if bytes as u64 > config.max_bytes {
            return Err(too_many_bytes(zone, ask, peer, bytes, config.max_bytes));
        }
        if let Some(v) = verifier.as_mut() {
            if let Err(e) = v.verify(&wire, unix_now()) {
                // An unsigned error answer (REFUSED, NOTIMP to IXFR) is reported as such.
                let rcode = wire.get(3).map_or(0, |b| u16::from(b & 0x0f));
                if rcode != 0 && rcode != 9 {
                    return Err(ClientError::Read {
                        peer,
                        error: ReadError::Rcode(rcode),
                    });
                }
                return Err(ClientError::Tsig {
                    peer,
                    what: e.to_string(),
                });
            }
        }
        let done = reader.feed(&wire).map_err(|error| {
            if let ReadError::TooLarge(max) = error {
                let what = transfer_what(zone, ask, peer);
                refused(
                    zonecast_control::Limit::ZoneRecords,
                    zone,
                    what,
                    max + 1,
                    max,
                );
            }
            ClientError::Read { peer, error }
        })?;
        if done {
            break;
        }
    }
    if let Some(v) = &verifier {
        v.finish().map_err(|e| ClientError::Tsig {
            peer,
            what: e.to_string(),
        })?;
    }
    let messages = reader.messages();
    let received = reader
        .finish()
        .map_err(|error| ClientError::Read { peer, error })?;
    Ok((received, messages, bytes))
}
