//! Zone transfers out over TCP: AXFR (RFC 5936) and IXFR (RFC 1995), with
//! transfer ACLs ([`acl`]).
//!
//! - **AXFR** (RFC 5936 §2.2): the SOA first and last, every other record
//!   once, as many per message as fit in 64 KiB. The whole transfer comes
//!   from one zone version (the one served when the query arrived), so
//!   changes committing meanwhile do not mix in; records are read from that
//!   version as they are sent, so a transfer holds one message, not a copy
//!   of the zone.
//! - **IXFR** (RFC 1995 §4): the client's serial is the SOA in the query's
//!   authority section. When it is the served serial or newer (RFC 1982),
//!   the answer is that single SOA. Otherwise the journal's changes from it to
//!   the served serial go out as difference sequences (old SOA, removed
//!   records, new SOA, added records), one per journaled change, between two
//!   copies of the current SOA. When the journal does not reach back that far
//!   (or the serial is unknown), the answer is AXFR-style (§4: the whole zone).
//! - **Refusals:** a zone this node does not serve gets NOTAUTH (as Knot);
//!   one whose ACL refuses the peer gets REFUSED, with a log line giving the
//!   reason; so do transfers beyond the concurrent-transfer limit
//!   ([`Transfers::new`]), as BIND's `transfers-out`. An IXFR without an SOA
//!   in its authority section is FORMERR.
//! - Each transfer is logged (peer, zone, type, serials, records, messages,
//!   duration) and counted ([`XfrStats`]).
//!
//! - **IXFR over UDP** (RFC 1995 §2): the current SOA alone ([`ixfr_over_udp`]).
//! - **TSIG** (RFC 8945): a signed request is verified (failures answered as
//!   §5.2 says, NOTAUTH with the TSIG error, or FORMERR), every message of
//!   the answer is signed, and the key is what `key:NAME` ACL entries match.
//!
//! Limitations: messages carry the question each (RFC 5936 §2.2.1 allows
//! it); every message is signed (RFC 8945 allows up to 99 unsigned between).

pub mod acl;
mod pack;

pub use acl::{Acl, Denied};

use pack::{Packer, Rr};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use zonecast_proto::message::Message;
use zonecast_proto::query::QueryView;
use zonecast_proto::tsig::{append_error_tsig, verify_request, Key, ResponseSigner, TsigFailure};
use zonecast_proto::types::serial_gt;
use zonecast_proto::writer::Writer;
use zonecast_proto::{Name, Record, Rtype};
use zonecast_zone::Zone;

/// Response codes.
const FORMERR: u8 = 1;
const SERVFAIL: u8 = 2;
const REFUSED: u8 = 5;
const NOTAUTH: u8 = 9;
/// Octets left free at the end of each message for a TSIG record.
const TSIG_ROOM: usize = 512;
/// Longest wait for the peer to take one message.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on concurrent outgoing transfers (BIND's `transfers-out`).
pub const DEFAULT_MAX_TRANSFERS: usize = 10;

/// One journaled change, as IXFR sends it: `removed` holds the old SOA,
/// `added` the new one, with the other records.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    /// Records removed, the old SOA among them.
    pub removed: Vec<Record>,
    /// Records added, the new SOA among them.
    pub added: Vec<Record>,
}

/// What serving transfers needs from the node: ACLs and the journal.
pub trait TransferSource: Send + Sync {
    /// The zone's transfer ACL; `None` when this node has no settings for it
    /// (refused). May block: called off the runtime.
    fn acl(&self, zone: &Name) -> Option<Acl>;
    /// The journaled changes leading from serial `from` to `to`, oldest
    /// first; `None` when the journal does not reach back to `from` or does
    /// not lead to `to`. May block (it reads a store): called off the runtime.
    fn deltas(&self, zone: &Name, from: u32, to: u32) -> Option<Vec<Delta>>;
    /// The TSIG key of that name (as the request's TSIG record names it,
    /// any case); `None` when unknown. May block: called off the runtime.
    fn key(&self, name: &Name) -> Option<Key>;
}

