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
//!   child; a wildcard without the type is NODATA.
//! - Referrals: the cut's NS in authority, AA clear (set when the referral
//!   ends a chain), addresses of the NS targets found in the zone (glue or
//!   not) in additional, those at or below the cut first; DS at a cut is
//!   answered from this (the parent) side. No DS in referrals (unsigned).
//! - Negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308).
//! - ANY (RFC 8482 §4.2): the node's RRset with the lowest type code only.
//! - Additional: A then AAAA of NS/MX/SRV/SVCB/HTTPS targets, looked up as
//!   written in the rdata, a node of the zone or else the wildcard that
//!   answers for the name; for SVCB/HTTPS targets also their RRset of the
//!   same type; a ServiceMode target of "." names the owner (addresses
//!   only). Each record once (RFC 2181 §5; Knot repeats them).
//! - Truncation (RFC 2181 §9), as Knot: the records that fitted stay and the
//!   response ends at the first answer or authority RRset that does not fit;
//!   in additional, an RRset that does not fit skips the rest of its
//!   target's RRsets and the next target's are tried. TC is set when that
//!   RRset is answer data (CNAME, DNAME and synthesized CNAME included), a
//!   referral's NS, or required glue (at or below the cut); a negative
//!   answer's SOA and other additional records are left out without TC.
//!   Name compression follows Knot too (see the writer), so the point where
//!   a response stops fitting is the same.
//!
//! DS at the apex of a zone whose parent zone is served too is answered from
//! the parent: the zone is chosen by `ZoneSet::find_for_ds` (RFC 4035
//! §3.1.4.1); this module answers from whichever zone it is given.
//!
//! Not implemented: DNSSEC (no RRSIG/NSEC in answers).

use crate::node::{Node, RRset, DELEGATION, HAS_CNAME, HAS_DNAME, HAS_WILDCARD};
use crate::snapshot::Zone;
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
/// The server failed (an expired secondary zone).
pub const SERVFAIL: u8 = 2;
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
    /// SERVFAIL: the zone is expired ([`Zone::with_expired`]).
    ServFail,
}

