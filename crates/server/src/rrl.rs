//! Response rate limiting (RRL) of UDP answers, as BIND, Knot and NSD do it.
//!
//! A spoofed-source flood makes an authoritative server a reflector: the
//! victim receives answers it never asked for, larger than the queries.
//! RRL counts the answers sent to each source *prefix* (IPv4 /24, IPv6 /56
//! by default) per *kind* of answer and per name, and once a bucket has
//! spent its `rate` answers in a second, drops the rest, except every
//! `slip`-th one, which leaves as a truncated answer (TC=1, question only):
//! a real client behind a spoofed prefix then retries over TCP, which a
//! spoofer cannot use. This is the scheme of the ISC/Vixie "DNS Response
//! Rate Limiting" note, which BIND (`rate-limit`), Knot (`mod-rrl`) and
//! NSD (`rrl-*`) implement.
//!
//! A bucket is keyed by (prefix, kind, name), the name being:
//! - the question name and type for positive answers and NODATA, so a
//!   client asking many names is not limited by one popular answer;
//! - the zone for NXDOMAIN and referrals, so random-subdomain floods
//!   ("water torture") share one bucket per zone;
//! - nothing for errors (REFUSED, FORMERR, NOTIMP, SERVFAIL, NOTIFY).
//!
//! The table is a fixed array of 64-bit words updated by compare-and-swap:
//! no lock and no allocation per answer, and both UDP workers share it, so
//! a prefix's rate holds whichever worker its datagrams reach. A bucket is
//! found by a keyed hash (the key is random per process, so collisions
//! cannot be planned offline); two keys that meet in one slot take it from
//! each other, which at worst lets a few more answers through, as in Knot.
//! TCP answers are never limited: a TCP peer has proven its address.
//!
//! Limitations: one rate for every kind (BIND can set one per kind); no
//! per-second log of the limited prefixes (a throttled line with counts
//! instead); time is counted in whole seconds.

use crate::net::{unmapped, Network};
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use zonecast_zone::Outcome;

/// Settings of response rate limiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrlConfig {
    /// Answers per second per bucket; 0 turns RRL off. At most 65535.
    pub rate: u32,
    /// Every `slip`-th limited answer is sent truncated (TC=1); 0 drops all, 1 truncates all.
    pub slip: u32,
    /// IPv4 prefix length counted as one source.
    pub ipv4_prefix: u8,
    /// IPv6 prefix length counted as one source.
    pub ipv6_prefix: u8,
    /// Buckets in the table (rounded up to a power of two; 8 bytes each).
    pub table_size: usize,
    /// Sources never limited.
    pub exempt: Vec<Network>,
}

impl Default for RrlConfig {
    /// Off, with BIND's and Knot's other defaults (slip 2, /24, /56).
    fn default() -> Self {
        RrlConfig {
            rate: 0,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            table_size: 1 << 20,
            exempt: Vec::new(),
        }
    }
}

/// What RRL does with one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send it as built.
    Send,
    /// Send it truncated: header and question, TC=1.
    Slip,
    /// Send nothing.
    Drop,
}

/// The kind of an answer, part of its bucket's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Records in the answer section (also a truncated one).
    Answer,
    /// The name exists, the type does not.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// A referral to a child zone.
    Referral,
    /// REFUSED, FORMERR, NOTIMP, SERVFAIL and other non-answers.
    Error,
}

impl Kind {
    /// The kind of a zone's answer; `None` (no zone answered) is an error.
    pub fn of(outcome: Option<Outcome>) -> Kind {
        match outcome {
            Some(Outcome::Answer | Outcome::Truncated) => Kind::Answer,
            Some(Outcome::NoData) => Kind::NoData,
            Some(Outcome::NxDomain) => Kind::NxDomain,
            Some(Outcome::Referral) => Kind::Referral,
            Some(Outcome::ServFail) | None => Kind::Error,
        }
    }
}

/// What the pipeline tells RRL about an answer it built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Answered {
    /// The zone's answer, `None` when no zone answered.
    pub outcome: Option<Outcome>,
    /// Length of the answering zone's apex in wire form: the question
    /// name's last `apex_len` octets.
    pub apex_len: usize,
}

/// Counters of RRL, for `/metrics`.
#[derive(Debug, Default)]
pub struct RrlStats {
    /// Answers dropped.
    pub dropped: AtomicU64,
    /// Answers sent truncated instead.
    pub slipped: AtomicU64,
}

/// The rate limiter shared by a node's UDP workers.
pub struct Rrl {
    config: RrlConfig,
    table: Box<[AtomicU64]>,
    mask: usize,
    hasher: ahash::RandomState,
    epoch: Instant,
    stats: RrlStats,
    log: crate::tcp::Throttle,
}

const TOKENS: u64 = 0xffff;
const TIME_SHIFT: u32 = 16;
const SLIP_SHIFT: u32 = 32;
const TAG_SHIFT: u32 = 40;

