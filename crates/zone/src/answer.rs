//! Answering a query from one zone snapshot (RFC 1034 §4.3.2), written
//! straight into a [`Writer`].
//!
//! Behaviour follows Knot DNS's minimal responses, which the differential
//! tests compare against:
//! - CNAME chains are followed inside the zone; a chain stops when it would
//!   revisit a node, leaves the zone, or reaches [`MAX_CHAIN`] links.
//! - DNAME (RFC 6672 §3.1): the DNAME, a synthesized CNAME with the DNAME's
//!   TTL, then the new name is resolved; an overlong result is YXDOMAIN.
//! - Wildcards (RFC 4592 §3.3.1): only when the closest encloser has a `*`
//!   child; a wildcard without the type is NODATA.
//! - Referrals: the cut's NS in authority, AA clear, addresses of the NS
//!   targets found in the zone (glue or not) in additional; DS at a cut is
//!   answered from this (the parent) side. No DS in referrals (unsigned).
//! - Negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308).
//! - ANY (RFC 8482 §4.2): the node's RRset with the lowest type code only.
//! - Additional: A then AAAA of NS/MX/SRV targets that are nodes of the zone.
//! - Truncation (RFC 2181 §9): when answer or authority does not fit, all
//!   sections are emptied and TC is set; additional RRsets that do not fit
//!   are left out without TC.
//!
//! Not implemented: DNSSEC (no RRSIG/NSEC in answers).

use crate::node::{lowercase_into, Node, RRset, DELEGATION, HAS_CNAME, HAS_DNAME, HAS_WILDCARD};
use crate::snapshot::Zone;
use zonecast_proto::name::{lowercase_wire, MAX_NAME_LEN};
use zonecast_proto::writer::{Writer, ADDITIONAL, ANSWER, AUTHORITY};
use zonecast_proto::{Error, Rtype};

/// Longest CNAME/DNAME chain followed for one query.
pub const MAX_CHAIN: usize = 16;
const MAX_ADDITIONAL: usize = 32;

/// Response codes used here.
pub const NOERROR: u8 = 0;
/// Name does not exist.
pub const NXDOMAIN: u8 = 3;
/// DNAME substitution overflowed (RFC 6672 §2.2).
pub const YXDOMAIN: u8 = 6;

/// What kind of answer was produced (for metrics and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Data in the answer section.
    Answer,
    /// The name exists, the type does not.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// A referral to a child zone.
    Referral,
    /// The response did not fit and was truncated.
    Truncated,
}

/// Who owns the records written in one step: the question name or another name.
#[derive(Clone, Copy)]
enum Owner<'a> {
    Qname,
    Name(&'a [u8]),
}