/// Counters of outgoing transfers, for `/metrics`.
#[derive(Debug, Default)]
pub struct XfrStats {
    /// AXFR answers sent in full (including AXFR-style IXFR answers).
    pub axfr: AtomicU64,
    /// Incremental IXFR answers sent in full (single-SOA answers included).
    pub ixfr: AtomicU64,
    /// Transfers refused by an ACL.
    pub refused: AtomicU64,
    /// Transfers refused because the concurrent-transfer limit was reached.
    pub limited: AtomicU64,
    /// Transfers cut off (peer gone or too slow, a record too large).
    pub failed: AtomicU64,
    /// Records sent by transfers.
    pub records: AtomicU64,
}

/// How long a zone's ACL read for a UDP IXFR is used before it is read again.
const ACL_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most zones whose ACL is remembered for UDP IXFR.
const ACL_CACHE_MAX: usize = 10_000;

/// The transfer service of a node's listeners.
#[derive(Clone)]
pub struct Transfers {
    source: Arc<dyn TransferSource>,
    slots: Arc<Semaphore>,
    max: usize,
    stats: Arc<XfrStats>,
    acls: Arc<crate::cache::TtlCache<Name, Option<Acl>>>,
    closing: Arc<std::sync::atomic::AtomicBool>,
}

impl Transfers {
    /// Serves transfers from `source`, at most `max` at a time (more are REFUSED).
    pub fn new(source: Arc<dyn TransferSource>, max: usize) -> Transfers {
        Transfers {
            source,
            slots: Arc::new(Semaphore::new(max)),
            max,
            stats: Arc::new(XfrStats::default()),
            acls: Arc::new(crate::cache::TtlCache::new(ACL_CACHE_TTL, ACL_CACHE_MAX)),
            closing: Arc::default(),
        }
    }

    /// Transfers being sent now.
    pub fn in_flight(&self) -> usize {
        self.max.saturating_sub(self.slots.available_permits())
    }

    /// Shutting down: refuses new transfers (REFUSED) and waits up to
    /// `within` for those in flight to finish; returns how many are left.
    ///
    /// The listeners go on answering queries meanwhile.
    pub async fn drain(&self, within: Duration) -> usize {
        self.closing.store(true, Ordering::SeqCst);
        // Every slot free means none in flight; the permits go back at once.
        let all = u32::try_from(self.max).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(within, self.slots.acquire_many(all)).await;
        self.in_flight()
    }

    /// The zone's ACL for a UDP worker: from memory, read from the source
    /// at most every [`ACL_CACHE_TTL`] (a settings change applies within it).
    fn acl_cached(&self, zone: &Name) -> Option<Acl> {
        self.acls.get_or_load(zone, || self.source.acl(zone))
    }

    /// The counters.
    pub fn stats(&self) -> Arc<XfrStats> {
        self.stats.clone()
    }

