//! Answering a query from one zone snapshot (RFC 1034 §4.3.2), written
//! straight into a [`Writer`].
//!
//! Behaviour follows Knot DNS's minimal responses, which the differential
//! tests compare against:
//! - CNAME chains are followed inside the zone, except for qtype CNAME,
//!   ANY, RRSIG and NSEC (the CNAME node answers those itself). As Knot 3.2
//!   does, a chain stops (NOERROR, nothing more written) when it leaves the
//!   zone, when a name would need a link after [`MAX_CHAIN`] links, when a
//!   CNAME node would be followed a second time (its CNAME is not written
//!   again), or when a wildcard CNAME is reached a second time (its
//!   synthesized CNAME is written, then the chain stops).
//! - DNAME (RFC 6672 §3.1): the DNAME (each DNAME RRset once per answer), a
//!   synthesized CNAME with the DNAME's TTL, then the new name is resolved
//!   (a link of the chain); an overlong result is YXDOMAIN (§2.2). A DNAME at
//!   the apex applies to every name below the apex (§2.3).
//! - Wildcards (RFC 4592 §3.3.1): only when the closest encloser has a `*`
//!   child; a wildcard without the type is NODATA; a wildcard with NS refers
//!   (as Knot; RFC 4592 §4.2).
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
//! DS at the apex of a zone whose parent zone is served too is answered from
//! the parent: the zone is chosen by `ZoneSet::find_for_ds` (RFC 4035
//! §3.1.4.1); this module answers from whichever zone it is given.
//!
//! Not implemented: DNSSEC (no RRSIG/NSEC in answers).

use crate::snapshot::{Node, RRset, Zone, DELEGATION, HAS_CNAME, HAS_DNAME, NO_NODE};
use zonecast_proto::name::{lowercase_wire, MAX_NAME_LEN};
use zonecast_proto::writer::{Writer, ADDITIONAL, ANSWER, AUTHORITY};
use zonecast_proto::{Error, Rtype};