/// Where the lookup of one name ended.
enum Found<'z> {
    /// An existing node, or the wildcard node answering for the name.
    Node(&'z Node),
    /// Below a zone cut at this node.
    Cut(&'z Node),
    /// Below a DNAME at this node.
    Dname(&'z Node),
    /// No such name.
    NxDomain,
}

struct Ctx<'z> {
    additional: [Option<&'z Node>; MAX_ADDITIONAL],
    nadd: usize,
    visited: [*const Node; MAX_CHAIN + 1],
    nvisited: usize,
}

impl<'z> Ctx<'z> {
    /// Notes the in-zone targets of `set` (owned by `owner`) whose addresses go in the additional section.
    fn add(&mut self, zone: &'z Zone, set: &RRset<'_>, owner: &[u8]) {
        if !set.has_additional() {
            return;
        }
        for rdata in set.rdatas() {
            let Some(target) = set.additional_target(rdata, owner) else {
                continue;
            };
            let mut buf = [0u8; 255];
            let Some(node) = zone.node(lowercase_into(target, &mut buf)) else {
                continue;
            };
            let seen = self.additional[..self.nadd]
                .iter()
                .any(|n| n.is_some_and(|n| std::ptr::eq(n, node)));
            if !seen && self.nadd < MAX_ADDITIONAL {
                self.additional[self.nadd] = Some(node);
                self.nadd += 1;
            }
        }
    }
}

impl Zone {
    /// Writes the answer for `qname` (lowercased wire, at or below the apex) and `qtype` into `w`.
    ///
    /// `w` already holds the header and question. Sets AA, rcode and TC.
    pub fn answer(&self, qname: &[u8], qtype: Rtype, w: &mut Writer<'_>) -> Outcome {
        let start = w.mark();
        match self.answer_inner(qname, qtype, w) {
            Ok(o) => o,
            Err(_) => {
                w.rollback(start);
                w.set_tc();
                Outcome::Truncated
            }
        }
    }

    fn answer_inner(
        &self,
        qname: &[u8],
        qtype: Rtype,
        w: &mut Writer<'_>,
    ) -> Result<Outcome, Error> {
        let mut ctx = Ctx {
            additional: [None; MAX_ADDITIONAL],
            nadd: 0,
            visited: [std::ptr::null(); MAX_CHAIN + 1],
            nvisited: 0,
        };
        let mut name_buf = [0u8; MAX_NAME_LEN];
        let mut name_len = qname.len();
        name_buf[..name_len].copy_from_slice(qname);
        let mut owner_is_qname = true;
        let mut outcome;
        w.set_aa(true);
        let mut links = 0;
        loop {
            // `cur` is the name being resolved in this step (lowercased).
            let cur_buf = name_buf;
            let cur = &cur_buf[..name_len];
            let owner = if owner_is_qname {
                Owner::Qname
            } else {
                Owner::Name(cur)
            };
            match self.find(cur, qtype) {
                Found::Cut(cut) => {
                    if owner_is_qname {
                        w.set_aa(false);
                    }
                    if let Some(ns) = cut.rrset(Rtype::NS) {
                        put_rrset(w, AUTHORITY, &ns, Owner::Name(cut.name()))?;
                        ctx.add(self, &ns, cut.name());
                    }
                    outcome = Outcome::Referral;
                    break;
                }
                Found::NxDomain => {
                    w.set_rcode(NXDOMAIN);
                    self.put_negative_soa(w)?;
                    outcome = Outcome::NxDomain;
                    break;
                }
                Found::Dname(node) => {
                    let Some(dname) = node.rrset(Rtype::DNAME) else {
                        outcome = Outcome::NoData;
                        break;
                    };
                    put_rrset(w, ANSWER, &dname, Owner::Name(node.name()))?;
                    let Some(target) = dname.rdatas().next() else {
                        outcome = Outcome::NoData;
                        break;
                    };
                    // Substitute the DNAME owner suffix of `cur` with the target.
                    let keep = cur.len() - node.name().len();
                    let new_len = keep + target.len();
                    if new_len > MAX_NAME_LEN {
                        w.set_rcode(YXDOMAIN);
                        outcome = Outcome::Answer;
                        break;
                    }
                    let mut synth = [0u8; MAX_NAME_LEN];
                    synth[..keep].copy_from_slice(&cur[..keep]);
                    synth[keep..new_len].copy_from_slice(target);
                    // The synthesized CNAME, owned by the name being resolved.
                    put_owner(w, owner)?;
                    let mut header = dname.header;
                    header[0..2].copy_from_slice(&Rtype::CNAME.0.to_be_bytes());
                    let slot = zonecast_proto::rdata::NameSlot {
                        start: 0,
                        end: new_len as u16,
                    };
                    w.put_rr_body(&header, &synth[..new_len], &[slot])?;
                    w.count_record(ANSWER);
                    outcome = Outcome::Answer;
                    lowercase_wire(&mut synth[..new_len]);
                    name_buf[..new_len].copy_from_slice(&synth[..new_len]);
                    name_len = new_len;
                    owner_is_qname = false;
                    links += 1;
                    // A CNAME query is answered by the synthesized CNAME itself.
                    if qtype == Rtype::CNAME
                        || links >= MAX_CHAIN
                        || !self.contains(&name_buf[..name_len])
                    {
                        break;
                    }
                    continue;
                }
                Found::Node(node) => {
                    if qtype == Rtype::ANY {
                        match node.first_rrset() {
                            Some(set) => {
                                put_rrset(w, ANSWER, &set, owner)?;
                                ctx.add(self, &set, node.name());
                                outcome = Outcome::Answer;
                            }
                            None => {
                                self.put_negative_soa(w)?;
                                outcome = Outcome::NoData;
                            }
                        }
                        break;
                    }
                    if let Some(set) = node.rrset(qtype) {
                        put_rrset(w, ANSWER, &set, owner)?;
                        ctx.add(self, &set, node.name());
                        outcome = Outcome::Answer;
                        break;
                    }
                    if node.flags() & HAS_CNAME != 0 {
                        let id: *const Node = node;
                        if ctx.visited[..ctx.nvisited].contains(&id) {
                            outcome = Outcome::Answer;
                            break;
                        }
                        if ctx.nvisited < ctx.visited.len() {
                            ctx.visited[ctx.nvisited] = id;
                            ctx.nvisited += 1;
                        }
                        let Some(cname) = node.rrset(Rtype::CNAME) else {
                            outcome = Outcome::NoData;
                            break;
                        };
                        put_rrset(w, ANSWER, &cname, owner)?;
                        outcome = Outcome::Answer;
                        let Some(target) = cname.rdatas().next() else {
                            outcome = Outcome::NoData;
                            break;
                        };
                        name_len = target.len().min(MAX_NAME_LEN);
                        name_buf[..name_len].copy_from_slice(&target[..name_len]);
                        lowercase_wire(&mut name_buf[..name_len]);
                        owner_is_qname = false;
                        links += 1;
                        if links >= MAX_CHAIN || !self.contains(&name_buf[..name_len]) {
                            break;
                        }
                        continue;
                    }
                    self.put_negative_soa(w)?;
                    outcome = Outcome::NoData;
                    break;
                }
            }
        }
        // Additional section: each RRset whole or not at all, never TC.
        for node in ctx.additional[..ctx.nadd].iter().flatten() {
            for t in [Rtype::A, Rtype::AAAA] {
                if let Some(set) = node.rrset(t) {
                    let m = w.mark();
                    if put_rrset(w, ADDITIONAL, &set, Owner::Name(node.name())).is_err() {
                        w.rollback(m);
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// True when the lowercased name is at or below this zone's apex.
    fn contains(&self, name: &[u8]) -> bool {
        zonecast_proto::name::is_subdomain_wire(name, self.apex().as_wire())
    }

    fn put_negative_soa(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        let apex = self.apex_node();
        let Some(soa) = apex.rrset(Rtype::SOA) else {
            return Ok(());
        };
        for rdata in soa.rdatas().take(1) {
            w.put_name(apex.name())?;
            let (slots, n) = soa.slots(rdata);
            w.put_rr_body(self.negative_header(), rdata, &slots[..n])?;
            w.count_record(AUTHORITY);
        }
        Ok(())
    }

    /// Finds where `name` (lowercased, in zone) leads: top-down over its ancestors below the apex.
    fn find(&self, name: &[u8], qtype: Rtype) -> Found<'_> {
        let mut starts = [0u8; 128];
        let mut n = 0;
        let mut pos = 0usize;
        let stop = name.len() - self.apex().wire_len();
        while pos < stop && n < 128 {
            starts[n] = pos as u8;
            n += 1;
            pos += 1 + name[pos] as usize;
        }
        let mut encloser = self.apex_node();
        for k in (0..n).rev() {
            let s = starts[k] as usize;
            let Some(node) = self.node(&name[s..]) else {
                // `name` does not exist: wildcard at the closest encloser?
                if encloser.flags() & HAS_WILDCARD != 0 {
                    if let Some(star) = self.wildcard_of(encloser) {
                        return Found::Node(star);
                    }
                }
                return Found::NxDomain;
            };
            let exact = k == 0;
            if node.flags() & DELEGATION != 0 && !(exact && qtype == Rtype::DS) {
                return Found::Cut(node);
            }
            if node.flags() & HAS_DNAME != 0 && !exact {
                return Found::Dname(node);
            }
            encloser = node;
        }
        Found::Node(encloser)
    }

    /// The node `*.<parent>`.
    fn wildcard_of(&self, parent: &Node) -> Option<&Node> {
        let p = parent.name();
        let mut buf = [0u8; 255];
        let len = p.len() + 2;
        if len > buf.len() {
            return None;
        }
        buf[0] = 1;
        buf[1] = b'*';
        buf[2..len].copy_from_slice(p);
        self.node(&buf[..len])
    }
}

fn put_owner(w: &mut Writer<'_>, owner: Owner<'_>) -> Result<(), Error> {
    match owner {
        Owner::Qname => w.put_qname_pointer(),
        Owner::Name(n) => w.put_name(n),
    }
}

/// Writes a whole RRset into `section`.
fn put_rrset(
    w: &mut Writer<'_>,
    section: usize,
    set: &RRset<'_>,
    owner: Owner<'_>,
) -> Result<(), Error> {
    if let (Owner::Qname, Some(packed)) = (owner, set.packed()) {
        return w.put_raw_records(section, packed, set.len() as u16);
    }
    for rdata in set.rdatas() {
        put_owner(w, owner)?;
        let (slots, n) = set.slots(rdata);
        w.put_rr_body(&set.header, rdata, &slots[..n])?;
        w.count_record(section);
    }
    Ok(())
}
