//! A zone's current records in memory, and the planning of a list of edits against them.
//!
//! Planning checks only what the edits can break, at the owners they touch
//! (and, for a new DNAME, the names below it): cost grows with the size of
//! the edits, not of the zone.

use crate::ControlError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use zonecast_proto::rdata::{format_presentation, validate_wire};
use zonecast_proto::{Class, Name, Record, Rtype};
use zonecast_store::ZoneKind;
use zonecast_zone::validate::MAX_TTL;

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
}

/// Records of one RRset with their store ids.
pub(crate) type Rrset = Vec<(i64, Record)>;

/// The RRsets of one owner: a `Vec` kept sorted by type.
///
/// Most owners have one or two RRsets; a `BTreeMap` would allocate a node
/// sized for eleven per owner (about 300 octets), which dominated memory.
#[derive(Debug, Default)]
pub(crate) struct TypeMap(Vec<(Rtype, Rrset)>);

impl TypeMap {
    fn slot(&self, rtype: &Rtype) -> Result<usize, usize> {
        self.0.binary_search_by_key(rtype, |(t, _)| *t)
    }

    /// The RRset of a type, created empty when absent.
    pub fn entry_or_default(&mut self, rtype: Rtype) -> &mut Rrset {
        let i = match self.slot(&rtype) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (rtype, Vec::new()));
                i
            }
        };
        &mut self.0[i].1
    }

    pub fn get(&self, rtype: &Rtype) -> Option<&Rrset> {
        self.slot(rtype).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, rtype: &Rtype) -> Option<&mut Rrset> {
        self.slot(rtype).ok().map(|i| &mut self.0[i].1)
    }

    pub fn remove(&mut self, rtype: &Rtype) {
        if let Ok(i) = self.slot(rtype) {
            self.0.remove(i);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Drops spare capacity of the type list and of every RRset.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
        for (_, set) in self.0.iter_mut() {
            set.shrink_to_fit();
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Rtype, &Rrset)> {
        self.0.iter().map(|(t, s)| (t, s))
    }

    pub fn values(&self) -> impl Iterator<Item = &Rrset> {
        self.0.iter().map(|(_, s)| s)
    }
}

/// A zone as the write path keeps it in memory.
#[derive(Debug)]
pub(crate) struct ZoneState {
    pub apex: Name,
    pub kind: ZoneKind,
    pub settings: ZoneSettings,
    pub serial: u32,
    /// Unix milliseconds, as stored.
    pub created_at: i64,
    /// Unix milliseconds, as stored.
    pub updated_at: i64,
    /// Owner → type → records, owners in canonical order.
    pub nodes: BTreeMap<Name, TypeMap>,
    pub by_id: HashMap<i64, (Name, Rtype)>,
    pub count: usize,
    /// Set when the zone was deleted while a writer waited for it.
    pub deleted: bool,
}

/// The net effect of an edit list: records out and in, SOA excluded.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub removed: Vec<Record>,
    pub added: Vec<Record>,
}

struct Pending {
    records: Vec<Record>,
    edit: usize,
}

impl ZoneState {
    pub fn new(
        apex: Name,
        kind: ZoneKind,
        settings: ZoneSettings,
        serial: u32,
        created_at: i64,
        updated_at: i64,
        records: Vec<(i64, Record)>,
    ) -> ZoneState {
        let mut z = ZoneState {
            apex,
            kind,
            settings,
            serial,
            created_at,
            updated_at,
            nodes: BTreeMap::new(),
            by_id: HashMap::new(),
            count: 0,
            deleted: false,
        };
        for (id, r) in records {
            z.insert(id, r);
        }
        // Growth left spare capacity in every RRset; a loaded zone is mostly read.
        for node in z.nodes.values_mut() {
            node.shrink_to_fit();
        }
        z.by_id.shrink_to_fit();
        z
    }

    pub fn insert(&mut self, id: i64, r: Record) {
        self.by_id.insert(id, (r.owner.clone(), r.rtype));
        self.count += 1;
        self.nodes
            .entry(r.owner.clone())
            .or_default()
            .entry_or_default(r.rtype)
            .push((id, r));
    }

    /// Removes the record with the same data (TTL ignored); false when absent.
    pub fn remove(&mut self, r: &Record) -> bool {
        let Some(node) = self.nodes.get_mut(&r.owner) else {
            return false;
        };
        let Some(set) = node.get_mut(&r.rtype) else {
            return false;
        };
        let Some(pos) = set.iter().position(|(_, x)| x.same_data(r)) else {
            return false;
        };
        let (id, _) = set.remove(pos);
        self.by_id.remove(&id);
        self.count -= 1;
        if set.is_empty() {
            node.remove(&r.rtype);
            if node.is_empty() {
                self.nodes.remove(&r.owner);
            }
        }
        true
    }

    pub fn rrset(&self, owner: &Name, rtype: Rtype) -> Option<&Rrset> {
        self.nodes.get(owner).and_then(|n| n.get(&rtype))
    }

    pub fn soa(&self) -> Option<&Record> {
        self.rrset(&self.apex, Rtype::SOA)
            .and_then(|s| s.first())
            .map(|(_, r)| r)
    }

    pub fn has_apex_ns(&self) -> bool {
        self.rrset(&self.apex, Rtype::NS)
            .is_some_and(|s| !s.is_empty())
    }

