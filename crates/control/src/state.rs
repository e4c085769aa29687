//! A zone's current records in memory, and the planning of a list of edits against them.
//!
//! Planning checks only what the edits can break, at the owners they touch
//! (and, for a new DNAME, the names below it): cost grows with the size of
//! the edits, not of the zone.

use crate::ControlError;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use zonecast_proto::rdata::{format_presentation, validate_wire};
use zonecast_proto::{Class, Name, Record, Rtype};
use zonecast_store::ZoneKind;
use zonecast_zone::validate::MAX_TTL;
use zonecast_zone::Limits;
use zonecast_zone::{Node, Zone};

use crate::settings::ZoneSettings;

/// One change to a zone's records, as the API asks for it.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Replace the RRset (owner, rtype) by these rdatas with this TTL; an empty list deletes it.
    ///
    /// Identical rdatas are kept once (RFC 2181 §5).
    ReplaceRrset {
        /// Owner name.
        owner: Name,
        /// Type of the RRset.
        rtype: Rtype,
        /// TTL of every record of the set.
        ttl: u32,
        /// Canonical wire rdatas.
        rdatas: Vec<Vec<u8>>,
    },
    /// Delete the RRset (owner, rtype); not found when there is none.
    DeleteRrset {
        /// Owner name.
        owner: Name,
        /// Type of the RRset.
        rtype: Rtype,
    },
    /// Add one record; a conflict when it exists (TTL not compared).
    ///
    /// A TTL different from the RRset's becomes the TTL of the whole RRset
    /// (RFC 2181 §5.2 wants one TTL per RRset).
    AddRecord(Record),
    /// Delete one record; not found when absent (TTL not compared).
    DeleteRecord(Record),
    /// Add one record that takes the TTL of its RRset when the RRset exists
    /// (after the edits before it), and its own TTL otherwise.
    ///
    /// What `POST .../records` without a TTL means; reading the RRset's TTL
    /// under the zone's lock leaves no window for a concurrent change.
    AddRecordKeepTtl(Record),
}

/// A zone as the write path keeps it: its settings and the current version.
///
/// The version is the same [`Zone`] the listeners answer from (or will, once
/// the zone has apex NS records): the write path validates against it and
/// reads from it, and holds no second copy of the records.
#[derive(Clone, Debug)]
pub(crate) struct ZoneState {
    /// The store's row id: a zone deleted and created again elsewhere has another.
    pub store_id: i64,
    pub apex: Name,
    pub kind: ZoneKind,
    pub settings: ZoneSettings,
    pub serial: u32,
    /// Unix milliseconds, as stored.
    pub created_at: i64,
    /// Unix milliseconds, as stored.
    pub updated_at: i64,
    /// The current content; `None` for a secondary never transferred.
    pub version: Option<Arc<Zone>>,
    /// Set when the zone was deleted while a writer waited for it.
    pub deleted: bool,
    /// A secondary zone past its SOA expire: published answering SERVFAIL.
    pub expired: bool,
}

/// The net effect of an edit list: records out and in, SOA excluded.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub removed: Vec<Record>,
    pub added: Vec<Record>,
}

struct Pending {
    records: Vec<Record>,
    /// Records of the RRset in the zone before the edits.
    before: usize,
    edit: usize,
}

impl ZoneState {
    fn node(&self, owner: &Name) -> Option<&Node> {
        self.version.as_deref()?.node_named(owner)
    }

    /// The records of one RRset (canonical form), empty when absent.
    pub fn rrset(&self, owner: &Name, rtype: Rtype) -> Vec<Record> {
        let Some(set) = self.node(owner).and_then(|n| n.rrset(rtype)) else {
            return Vec::new();
        };
        let owner = owner.to_lowercase();
        set.rdatas()
            .map(|rd| Record {
                owner: owner.clone(),
                rtype,
                class: Class::IN,
                ttl: set.ttl,
                rdata: rd.into(),
            })
            .collect()
    }

    pub fn soa(&self) -> Option<Record> {
        self.rrset(&self.apex, Rtype::SOA).into_iter().next()
    }

    pub fn has_apex_ns(&self) -> bool {
        self.node(&self.apex)
            .is_some_and(|n| n.rrset(Rtype::NS).is_some())
    }

    /// Number of records, SOA included.
    pub fn record_count(&self) -> usize {
        self.version.as_ref().map_or(0, |z| z.record_count())
    }