    /// The concurrent-transfer limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// What became of a transfer query.
pub(crate) enum Handled {
    /// Not a transfer of a zone this node serves: answer it as any query.
    NotOurs,
    /// Answered (in full or refused); the connection goes on.
    Done,
    /// The connection must close (write failed or timed out).
    Close,
}

/// IXFR over UDP (RFC 1995 §2): the current SOA alone, for a peer the
/// zone's ACL allows; it tells a client that is behind to ask again over
/// TCP, and one that is current that nothing changed. REFUSED otherwise,
/// NOTAUTH for a zone this node does not serve.
pub(crate) fn ixfr_over_udp(
    t: &Transfers,
    zones: &zonecast_zone::ZoneSet,
    q: &QueryView,
    peer: Option<SocketAddr>,
    key: Option<&Name>,
    w: &mut Writer<'_>,
) {
    let Some(slot) = zones.find(q.qname()) else {
        return w.set_rcode(NOTAUTH);
    };
    let zone = slot.load();
    if !zone.apex().as_wire().eq_ignore_ascii_case(q.qname()) {
        return w.set_rcode(NOTAUTH);
    }
    let verdict = match (t.acl_cached(zone.apex()), peer) {
        (Some(acl), Some(p)) => acl.check(p.ip(), key).map_err(|d| d.to_string()),
        (None, _) => Err("no settings for the zone".into()),
        (_, None) => Err("no peer address".into()),
    };
    match verdict {
        Ok(()) => {
            zone.answer(q.qname(), Rtype::SOA, w);
            t.stats.ixfr.fetch_add(1, Ordering::Relaxed);
        }
        Err(why) => {
            // Debug only: a UDP source may be spoofed, and a log line per packet would be a flood.
            tracing::debug!(zone = %zone.apex(), peer = ?peer, "IXFR over UDP refused: {why}");
            t.stats.refused.fetch_add(1, Ordering::Relaxed);
            w.set_rcode(REFUSED);
        }
    }
}

/// Whether a parsed query asks for a zone transfer over TCP.
pub(crate) fn is_transfer(q: &QueryView) -> bool {
    q.opcode == zonecast_proto::query::OPCODE_QUERY
        && q.qclass == zonecast_proto::Class::IN
        && (q.qtype == Rtype::AXFR || q.qtype == Rtype::IXFR)
}

/// Answers a transfer query on `stream`; `out` holds 65537 octets.
pub(crate) async fn serve(
    t: &Transfers,
    stream: &mut TcpStream,
    query: &[u8],
    q: &QueryView,
    peer: SocketAddr,
    zone: Option<Arc<Zone>>,
    out: &mut [u8],
) -> Handled {
    let Some(zone) = zone else {
        return Handled::NotOurs;
    };
    let apex = zone.apex().clone();
    let kind = if q.qtype == Rtype::AXFR {
        "AXFR"
    } else {
        "IXFR"
    };
    let now = unix_now();
    let (verified, acl) = {
        let source = t.source.clone();
        let (msg, z) = (query.to_vec(), apex.clone());
        let looked = tokio::task::spawn_blocking(move || {
            let v = verify_request(&msg, |n| source.key(n), now);
            (v, source.acl(&z))
        });
        match looked.await {
            Ok(r) => r,
            Err(_) => return Handled::Close,
        }
    };
    let mut signer = match verified {
        Err(failure) => {
            tracing::info!(zone = %apex, %peer, kind, key = ?failure.key_name().map(|k| k.to_string()), "transfer refused: {failure}");
            t.stats.refused.fetch_add(1, Ordering::Relaxed);
            return reply_tsig_error(stream, out, q, query, &failure, now).await;
        }
        Ok(v) => v.map(|v| {
            (
                v.key().name.clone(),
                v.response_tsig_len(),
                ResponseSigner::new(&v),
            )
        }),
    };
    let key_name = signer.as_ref().map(|(k, _, _)| k.clone());
    let tsig_room = signer.as_ref().map_or(0, |(_, room, _)| *room);
    let mut signer = signer.take().map(|(_, _, s)| s);
    let verdict = match acl {
        None => Err("no settings for the zone".to_string()),
        Some(acl) => acl
            .check(peer.ip(), key_name.as_ref())
            .map_err(|d| d.to_string()),
    };
    let key = key_name.as_ref().map(|k| k.to_string());
    if let Err(why) = verdict {
        tracing::info!(zone = %apex, %peer, kind, key, "transfer refused: {why}");
        t.stats.refused.fetch_add(1, Ordering::Relaxed);
        return reply(stream, out, q, query, REFUSED, &mut signer).await;
    }
    if zone.is_expired() {
        // RFC 1034 §4.3.5: an expired zone is not given out.
        tracing::info!(zone = %apex, %peer, kind, key, "transfer refused: the zone is expired");
        t.stats.refused.fetch_add(1, Ordering::Relaxed);
        return reply(stream, out, q, query, SERVFAIL, &mut signer).await;
    }
    if t.closing.load(Ordering::SeqCst) {
        tracing::info!(zone = %apex, %peer, kind, key, "transfer refused: shutting down");
        t.stats.refused.fetch_add(1, Ordering::Relaxed);
        return reply(stream, out, q, query, REFUSED, &mut signer).await;
    }
    let Ok(_permit) = t.slots.clone().try_acquire_owned() else {
        tracing::warn!(zone = %apex, %peer, kind, key, limit = t.max, "transfer refused: concurrent transfer limit reached");
        t.stats.limited.fetch_add(1, Ordering::Relaxed);
        return reply(stream, out, q, query, REFUSED, &mut signer).await;
    };
    let started = Instant::now();
    let client_serial = if q.qtype == Rtype::IXFR {
        match Message::parse(query)
            .ok()
            .and_then(|m| ixfr_serial(&m, &apex))
        {
            Some(s) => Some(s),
            None => return reply(stream, out, q, query, FORMERR, &mut signer).await,
        }
    } else {
        None
    };
    let packer = Packer {
        q,
        query,
        limit: u16::MAX as usize - tsig_room.max(TSIG_ROOM),
    };
    let sig = &mut signer;
    let current = zone.serial();
    let (style, sent) = match client_serial {
        Some(from) if !serial_gt(current, from) => (
            "single SOA",
            send(stream, out, &packer, sig, soa(&zone).into_iter()).await,
        ),
        Some(from) => {
            let source = t.source.clone();
            let z = apex.clone();
            let deltas = tokio::task::spawn_blocking(move || source.deltas(&z, from, current))
                .await
                .ok()
                .flatten();
            match deltas {
                Some(d) => (
                    "incremental",
                    send(stream, out, &packer, sig, ixfr_rrs(&zone, &d)).await,
                ),
                None => (
                    "AXFR-style",
                    send(stream, out, &packer, sig, axfr_rrs(&zone)).await,
                ),
            }
        }
        None => (
            "AXFR",
            send(stream, out, &packer, sig, axfr_rrs(&zone)).await,
        ),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match sent {
        Ok((records, messages)) => {
            let counter = if style == "AXFR" || style == "AXFR-style" {
                &t.stats.axfr
            } else {
                &t.stats.ixfr
            };
            counter.fetch_add(1, Ordering::Relaxed);
            t.stats.records.fetch_add(records, Ordering::Relaxed);
            tracing::info!(zone = %apex, %peer, kind, key, style, from = ?client_serial, serial = current, records, messages, ms = format!("{ms:.1}"), "transfer out");
            Handled::Done
        }
        Err(why) => {
            t.stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(zone = %apex, %peer, kind, style, serial = current, ms = format!("{ms:.1}"), "transfer out failed: {why}");
            Handled::Close
        }
    }
}

/// The serial of the SOA an IXFR query carries in its authority section.
fn ixfr_serial(msg: &Message, apex: &Name) -> Option<u32> {
    let soa = msg.authority.iter().find(|r| r.rtype == Rtype::SOA)?;
    if soa.owner.to_lowercase() != *apex {
        return None;
    }
    zonecast_proto::rdata::soa_serial(&soa.rdata)
}

/// The version's SOA record.
fn soa(zone: &Zone) -> Option<Rr<'_>> {
    let apex = zone.apex_node();
    let set = apex.rrset(Rtype::SOA)?;
    let rdata = set.rdatas().next()?;
    Some(Rr {
        owner: apex.name(),
        rtype: Rtype::SOA,
        header: set.header,
        rdata,
    })
}

/// SOA, every record but the SOA, SOA.
fn axfr_rrs(zone: &Zone) -> impl Iterator<Item = Rr<'_>> {
    let apex = zone.apex_node().name();
    let body = zone.nodes().flat_map(move |node| {
        let owner = node.name();
        node.rrsets()
            .filter(move |set| !(set.rtype == Rtype::SOA && owner == apex))
            .flat_map(move |set| {
                set.rdatas().map(move |rdata| Rr {
                    owner,
                    rtype: set.rtype,
                    header: set.header,
                    rdata,
                })
            })
    });
    soa(zone).into_iter().chain(body).chain(soa(zone))
}