impl Rrl {
    /// A limiter with `config`; `None` when its rate is 0 (RRL off).
    pub fn new(config: RrlConfig) -> Option<Rrl> {
        if config.rate == 0 {
            return None;
        }
        let size = config.table_size.clamp(1024, 1 << 26).next_power_of_two();
        Some(Rrl {
            table: (0..size).map(|_| AtomicU64::new(0)).collect(),
            mask: size - 1,
            hasher: ahash::RandomState::new(),
            epoch: Instant::now(),
            stats: RrlStats::default(),
            log: crate::tcp::Throttle::new(),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &RrlConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &RrlStats {
        &self.stats
    }

    /// Seconds since the limiter started: read once per batch of datagrams.
    pub fn now(&self) -> u32 {
        self.epoch.elapsed().as_secs() as u32
    }

    /// Decides about one answer to `peer` for the question `qname`/`qtype`
    /// (lowercased wire), which the pipeline described in `answered`.
    pub fn check(
        &self,
        peer: IpAddr,
        qname: &[u8],
        qtype: u16,
        answered: &Answered,
        now: u32,
    ) -> Action {
        let peer = unmapped(peer);
        if self.config.exempt.iter().any(|n| n.contains(peer)) {
            return Action::Send;
        }
        let kind = Kind::of(answered.outcome);
        let hash = self.key(peer, kind, qname, qtype, answered.apex_len);
        self.spend(hash, now as u16)
    }

    /// The bucket key's hash: prefix, kind and the kind's name part.
    fn key(&self, peer: IpAddr, kind: Kind, qname: &[u8], qtype: u16, apex_len: usize) -> u64 {
        let mut h = self.hasher.build_hasher();
        match peer {
            IpAddr::V4(a) => h.write_u32(u32::from(a) & mask32(self.config.ipv4_prefix)),
            IpAddr::V6(a) => h.write_u128(u128::from(a) & mask128(self.config.ipv6_prefix)),
        }
        h.write_u8(kind as u8);
        match kind {
            Kind::Answer | Kind::NoData => {
                h.write(qname);
                h.write_u16(qtype);
            }
            Kind::NxDomain | Kind::Referral => {
                h.write(
                    qname
                        .get(qname.len().saturating_sub(apex_len)..)
                        .unwrap_or(qname),
                );
            }
            Kind::Error => {}
        }
        h.finish()
    }

    /// Takes one token from the bucket of `hash`, refilled for the seconds since its last use.
    fn spend(&self, hash: u64, now: u16) -> Action {
        let slot = &self.table[(hash as usize) & self.mask];
        let tag = hash >> TAG_SHIFT;
        let rate = u64::from(self.config.rate.min(TOKENS as u32));
        let mut old = slot.load(Ordering::Relaxed);
        loop {
            let (tokens, slips) = if old >> TAG_SHIFT != tag || old == 0 {
                (rate, 0)
            } else {
                let then = ((old >> TIME_SHIFT) & 0xffff) as u16;
                let elapsed = u64::from(now.wrapping_sub(then));
                let tokens = ((old & TOKENS) + elapsed * rate).min(rate);
                (tokens, (old >> SLIP_SHIFT) & 0xff)
            };
            let (action, tokens, slips) = if tokens > 0 {
                (Action::Send, tokens - 1, slips)
            } else {
                // The first answer over the rate slips, then every `slip`-th.
                let slip = u64::from(self.config.slip.min(255));
                let action = if slip != 0 && slips == 0 {
                    Action::Slip
                } else {
                    Action::Drop
                };
                (action, 0, if slip == 0 { 0 } else { (slips + 1) % slip })
            };
            let new =
                tag << TAG_SHIFT | slips << SLIP_SHIFT | u64::from(now) << TIME_SHIFT | tokens;
            match slot.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return action,
                Err(current) => old = current,
            }
        }
    }

    /// Adds a batch's limited answers to the counters; logs at most one line a second.
    pub fn count(&self, dropped: u64, slipped: u64) {
        if dropped == 0 && slipped == 0 {
            return;
        }
        self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
        self.stats.slipped.fetch_add(slipped, Ordering::Relaxed);
        if self.log.hit(self.epoch).is_some() {
            tracing::warn!(
                dropped_total = self.stats.dropped.load(Ordering::Relaxed),
                slipped_total = self.stats.slipped.load(Ordering::Relaxed),
                rate = self.config.rate,
                "response rate limiting: answers over the rate dropped or truncated"
            );
        }
    }
}

/// The RRL samples of `/metrics`: zeros when RRL is off, so dashboards
/// find the series either way.
pub fn samples(rrl: Option<&Rrl>) -> Vec<(&'static str, &'static str, &'static str, u64)> {
    let get =
        |c: fn(&RrlStats) -> &AtomicU64| rrl.map_or(0, |r| c(&r.stats).load(Ordering::Relaxed));
    vec![
        (
            "zonecast_rrl_dropped_total",
            "UDP answers dropped by response rate limiting.",
            "counter",
            get(|s| &s.dropped),
        ),
        (
            "zonecast_rrl_slipped_total",
            "UDP answers sent truncated (TC=1) by response rate limiting instead of dropped.",
            "counter",
            get(|s| &s.slipped),
        ),
    ]
}

fn mask32(bits: u8) -> u32 {
    match bits {
        0 => 0,
        b => u32::MAX << (32 - u32::from(b.min(32))),
    }
}

fn mask128(bits: u8) -> u128 {
    match bits {
        0 => 0,
        b => u128::MAX << (128 - u32::from(b.min(128))),
    }
}

/// Turns the answer of `len` octets in `out` into its slip form: header
/// and question, TC=1, no records. Returns the new length.
pub fn truncate(out: &mut [u8], len: usize, question_end: usize) -> usize {
    if len < 12 || out.len() < 12 {
        return len;
    }
    let has_question = out[4] != 0 || out[5] != 0;
    let end = if has_question {
        question_end.clamp(12, len)
    } else {
        12
    };
    out[2] |= 0x02;
    out[6..12].fill(0);
    end
}

#[cfg(test)]
mod tests;