    /// Every record, owners in canonical order.
    pub fn records(&self) -> Vec<Record> {
        self.version.as_ref().map_or_else(Vec::new, |z| z.records())
    }

    /// Validates `edits` as a whole and returns their net effect; nothing is changed.
    ///
    /// An RRset that grows past `limits.max_rrset_records` is refused
    /// (logged and counted as coming by `way`).
    pub fn plan(&self, edits: &[Edit], limits: &Limits, way: &str) -> Result<Plan, ControlError> {
        let mut work: BTreeMap<Name, BTreeMap<Rtype, Pending>> = BTreeMap::new();
        for (i, edit) in edits.iter().enumerate() {
            self.apply_one(i, edit, &mut work, limits, way)?;
        }
        let dnames = self.check_rules(&work)?;
        let mut plan = Plan::default();
        for (owner, types) in &work {
            for (rtype, p) in types {
                let old = self.rrset(owner, *rtype);
                // Within one RRset, rdata and TTL identify a record (class is always IN).
                let old_keys: HashSet<(&[u8], u32)> =
                    old.iter().map(|r| (&r.rdata[..], r.ttl)).collect();
                let new_keys: HashSet<(&[u8], u32)> =
                    p.records.iter().map(|r| (&r.rdata[..], r.ttl)).collect();
                for r in &old {
                    if !new_keys.contains(&(&r.rdata[..], r.ttl)) {
                        plan.removed.push(r.clone());
                    }
                }
                for n in &p.records {
                    if !old_keys.contains(&(&n.rdata[..], n.ttl)) {
                        plan.added.push(n.clone());
                    }
                }
            }
        }
        self.check_dnames(&plan, &dnames)?;
        Ok(plan)
    }

    /// Refuses a new DNAME with data below it (RFC 6672 §2.4), judged on the
    /// zone as the plan leaves it, so data deleted by the same edits does not count.
    fn check_dnames(&self, plan: &Plan, dnames: &[(usize, Name)]) -> Result<(), ControlError> {
        let Some(v) = self.version.as_deref() else {
            return Ok(());
        };
        if dnames.is_empty() {
            return Ok(());
        }
        let after = v
            .apply(&plan.removed, &plan.added)
            .map_err(crate::zone_err)?;
        for (edit, owner) in dnames {
            if after.has_data_below(owner) {
                return Err(invalid(
                    *edit,
                    "type",
                    format!("{owner} DNAME: there is data below it (RFC 6672 §2.4)"),
                ));
            }
        }
        Ok(())
    }