/// Current SOA, then per change: old SOA, removed, new SOA, added; current SOA.
fn ixfr_rrs<'a>(zone: &'a Zone, deltas: &'a [Delta]) -> impl Iterator<Item = Rr<'a>> {
    let soa_first = |list: &'a [Record]| {
        let soas = list.iter().filter(|r| r.rtype == Rtype::SOA);
        let rest = list.iter().filter(|r| r.rtype != Rtype::SOA);
        soas.chain(rest).map(Rr::of)
    };
    let body = deltas
        .iter()
        .flat_map(move |d| soa_first(&d.removed).chain(soa_first(&d.added)));
    soa(zone).into_iter().chain(body).chain(soa(zone))
}

/// Sends the records as messages; (records, messages) sent, or why it stopped.
async fn send<'a>(
    stream: &mut TcpStream,
    out: &mut [u8],
    packer: &Packer<'_>,
    signer: &mut Option<ResponseSigner>,
    rrs: impl Iterator<Item = Rr<'a>>,
) -> Result<(u64, u64), String> {
    let mut rrs = rrs.peekable();
    let (mut records, mut messages) = (0u64, 0u64);
    loop {
        let body = out.get_mut(2..).ok_or("output buffer too small")?;
        let (n, count) = match packer.fill(body, &mut rrs) {
            Ok(Some(filled)) => filled,
            Ok(None) => break,
            Err(pack::TooLarge) => return Err("a record does not fit in a message".into()),
        };
        records += count;
        messages += 1;
        write_message(stream, out, n, signer).await?;
    }
    Ok((records, messages))
}