    /// Every record, without ids, owners in canonical order.
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.count);
        for node in self.nodes.values() {
            for set in node.values() {
                out.extend(set.iter().map(|(_, r)| r.clone()));
            }
        }
        out
    }

    /// Every record with its id, ascending id.
    pub fn records_with_ids(&self) -> Vec<(i64, Record)> {
        let mut out = Vec::with_capacity(self.count);
        for node in self.nodes.values() {
            for set in node.values() {
                out.extend(set.iter().cloned());
            }
        }
        out.sort_by_key(|(id, _)| *id);
        out
    }

    pub fn record(&self, id: i64) -> Option<&Record> {
        let (owner, rtype) = self.by_id.get(&id)?;
        self.rrset(owner, *rtype)?
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r)
    }

    /// Validates `edits` as a whole and returns their net effect; nothing is changed.
    pub fn plan(&self, edits: &[Edit]) -> Result<Plan, ControlError> {
        let mut work: BTreeMap<Name, BTreeMap<Rtype, Pending>> = BTreeMap::new();
        for (i, edit) in edits.iter().enumerate() {
            self.apply_one(i, edit, &mut work)?;
        }
        self.check_rules(&work)?;
        let mut plan = Plan::default();
        for (owner, types) in &work {
            for (rtype, p) in types {
                let old: Vec<&Record> = self
                    .rrset(owner, *rtype)
                    .map(|s| s.iter().map(|(_, r)| r).collect())
                    .unwrap_or_default();
                // Within one RRset, rdata and TTL identify a record (class is always IN).
                let old_keys: HashSet<(&[u8], u32)> =
                    old.iter().map(|r| (&r.rdata[..], r.ttl)).collect();
                let new_keys: HashSet<(&[u8], u32)> =
                    p.records.iter().map(|r| (&r.rdata[..], r.ttl)).collect();
                for r in &old {
                    if !new_keys.contains(&(&r.rdata[..], r.ttl)) {
                        plan.removed.push((*r).clone());
                    }
                }
                for n in &p.records {
                    if !old_keys.contains(&(&n.rdata[..], n.ttl)) {
                        plan.added.push(n.clone());
                    }
                }
            }
        }
        Ok(plan)
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
            .or_insert_with(|| Pending {
                records: self
                    .rrset(owner, rtype)
                    .map(|s| s.iter().map(|(_, r)| r.clone()).collect())
                    .unwrap_or_default(),
                edit,
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
                let mut records: Vec<Record> = Vec::with_capacity(rdatas.len());
                for (j, rd) in rdatas.iter().enumerate() {
                    validate_wire(*rtype, rd).map_err(|e| {
                        invalid(
                            i,
                            &format!("records[{j}]"),
                            format!("invalid {rtype} rdata: {e}"),
                        )
                    })?;
                    if records.iter().any(|r| r.rdata.as_ref() == rd.as_slice()) {
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
                self.pending(work, owner, *rtype, i).records = records;
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
            Edit::AddRecord(r) => {
                self.check_record(i, r)?;
                let p = self.pending(work, &r.owner, r.rtype, i);
                if p.records.iter().any(|x| x.same_data(r)) {
                    return Err(ControlError::Conflict {
                        message: format!("record {} already exists", show(r)),
                    });
                }
                for x in p.records.iter_mut() {
                    x.ttl = r.ttl;
                }
                p.records.push(r.clone());
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
            None => self.rrset(owner, rtype).is_some_and(|s| !s.is_empty()),
        }
    }

    /// Types at `owner` after the pending edits, with record counts.
    fn final_types(
        &self,
        work: &BTreeMap<Name, BTreeMap<Rtype, Pending>>,
        owner: &Name,
    ) -> BTreeMap<Rtype, usize> {
        let mut types: BTreeMap<Rtype, usize> = self
            .nodes
            .get(owner)
            .map(|n| n.iter().map(|(t, s)| (*t, s.len())).collect())
            .unwrap_or_default();
        if let Some(w) = work.get(owner) {
            for (t, p) in w {
                types.insert(*t, p.records.len());
            }
        }
        types.retain(|_, n| *n > 0);
        types
    }

    fn check_rules(
        &self,
        work: &BTreeMap<Name, BTreeMap<Rtype, Pending>>,
    ) -> Result<(), ControlError> {
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
            // A new DNAME with data below it.
            if touched.contains_key(&Rtype::DNAME) && types.contains_key(&Rtype::DNAME) {
                let below = |name: &Name| name != owner && name.is_subdomain_of(owner);
                let stored = self
                    .nodes
                    .range((Bound::Excluded(owner.clone()), Bound::Unbounded))
                    .map(|(n, _)| n)
                    .take_while(|n| below(n));
                let pending = work
                    .range((Bound::Excluded(owner.clone()), Bound::Unbounded))
                    .map(|(n, _)| n)
                    .take_while(|n| below(n));
                if let Some(n) = stored
                    .chain(pending)
                    .find(|n| !self.final_types(work, n).is_empty())
                {
                    return Err(invalid(
                        edit,
                        "type",
                        format!("{owner} DNAME: {n} has data below it (RFC 6672 §2.4)"),
                    ));
                }
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
        Ok(())
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