    fn pending<'w>(
        &self,
        work: &'w mut BTreeMap<Name, BTreeMap<Rtype, Pending>>,
        owner: &Name,
        rtype: Rtype,
        edit: usize,
    ) -> &'w mut Pending {
        let p = work
            .entry(owner.clone())
            .or_default()
            .entry(rtype)
            .or_insert_with(|| {
                let records = self.rrset(owner, rtype);
                Pending {
                    before: records.len(),
                    records,
                    edit,
                }
            });
        p.edit = edit;
        p
    }

    fn check_target(&self, i: usize, owner: &Name, rtype: Rtype) -> Result<(), ControlError> {
        if !owner.is_subdomain_of(&self.apex) {
            return Err(invalid(
                i,
                "name",
                format!("{owner} is outside the zone {}", self.apex),
            ));
        }
        if rtype.is_meta() {
            return Err(invalid(
                i,
                "type",
                format!("{rtype} is a meta type and can't be stored in a zone"),
            ));
        }
        if rtype == Rtype::SOA {
            return Err(invalid(
                i,
                "type",
                "the SOA record is managed by the server; change it by replacing the zone file"
                    .into(),
            ));
        }
        Ok(())
    }

    fn check_record(&self, i: usize, r: &Record) -> Result<(), ControlError> {
        self.check_target(i, &r.owner, r.rtype)?;
        if r.class != Class::IN {
            return Err(invalid(
                i,
                "class",
                format!("class {} is not served; only IN", r.class),
            ));
        }
        if r.ttl > MAX_TTL {
            return Err(invalid(
                i,
                "ttl",
                format!("TTL {} is above 2147483647 (RFC 2181 §8)", r.ttl),
            ));
        }
        validate_wire(r.rtype, &r.rdata)
            .map_err(|e| invalid(i, "content", format!("invalid {} rdata: {e}", r.rtype)))
    }

    fn apply_one(
        &self,
        i: usize,
        edit: &Edit,
        work: &mut BTreeMap<Name, BTreeMap<Rtype, Pending>>,
        limits: &Limits,
        way: &str,
    ) -> Result<(), ControlError> {
        match edit {
            Edit::ReplaceRrset {
                owner,
                rtype,
                ttl,
                rdatas,
            } => {
                self.check_target(i, owner, *rtype)?;
                if *ttl > MAX_TTL {
                    return Err(invalid(
                        i,
                        "ttl",
                        format!("TTL {ttl} is above 2147483647 (RFC 2181 §8)"),
                    ));
                }
                let mut seen: HashSet<&[u8]> = HashSet::with_capacity(rdatas.len());
                let mut records: Vec<Record> = Vec::with_capacity(rdatas.len());
                for (j, rd) in rdatas.iter().enumerate() {
                    validate_wire(*rtype, rd).map_err(|e| {
                        invalid(
                            i,
                            &format!("records[{j}]"),
                            format!("invalid {rtype} rdata: {e}"),
                        )
                    })?;
                    if !seen.insert(rd.as_slice()) {
                        continue;
                    }
                    records.push(Record {
                        owner: owner.clone(),
                        rtype: *rtype,
                        class: Class::IN,
                        ttl: *ttl,
                        rdata: rd.as_slice().into(),
                    });
                }
                let p = self.pending(work, owner, *rtype, i);
                limits
                    .rrset_growth(&self.apex, owner, *rtype, p.before, records.len())
                    .map_err(|e| crate::refuse(e, format!("edits[{i}].records"), way))?;
                p.records = records;
            }
            Edit::DeleteRrset { owner, rtype } => {
                self.check_target(i, owner, *rtype)?;
                let p = self.pending(work, owner, *rtype, i);
                if p.records.is_empty() {
                    return Err(ControlError::NotFound {
                        what: format!("RRset {owner} {rtype}"),
                    });
                }
                p.records.clear();
            }
            Edit::AddRecord(r) | Edit::AddRecordKeepTtl(r) => {
                self.check_record(i, r)?;
                let p = self.pending(work, &r.owner, r.rtype, i);
                if p.records.iter().any(|x| x.same_data(r)) {
                    return Err(ControlError::Conflict {
                        message: format!("record {} already exists", show(r)),
                    });
                }
                limits
                    .rrset_growth(&self.apex, &r.owner, r.rtype, p.before, p.records.len() + 1)
                    .map_err(|e| crate::refuse(e, format!("edits[{i}]"), way))?;
                let mut r = r.clone();
                match (edit, p.records.first()) {
                    (Edit::AddRecordKeepTtl(_), Some(first)) => r.ttl = first.ttl,
                    _ => p.records.iter_mut().for_each(|x| x.ttl = r.ttl),
                }
                p.records.push(r);
            }
            Edit::DeleteRecord(r) => {
                self.check_target(i, &r.owner, r.rtype)?;
                let p = self.pending(work, &r.owner, r.rtype, i);
                let Some(pos) = p.records.iter().position(|x| x.same_data(r)) else {
                    return Err(ControlError::NotFound {
                        what: format!("record {}", show(r)),
                    });
                };
                p.records.remove(pos);
            }
        }
        Ok(())
    }

    /// Whether `owner` has an RRset of `rtype` after the pending edits.
    fn final_has(
        &self,
        work: &BTreeMap<Name, BTreeMap<Rtype, Pending>>,
        owner: &Name,
        rtype: Rtype,
    ) -> bool {
        match work.get(owner).and_then(|t| t.get(&rtype)) {
            Some(p) => !p.records.is_empty(),
            None => self.node(owner).is_some_and(|n| n.rrset(rtype).is_some()),
        }
    }

    /// Types at `owner` after the pending edits, with record counts.
    fn final_types(
        &self,
        work: &BTreeMap<Name, BTreeMap<Rtype, Pending>>,
        owner: &Name,
    ) -> BTreeMap<Rtype, usize> {
        let mut types: BTreeMap<Rtype, usize> = self
            .node(owner)
            .map(|n| n.rrsets().map(|s| (s.rtype, s.len())).collect())
            .unwrap_or_default();
        if let Some(w) = work.get(owner) {
            for (t, p) in w {
                types.insert(*t, p.records.len());
            }
        }
        types.retain(|_, n| *n > 0);
        types
    }

    /// Checks the rules at the touched owners; returns the new DNAMEs (edit index, owner).
    fn check_rules(
        &self,
        work: &BTreeMap<Name, BTreeMap<Rtype, Pending>>,
    ) -> Result<Vec<(usize, Name)>, ControlError> {
        let mut dnames = Vec::new();
        for (owner, touched) in work {
            let edit = touched.values().map(|p| p.edit).max().unwrap_or(0);
            let types = self.final_types(work, owner);
            if types.is_empty() {
                continue;
            }
            if let Some(&n) = types.get(&Rtype::CNAME) {
                if n > 1 {
                    return Err(invalid(
                        edit,
                        "records",
                        format!("{owner} CNAME: an owner can have only one CNAME record"),
                    ));
                }
                if let Some(other) = types
                    .keys()
                    .find(|t| !matches!(**t, Rtype::CNAME | Rtype::RRSIG | Rtype::NSEC))
                {
                    return Err(invalid(
                        edit,
                        "type",
                        format!("{owner} would have a CNAME and other data ({other}); a CNAME owner can't have other records (RFC 1034 §3.6.2)"),
                    ));
                }
            }
            if types.get(&Rtype::DNAME).is_some_and(|n| *n > 1) {
                return Err(invalid(
                    edit,
                    "records",
                    format!(
                        "{owner} DNAME: an owner can have only one DNAME record (RFC 6672 §2.4)"
                    ),
                ));
            }
            // Data below a DNAME (this owner's ancestors up to the apex).
            let mut anc = owner.parent();
            while let Some(a) = anc {
                if !a.is_subdomain_of(&self.apex) {
                    break;
                }
                if self.final_has(work, &a, Rtype::DNAME) {
                    return Err(invalid(
                        edit,
                        "name",
                        format!("{owner} is below the DNAME at {a} (RFC 6672 §2.4)"),
                    ));
                }
                anc = a.parent();
            }
            // A new DNAME: data below it is checked on the version after the change.
            if touched.contains_key(&Rtype::DNAME) && types.contains_key(&Rtype::DNAME) {
                dnames.push((edit, owner.clone()));
            }
        }
        if work
            .get(&self.apex)
            .is_some_and(|t| t.contains_key(&Rtype::NS))
            && self.has_apex_ns()
            && !self.final_has(work, &self.apex, Rtype::NS)
        {
            let edit = work
                .get(&self.apex)
                .and_then(|t| t.get(&Rtype::NS))
                .map_or(0, |p| p.edit);
            return Err(invalid(
                edit,
                "records",
                format!(
                    "the apex {} must keep at least one NS record (RFC 1034 §4.2.1)",
                    self.apex
                ),
            ));
        }
        Ok(dnames)
    }
}

