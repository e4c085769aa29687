//! The request bodies of the API decoded and validated as the handlers do,
//! without a server or a store, for the `api_body` fuzz target
//! (`fuzz/fuzz_targets/api_body.rs`; its body is in
//! `tests/fuzz_bodies/mod.rs`, replayed by `tests/fuzz_corpus.rs`).
//!
//! The handlers call the same functions ([`crate::parse_json`] and the
//! validation after it), so what is checked here is what a client reaches.
//! What needs the store is answered by fixed data: the only TSIG key that
//! exists is [`FUZZ_KEY`]. Not an API for anything else.

use crate::keys::{api_key_fields, tsig_row, CreateApiKey, CreateTsig};
use crate::rrsets::{parse_record, patch_edits, rrset_edit, RecordBody, RrsetBody};
use crate::zones::{
    check_settings_with, new_zone, patched_settings, CreateZone, NewZone, PatchZone, ZonefileBody,
};
use crate::{parse_json, ApiError};
use zonecast_control::{Edit, ZoneSettings};
use zonecast_proto::{Name, Record};
use zonecast_store::ZoneKind;

/// The one TSIG key the settings checks find.
pub const FUZZ_KEY: &str = "fuzz-key";

/// The request bodies, by the first octet of a fuzz input (modulo their number).
pub const BODIES: [&str; 9] = [
    "POST /v1/zones",
    "PATCH /v1/zones/{zone}",
    "PUT /v1/zones/{zone}/rrsets/{name}/{type}",
    "PATCH /v1/zones/{zone}/rrsets",
    "POST /v1/zones/{zone}/records",
    "POST /v1/tsig-keys",
    "POST /v1/api-keys",
    "PUT /v1/zones/{zone}/zonefile",
    "PUT /v1/zones/{zone}/rrsets/{name}/{type} (path from the body)",
];

/// What a body that passed validation asks for.
#[derive(Debug)]
pub enum Checked {
    /// A zone to create: its apex, kind, checked settings and zone file records (a primary's).
    Zone {
        /// The apex.
        name: Name,
        /// Primary or secondary.
        kind: ZoneKind,
        /// Settings, checked.
        settings: ZoneSettings,
        /// The records of the zone file given, if one was.
        records: Option<Vec<Record>>,
    },
    /// A zone's settings after a PATCH of the default ones, checked.
    Settings(ZoneSettings),
    /// Edits of the zone `example.com.`.
    Edits(Vec<Edit>),
    /// A TSIG key to store: name, algorithm, secret.
    TsigKey {
        /// Key name as stored.
        name: String,
        /// Algorithm mnemonic.
        algorithm: String,
        /// The secret.
        secret: Vec<u8>,
    },
    /// An API key to store: name and the zones it is limited to.
    ApiKey {
        /// Key name.
        name: String,
        /// Zones it is limited to (absolute names).
        zones: Option<Vec<String>>,
    },
    /// A zone file's records for the zone `example.com.`.
    Zonefile(Vec<Record>),
}

/// Path segments of `PUT .../rrsets/{name}/{type}` for selector 2, by the second octet.
const PATHS: [(&str, &str); 12] = [
    ("www", "A"),
    ("www", "AAAA"),
    ("@", "MX"),
    ("@", "TXT"),
    ("@", "NS"),
    ("@", "SOA"),
    ("cn", "CNAME"),
    ("_sip._tcp", "SRV"),
    ("@", "CAA"),
    ("dn", "DNAME"),
    ("x.example.com.", "HTTPS"),
    ("*.wild", "TXT"),
];

/// `{"name": ..., "type": ..., "body": <RrsetBody>}`: selector 8 lets the input choose the path.
#[derive(serde::Deserialize)]
struct WithPath {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    body: serde_json::Value,
}

/// Decodes and validates one fuzz input: the first octet picks a body of
/// [`BODIES`], the rest is the JSON (selector 2 takes one more octet for
/// the path). The zone of the paths is `zone`.
pub fn check_body(zone: &Name, data: &[u8]) -> Result<Checked, ApiError> {
    let Some((&which, json)) = data.split_first() else {
        return Err(ApiError::bad_request("empty input"));
    };
    let keys = |name: &str| -> Result<bool, ApiError> { Ok(name == FUZZ_KEY) };
    match usize::from(which) % BODIES.len() {
        0 => {
            let NewZone {
                name,
                kind,
                settings,
                zonefile,
            } = new_zone(parse_json::<CreateZone>(json)?)?;
            check_settings_with(&keys, kind, &settings)?;
            let records = match zonefile {
                Some(text) => Some(
                    zonecast_zonefile::load_str(&text, &name, "zonefile")
                        .map_err(|e| ApiError::invalid("zonefile", e.to_string()))?
                        .records,
                ),
                None => None,
            };
            Ok(Checked::Zone {
                name,
                kind,
                settings,
                records,
            })
        }
        1 => {
            let s = patched_settings(ZoneSettings::default(), parse_json::<PatchZone>(json)?);
            check_settings_with(&keys, ZoneKind::Primary, &s)?;
            Ok(Checked::Settings(s))
        }
        2 => {
            let Some((&path, json)) = json.split_first() else {
                return Err(ApiError::bad_request("no path"));
            };
            let (name, rtype) = PATHS[usize::from(path) % PATHS.len()];
            let body = parse_json::<RrsetBody>(json)?;
            Ok(Checked::Edits(vec![rrset_edit(zone, name, rtype, &body)?]))
        }
        3 => {
            let body = parse_json::<serde_json::Value>(json)?;
            Ok(Checked::Edits(patch_edits(zone, &body)?))
        }
        4 => {
            let (rec, ttl) = parse_record(&parse_json::<RecordBody>(json)?, zone)?;
            Ok(Checked::Edits(vec![match ttl {
                Some(_) => Edit::AddRecord(rec),
                None => Edit::AddRecordKeepTtl(rec),
            }]))
        }
        5 => {
            let row = tsig_row(&parse_json::<CreateTsig>(json)?)?;
            Ok(Checked::TsigKey {
                name: row.name,
                algorithm: row.algorithm,
                secret: row.secret,
            })
        }
        6 => {
            let (name, zones) = api_key_fields(&parse_json::<CreateApiKey>(json)?)?;
            Ok(Checked::ApiKey { name, zones })
        }
        7 => {
            let text = parse_json::<ZonefileBody>(json)?.zonefile;
            let records = zonecast_zonefile::load_str(&text, zone, "zonefile")
                .map_err(|e| ApiError::invalid("zonefile", e.to_string()))?
                .records;
            Ok(Checked::Zonefile(records))
        }
        _ => {
            let p = parse_json::<WithPath>(json)?;
            let bytes =
                serde_json::to_vec(&p.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let body = parse_json::<RrsetBody>(&bytes)?;
            Ok(Checked::Edits(vec![rrset_edit(
                zone, &p.name, &p.rtype, &body,
            )?]))
        }
    }
}