/// Most CNAME/DNAME links followed for one query (Knot 3.2 follows five):
/// a name reached after that many links is still answered, but if it needs
/// another link the answer ends there (NOERROR).
pub const MAX_CHAIN: usize = 5;
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
    /// An existing node, or the wildcard node answering for the name, with its index.
    Node(u32, &'z Node),
    /// Below a zone cut at this node.
    Cut(&'z Node),
    /// Below a DNAME at this node, with its index.
    Dname(u32, &'z Node),
    /// No such name.
    NxDomain,
}

struct Ctx {
    additional: [u32; MAX_ADDITIONAL],
    nadd: usize,
    visited: [u32; MAX_CHAIN + 1],
    nvisited: usize,
}

impl Ctx {
    /// True when the CNAME or DNAME of node `id` was already followed in this answer.
    fn visited(&self, id: u32) -> bool {
        self.visited[..self.nvisited].contains(&id)
    }

    /// Remembers that the CNAME or DNAME of node `id` was followed.
    fn visit(&mut self, id: u32) {
        if self.nvisited < self.visited.len() && !self.visited(id) {
            self.visited[self.nvisited] = id;
            self.nvisited += 1;
        }
    }

    fn add(&mut self, nodes: &[u32]) {
        for &n in nodes {
            if self.nadd < MAX_ADDITIONAL && !self.additional[..self.nadd].contains(&n) {
                self.additional[self.nadd] = n;
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
            additional: [NO_NODE; MAX_ADDITIONAL],
            nadd: 0,
            visited: [NO_NODE; MAX_CHAIN + 1],
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
                        put_rrset(w, AUTHORITY, ns, Owner::Name(cut.name.as_wire()))?;
                        ctx.add(&ns.additional);
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
                Found::Dname(id, node) => {
                    let Some(dname) = node.rrset(Rtype::DNAME) else {
                        outcome = Outcome::NoData;
                        break;
                    };
                    // Chain limit (as Knot): this would be one link too many.
                    if links >= MAX_CHAIN {
                        outcome = Outcome::Answer;
                        break;
                    }
                    // Each DNAME RRset is written once; its synthesis goes on
                    // (a DNAME into itself runs into the chain limit).
                    if !ctx.visited(id) {
                        ctx.visit(id);
                        put_rrset(w, ANSWER, dname, Owner::Name(node.name.as_wire()))?;
                    }
                    let Some(target) = dname.rdatas().next() else {
                        outcome = Outcome::NoData;
                        break;
                    };
                    // Substitute the DNAME owner suffix of `cur` with the target.
                    let keep = cur.len() - node.name.wire_len();
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
                    if qtype == Rtype::CNAME || !self.contains(&name_buf[..name_len]) {
                        break;
                    }
                    continue;
                }
                Found::Node(id, node) => {
                    if qtype == Rtype::ANY {
                        match node.rrsets.first() {
                            Some(set) => {
                                put_rrset(w, ANSWER, set, owner)?;
                                ctx.add(&set.additional);
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
                        put_rrset(w, ANSWER, set, owner)?;
                        ctx.add(&set.additional);
                        outcome = Outcome::Answer;
                        break;
                    }
                    // RRSIG and NSEC queries are answered by the CNAME node itself (as Knot).
                    if node.flags & HAS_CNAME != 0 && qtype != Rtype::RRSIG && qtype != Rtype::NSEC
                    {
                        let Some(cname) = node.rrset(Rtype::CNAME) else {
                            outcome = Outcome::NoData;
                            break;
                        };
                        // Chain limit (as Knot): this would be one link too many.
                        if links >= MAX_CHAIN {
                            outcome = Outcome::Answer;
                            break;
                        }
                        // Loops, as Knot: a CNAME node followed before ends
                        // the chain without writing its CNAME again; a
                        // wildcard's CNAME is written for the new owner name
                        // first, then the chain ends if that wildcard was
                        // followed before.
                        let wildcard = node.name.is_wildcard();
                        let again = ctx.visited(id);
                        if again && !wildcard {
                            outcome = Outcome::Answer;
                            break;
                        }
                        put_rrset(w, ANSWER, cname, owner)?;
                        outcome = Outcome::Answer;
                        if again {
                            break;
                        }
                        ctx.visit(id);
                        let Some(target) = cname.rdatas().next() else {
                            outcome = Outcome::NoData;
                            break;
                        };
                        name_len = target.len().min(MAX_NAME_LEN);
                        name_buf[..name_len].copy_from_slice(&target[..name_len]);
                        lowercase_wire(&mut name_buf[..name_len]);
                        owner_is_qname = false;
                        links += 1;
                        if !self.contains(&name_buf[..name_len]) {
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
        for &n in &ctx.additional[..ctx.nadd] {
            let node = &self.nodes[n as usize];
            for t in [Rtype::A, Rtype::AAAA] {
                if let Some(set) = node.rrset(t) {
                    let m = w.mark();
                    if put_rrset(w, ADDITIONAL, set, Owner::Name(node.name.as_wire())).is_err() {
                        w.rollback(m);
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// True when the lowercased name is at or below this zone's apex.
    fn contains(&self, name: &[u8]) -> bool {
        zonecast_proto::name::is_subdomain_wire(name, &self.apex_key)
    }

    fn put_negative_soa(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        put_rrset(
            w,
            AUTHORITY,
            &self.negative_soa,
            Owner::Name(self.apex.as_wire()),
        )
    }

    /// Finds where `name` (lowercased, in zone) leads: top-down over its ancestors below the apex.
    fn find(&self, name: &[u8], qtype: Rtype) -> Found<'_> {
        let mut starts = [0u8; 128];
        let mut n = 0;
        let mut pos = 0usize;
        let stop = name.len() - self.apex_key.len();
        while pos < stop && n < 128 {
            starts[n] = pos as u8;
            n += 1;
            pos += 1 + name[pos] as usize;
        }
        let Some(&apex) = self.index.get(&self.apex_key) else {
            return Found::NxDomain;
        };
        let mut encloser = (apex, &self.nodes[apex as usize]);
        // A DNAME at the apex redirects every name below the apex (RFC 6672
        // §2.3); the apex itself is answered normally. (Ported by hand: the
        // same check as for the ancestors below, applied to the apex when
        // `name` is not the apex.)
        if n > 0 && encloser.1.flags & HAS_DNAME != 0 {
            return Found::Dname(encloser.0, encloser.1);
        }
        for k in (0..n).rev() {
            let s = starts[k] as usize;
            let Some(&i) = self.index.get(&name[s..]) else {
                // `name` does not exist: wildcard at the closest encloser?
                let star = encloser.1.wildcard;
                if star != NO_NODE {
                    let node = &self.nodes[star as usize];
                    // A wildcard delegation (`*` with NS) refers, as Knot
                    // does (ported by hand: the cut check below, applied to
                    // the wildcard node; RFC 4592 §4.2).
                    if node.flags & DELEGATION != 0 && qtype != Rtype::DS {
                        return Found::Cut(node);
                    }
                    return Found::Node(star, node);
                }
                return Found::NxDomain;
            };
            let node = &self.nodes[i as usize];
            let exact = k == 0;
            if node.flags & DELEGATION != 0 && !(exact && qtype == Rtype::DS) {
                return Found::Cut(node);
            }
            if node.flags & HAS_DNAME != 0 && !exact {
                return Found::Dname(i, node);
            }
            encloser = (i, node);
        }
        Found::Node(encloser.0, encloser.1)
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
    set: &RRset,
    owner: Owner<'_>,
) -> Result<(), Error> {
    if let (Owner::Qname, Some(packed)) = (owner, set.packed()) {
        return w.put_raw_records(section, packed, set.len() as u16);
    }
    for (i, rdata) in set.rdatas().enumerate() {
        put_owner(w, owner)?;
        w.put_rr_body(&set.header, rdata, set.slots(i))?;
        w.count_record(section);
    }
    Ok(())
}