fn show(r: &Record) -> String {
    format!(
        "{} {} {}",
        r.owner,
        r.rtype,
        format_presentation(r.rtype, &r.rdata)
    )
}

fn invalid(index: usize, field: &str, message: String) -> ControlError {
    ControlError::Invalid {
        index: Some(index),
        field: field.to_string(),
        message,
    }
}

/// A record in the form zones hold: owner lowercased, RFC 4034 §6.2 rdata names lowercased.
pub(crate) fn canonical_record(mut r: Record) -> Record {
    r.owner = r.owner.to_lowercase();
    r.rdata = zonecast_zone::node::canonical_rdata(r.rtype, &r.rdata);
    r
}

/// An edit with every owner and rdata in canonical form (see [`canonical_record`]).
pub(crate) fn canonical_edit(e: Edit) -> Edit {
    match e {
        Edit::ReplaceRrset {
            owner,
            rtype,
            ttl,
            mut rdatas,
        } => {
            for rd in rdatas.iter_mut() {
                zonecast_proto::rdata::lowercase_canonical_names(rtype, rd);
            }
            Edit::ReplaceRrset {
                owner: owner.to_lowercase(),
                rtype,
                ttl,
                rdatas,
            }
        }
        Edit::DeleteRrset { owner, rtype } => Edit::DeleteRrset {
            owner: owner.to_lowercase(),
            rtype,
        },
        Edit::AddRecord(r) => Edit::AddRecord(canonical_record(r)),
        Edit::DeleteRecord(r) => Edit::DeleteRecord(canonical_record(r)),
        Edit::AddRecordKeepTtl(r) => Edit::AddRecordKeepTtl(canonical_record(r)),
    }
}