/// Writes one framed message within [`WRITE_TIMEOUT`].
async fn write(stream: &mut TcpStream, frame: &[u8]) -> Result<(), String> {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Err(_) => Err(format!(
            "peer took no data for {} s",
            WRITE_TIMEOUT.as_secs()
        )),
    }
}

/// Writes the message in `out[2..2 + n]`, signed when there is a signer.
async fn write_message(
    stream: &mut TcpStream,
    out: &mut [u8],
    n: usize,
    signer: &mut Option<ResponseSigner>,
) -> Result<(), String> {
    match signer {
        Some(s) => {
            let mut msg = out
                .get(2..2 + n)
                .ok_or("message beyond the buffer")?
                .to_vec();
            s.sign(&mut msg, unix_now())
                .map_err(|e| format!("signing: {e}"))?;
            write(stream, &framed(&msg)?).await
        }
        None => {
            let len = u16::try_from(n).map_err(|_| "message too long")?;
            out[..2].copy_from_slice(&len.to_be_bytes());
            write(stream, &out[..n + 2]).await
        }
    }
}

fn framed(msg: &[u8]) -> Result<Vec<u8>, String> {
    let len = u16::try_from(msg.len()).map_err(|_| "message too long")?;
    let mut f = Vec::with_capacity(msg.len() + 2);
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(msg);
    Ok(f)
}

/// A header-and-question answer with `rcode`, signed when the request was.
async fn reply(
    stream: &mut TcpStream,
    out: &mut [u8],
    q: &QueryView,
    query: &[u8],
    rcode: u8,
    signer: &mut Option<ResponseSigner>,
) -> Handled {
    let Some(n) = error_message(out, q, query, rcode) else {
        return Handled::Close;
    };
    match write_message(stream, out, n, signer).await {
        Ok(()) => Handled::Done,
        Err(_) => Handled::Close,
    }
}

/// A TSIG failure's answer (RFC 8945 §5.2): NOTAUTH with the TSIG error, or FORMERR.
async fn reply_tsig_error(
    stream: &mut TcpStream,
    out: &mut [u8],
    q: &QueryView,
    query: &[u8],
    failure: &TsigFailure,
    now: u64,
) -> Handled {
    let Some(n) = error_message(out, q, query, NOTAUTH) else {
        return Handled::Close;
    };
    let mut msg = out[2..2 + n].to_vec();
    if append_error_tsig(&mut msg, failure, now).is_err() {
        return Handled::Close;
    }
    match framed(&msg) {
        Ok(f) if write(stream, &f).await.is_ok() => Handled::Done,
        _ => Handled::Close,
    }
}

/// Builds a header-and-question answer with `rcode` in `out[2..]`; its length.
fn error_message(out: &mut [u8], q: &QueryView, query: &[u8], rcode: u8) -> Option<usize> {
    let body = out.get_mut(2..)?;
    let mut w = Writer::new(body, u16::MAX as usize - TSIG_ROOM, q, query);
    w.set_rcode(rcode);
    Some(w.finish())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