/// Who owns the records written in one step: the question name, another
/// name, or the target an additional record answers for (its owner then
/// points at that target in the rdata already written, as in Knot).
#[derive(Clone, Copy)]
enum Owner<'a> {
    Qname,
    Name(&'a [u8]),
    Additional(&'a [u8]),
}

/// A node's identity within one answer (for loop detection); never dereferenced.
type Id = *const Node;
const NO_NODE: Id = std::ptr::null();

fn id(n: &Node) -> Id {
    n
}

/// True when a wire name's first label is `*`.
fn is_wild(name: &[u8]) -> bool {
    name.starts_with(&[1, b'*'])
}

/// Where the lookup of one name ended.
enum Found<'z> {
    /// An existing node, or the wildcard node answering for the name, with its index.
    Node(Id, &'z Node),
    /// Below a zone cut at this node.
    Cut(&'z Node),
    /// Below a DNAME at this node, with its index.
    Dname(Id, &'z Node),
    /// No such name.
    NxDomain,
}

/// One additional-section target: the node answering for it, its name, and
/// the type of the RRset that named it (`NO_TYPE` when it named its own
/// owner: an SVCB/HTTPS target of ".").
#[derive(Clone, Copy)]
struct Target<'z> {
    node: Option<&'z Node>,
    name: &'z [u8],
    by: Rtype,
}

const NO_TYPE: Rtype = Rtype(0);

const NO_TARGET: Target<'static> = Target {
    node: None,
    name: &[],
    by: NO_TYPE,
};

struct Ctx<'z> {
    additional: [Target<'z>; MAX_ADDITIONAL],
    nadd: usize,
    visited: [Id; MAX_CHAIN + 1],
    nvisited: usize,
}

impl<'z> Ctx<'z> {
    /// True when the CNAME or DNAME of node `id` was already followed in this answer.
    fn visited(&self, id: Id) -> bool {
        self.visited[..self.nvisited].contains(&id)
    }

    /// Remembers that the CNAME or DNAME of node `id` was followed.
    fn visit(&mut self, id: Id) {
        if self.nvisited < self.visited.len() && !self.visited(id) {
            self.visited[self.nvisited] = id;
            self.nvisited += 1;
        }
    }

    /// Adds the additional-section targets of `set`, owned by node `owner`,
    /// each once (RFC 2181 §5), in rdata order.
    ///
    /// Ported by hand, as Knot (`discover_additionals`): a target is looked
    /// up as written in the rdata (an SVCB/HTTPS TargetName keeps its case,
    /// and one in other case than the zone's names names no node), and a
    /// target that is not a node is answered by the wildcard of its closest
    /// encloser, if any. Unlike Knot, an SVCB/HTTPS ServiceMode target of "."
    /// names the owner (RFC 9460 §4.1), for its addresses only.
    fn add(&mut self, zone: &'z Zone, set: RRset<'z>, owner: Option<&'z Node>) {
        let service = set.rtype == Rtype::SVCB || set.rtype == Rtype::HTTPS;
        for rdata in set.rdatas() {
            let Some(name) = additional_target(set.rtype, rdata) else {
                let self_target = rdata
                    .get(..3)
                    .is_some_and(|p| p[2] == 0 && p[..2] != [0, 0]);
                // (Not for a wildcard owner: the addresses would need the
                // synthesized owner name.)
                if let Some(o) = owner.filter(|o| service && self_target && !is_wild(o.name())) {
                    self.push(Target {
                        node: Some(o),
                        name: o.name(),
                        by: NO_TYPE,
                    });
                }
                continue;
            };
            if name.iter().any(u8::is_ascii_uppercase) {
                continue;
            }
            let Some(node) = zone.node(name).or_else(|| zone.wildcard_for(name)) else {
                continue;
            };
            self.push(Target {
                node: Some(node),
                name,
                by: set.rtype,
            });
        }
    }

    fn push(&mut self, t: Target<'z>) {
        let known = self.additional[..self.nadd]
            .iter()
            .any(|a| same(a.node, t.node) && a.name.eq_ignore_ascii_case(t.name));
        if self.nadd < MAX_ADDITIONAL && !known {
            self.additional[self.nadd] = t;
            self.nadd += 1;
        }
    }
}

fn same(a: Option<&Node>, b: Option<&Node>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The name in `rdata` whose addresses the additional section carries: NS,
/// MX and SRV targets, SVCB/HTTPS TargetName unless "." (RFC 9460 §2.5).
fn additional_target(rtype: Rtype, rdata: &[u8]) -> Option<&[u8]> {
    let target = match rtype {
        Rtype::NS => rdata,
        Rtype::MX => rdata.get(2..)?,
        Rtype::SRV => rdata.get(6..)?,
        Rtype::SVCB | Rtype::HTTPS => rdata.get(2..)?,
        _ => return None,
    };
    let len = zonecast_proto::name::check_wire(target).ok()?;
    (len > 1).then(|| &target[..len])
}

/// Writes with `write`; when it does not fit, undoes what it wrote and sets
/// TC if `tc`. As Knot does, the response then ends with what was written
/// before: answer-section RRsets, a referral's NS RRset and required glue
/// set TC; the SOA of a negative answer and other additional records are
/// left out without it.
fn fit(
    w: &mut Writer<'_>,
    tc: bool,
    write: impl FnOnce(&mut Writer<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let m = w.mark();
    write(w).inspect_err(|_| {
        w.rollback(m);
        if tc {
            w.set_tc();
        }
    })
}

impl Zone {
    /// Writes the answer for `qname` (lowercased wire, at or below the apex) and `qtype` into `w`.
    ///
    /// `w` already holds the header and question. Sets AA, rcode and TC.
    pub fn answer(&self, qname: &[u8], qtype: Rtype, w: &mut Writer<'_>) -> Outcome {
        if self.is_expired() {
            w.set_rcode(SERVFAIL);
            return Outcome::ServFail;
        }
        let outcome = self.answer_inner(qname, qtype, w);
        if w.is_tc() {
            Outcome::Truncated
        } else {
            outcome
        }
    }

    fn answer_inner(&self, qname: &[u8], qtype: Rtype, w: &mut Writer<'_>) -> Outcome {
        let mut ctx = Ctx {
            additional: [NO_TARGET; MAX_ADDITIONAL],
            nadd: 0,
            visited: [NO_NODE; MAX_CHAIN + 1],
            nvisited: 0,
        };
        let mut name_buf = [0u8; MAX_NAME_LEN];
        let mut name_len = qname.len();
        name_buf[..name_len].copy_from_slice(qname);
        let mut owner_is_qname = true;
        let mut outcome;
        let mut referral: Option<&Node> = None;
        w.set_aa(true);
        let mut links = 0;
        // Every `return` below ends the response where a write did not fit
        // (see `fit`): nothing more is written, not even additional records.
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
                        let at = Owner::Name(cut.name());
                        if fit(w, true, |w| put_rrset(w, AUTHORITY, &ns, at)).is_err() {
                            return Outcome::Truncated;
                        }
                        ctx.add(self, ns, None);
                    }
                    referral = Some(cut);
                    outcome = Outcome::Referral;
                    break;
                }
                Found::NxDomain => {
                    w.set_rcode(NXDOMAIN);
                    if fit(w, false, |w| self.put_negative_soa(w)).is_err() {
                        return Outcome::NxDomain;
                    }
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
                        let at = Owner::Name(node.name());
                        if fit(w, true, |w| put_rrset(w, ANSWER, &dname, at)).is_err() {
                            return Outcome::Truncated;
                        }
                    }
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
                    // The synthesized CNAME, owned by the name being resolved
                    // (the question name too is written as any other owner
                    // here: it is not the first RRset).
                    let mut header = dname.header;
                    header[0..2].copy_from_slice(&Rtype::CNAME.0.to_be_bytes());
                    let slot = zonecast_proto::rdata::NameSlot {
                        start: 0,
                        end: new_len as u16,
                    };
                    let written = fit(w, true, |w| {
                        w.begin_rrset();
                        w.put_owner(cur)?;
                        w.put_rr_body(&header, &synth[..new_len], &[slot])?;
                        w.count_record(ANSWER);
                        Ok(())
                    });
                    if written.is_err() {
                        return Outcome::Truncated;
                    }
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
                        match node.first_rrset() {
                            Some(set) => {
                                if fit(w, true, |w| put_rrset(w, ANSWER, &set, owner)).is_err() {
                                    return Outcome::Truncated;
                                }
                                ctx.add(self, set, Some(node));
                                outcome = Outcome::Answer;
                            }
                            None => {
                                if fit(w, false, |w| self.put_negative_soa(w)).is_err() {
                                    return Outcome::NoData;
                                }
                                outcome = Outcome::NoData;
                            }
                        }
                        break;
                    }
                    if let Some(set) = node.rrset(qtype) {
                        if fit(w, true, |w| put_rrset(w, ANSWER, &set, owner)).is_err() {
                            return Outcome::Truncated;
                        }
                        ctx.add(self, set, Some(node));
                        outcome = Outcome::Answer;
                        break;
                    }
                    // RRSIG and NSEC queries are answered by the CNAME node itself (as Knot).
                    if node.flags() & HAS_CNAME != 0
                        && qtype != Rtype::RRSIG
                        && qtype != Rtype::NSEC
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
                        let wildcard = is_wild(node.name());
                        let again = ctx.visited(id);
                        if again && !wildcard {
                            outcome = Outcome::Answer;
                            break;
                        }
                        if fit(w, true, |w| put_rrset(w, ANSWER, &cname, owner)).is_err() {
                            return Outcome::Truncated;
                        }
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
                    if fit(w, false, |w| self.put_negative_soa(w)).is_err() {
                        return Outcome::NoData;
                    }
                    outcome = Outcome::NoData;
                    break;
                }
            }
        }
        self.put_additional(w, &mut ctx, referral);
        outcome
    }

    /// Additional section (as Knot): A, then AAAA, of each target, and for
    /// SVCB/HTTPS targets also their RRset of that type; in a referral the
    /// glue at or below the cut first. Each RRset is whole or left out; one
    /// that does not fit skips the rest of its target's RRsets (the next
    /// target's may fit), and sets TC only if it is required glue (at or
    /// below a referral's cut).
    fn put_additional(&self, w: &mut Writer<'_>, ctx: &mut Ctx<'_>, referral: Option<&Node>) {
        let targets = &mut ctx.additional[..ctx.nadd];
        let required = |t: &Target| {
            referral.is_some_and(|cut| zonecast_proto::name::is_subdomain_wire(t.name, cut.name()))
        };
        if referral.is_some() {
            // Stable partition: required glue first, in order.
            let mut sorted = [NO_TARGET; MAX_ADDITIONAL];
            let mut k = 0;
            for pass in [true, false] {
                for t in targets.iter().filter(|t| required(t) == pass) {
                    sorted[k] = *t;
                    k += 1;
                }
            }
            targets.copy_from_slice(&sorted[..k]);
        }
        for t in targets.iter() {
            let Some(node) = t.node else {
                continue;
            };
            let svcb = (t.by == Rtype::SVCB || t.by == Rtype::HTTPS).then_some(t.by);
            for rtype in [Some(Rtype::A), Some(Rtype::AAAA), svcb]
                .into_iter()
                .flatten()
            {
                let Some(set) = node.rrset(rtype) else {
                    continue;
                };
                let at = Owner::Additional(t.name);
                // As Knot: an RRset that does not fit ends this target's
                // RRsets; the next target's may still fit.
                if fit(w, required(t), |w| put_rrset(w, ADDITIONAL, &set, at)).is_err() {
                    break;
                }
            }
        }
    }

    /// The wildcard node that answers for `name` (lowercased wire) when it is
    /// in this zone but not a node: the `*` child of its closest encloser.
    fn wildcard_for(&self, name: &[u8]) -> Option<&Node> {
        let mut buf = [0u8; MAX_NAME_LEN];
        let name = buf.get_mut(..name.len()).map(|b| {
            b.copy_from_slice(name);
            lowercase_wire(b);
            &*b
        })?;
        if !self.contains(name) || self.node(name).is_some() {
            return None;
        }
        let mut pos = 0;
        while let Some(&l) = name.get(pos) {
            if l == 0 {
                return None;
            }
            pos += 1 + l as usize;
            let suffix = name.get(pos..)?;
            if let Some(n) = self.node(suffix) {
                if n.flags() & HAS_WILDCARD == 0 {
                    return None;
                }
                return self.wildcard_of(n);
            }
        }
        None
    }

    /// True when the lowercased name is at or below this zone's apex.
    fn contains(&self, name: &[u8]) -> bool {
        zonecast_proto::name::is_subdomain_wire(name, self.apex().as_wire())
    }

    /// The SOA with the negative-answer TTL, min(SOA TTL, MINIMUM) (RFC 2308 §3).
    fn put_negative_soa(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        let apex = self.apex_node();
        let Some(soa) = apex.rrset(Rtype::SOA) else {
            return Ok(());
        };
        w.begin_rrset();
        for rdata in soa.rdatas().take(1) {
            w.put_owner(apex.name())?;
            let (slots, n) = soa.slots(rdata);
            w.put_rr_body(self.negative_header(), rdata, &slots[..n])?;
            w.count_record(AUTHORITY);
        }
        Ok(())
    }

    /// The node `*.<parent>`.
    fn wildcard_of(&self, parent: &Node) -> Option<&Node> {
        let p = parent.name();
        let mut buf = [0u8; MAX_NAME_LEN];
        let len = p.len() + 2;
        if len > buf.len() {
            return None;
        }
        buf[0] = 1;
        buf[1] = b'*';
        buf[2..len].copy_from_slice(p);
        self.node(&buf[..len])
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
        let apex = self.apex_node();
        let mut encloser = (id(apex), apex);
        // A DNAME at the apex redirects every name below the apex (RFC 6672
        // §2.3); the apex itself is answered normally. (Ported by hand: the
        // same check as for the ancestors below, applied to the apex when
        // `name` is not the apex.)
        if n > 0 && encloser.1.flags() & HAS_DNAME != 0 {
            return Found::Dname(encloser.0, encloser.1);
        }
        for k in (0..n).rev() {
            let s = starts[k] as usize;
            let Some(node) = self.node(&name[s..]) else {
                // `name` does not exist: wildcard at the closest encloser?
                let star = if encloser.1.flags() & HAS_WILDCARD != 0 {
                    self.wildcard_of(encloser.1)
                } else {
                    None
                };
                if let Some(node) = star {
                    // A wildcard delegation (`*` with NS) refers, as Knot
                    // does (ported by hand: the cut check below, applied to
                    // the wildcard node; RFC 4592 §4.2).
                    if node.flags() & DELEGATION != 0 && qtype != Rtype::DS {
                        return Found::Cut(node);
                    }
                    return Found::Node(id(node), node);
                }
                return Found::NxDomain;
            };
            let exact = k == 0;
            if node.flags() & DELEGATION != 0 && !(exact && qtype == Rtype::DS) {
                return Found::Cut(node);
            }
            if node.flags() & HAS_DNAME != 0 && !exact {
                return Found::Dname(id(node), node);
            }
            encloser = (id(node), node);
        }
        Found::Node(encloser.0, encloser.1)
    }
}

/// Writes a whole RRset into `section` (its owners compressed as Knot does, see the writer).
fn put_rrset(
    w: &mut Writer<'_>,
    section: usize,
    set: &RRset<'_>,
    owner: Owner<'_>,
) -> Result<(), Error> {
    match owner {
        Owner::Qname => {
            if let Some(packed) = set.packed() {
                return w.put_raw_records(section, packed, set.len() as u16);
            }
            w.begin_rrset();
        }
        Owner::Name(_) => w.begin_rrset(),
        Owner::Additional(name) => w.begin_rrset_for(name),
    }
    for rdata in set.rdatas() {
        match owner {
            Owner::Qname => w.put_qname_pointer()?,
            Owner::Name(n) | Owner::Additional(n) => w.put_owner(n)?,
        }
        let (slots, n) = set.slots(rdata);
        w.put_rr_body(&set.header, rdata, &slots[..n])?;
        w.count_record(section);
    }
    Ok(())
}
