//! Human output: aligned tables and key/value listings of API JSON.
//!
//! The formatters read fields by name and print `-` for absent ones, so a
//! newer API that adds fields (or omits optional ones) still prints.

use serde_json::Value;

/// Formats rows under headers as left-aligned columns separated by two spaces.
///
/// The last column is not padded, so long rdata does not add trailing blanks.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate().take(cols) {
            if i + 1 == cols {
                line.push_str(cell);
            } else {
                let w = widths.get(i).copied().unwrap_or(0);
                line.push_str(cell);
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The list inside an API answer: the array itself, or the first array under a
/// usual wrapper key (`items`, `zones`, `rrsets`, `records`, `keys`, ...).
pub fn list_of(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => {
            for key in [
                "items",
                "zones",
                "rrsets",
                "records",
                "keys",
                "tsig_keys",
                "api_keys",
                "data",
            ] {
                if let Some(Value::Array(a)) = o.get(key) {
                    return a.clone();
                }
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A field as display text: strings bare, arrays comma-joined, null/absent `-`.
pub fn text(v: &Value, key: &str) -> String {
    v.get(key).map(scalar).unwrap_or_else(|| "-".to_string())
}

/// The first present field among `keys`, as [`text`].
pub fn text_any(v: &Value, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| v.get(*k).filter(|x| !x.is_null()))
        .map(scalar)
        .unwrap_or_else(|| "-".to_string())
}

/// A value as display text.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".to_string(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A timestamp field as UTC text: integers are unix seconds, strings as given.
pub fn time(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(secs) => unix_to_utc(secs),
            None => n.to_string(),
        },
        Some(Value::String(s)) => s.clone(),
        _ => "-".to_string(),
    }
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn unix_to_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `key  value` lines for every field of an object, sorted by key; nested
/// objects are flattened as `outer.inner`.
pub fn key_values(v: &Value) -> String {
    let Value::Object(_) = v else {
        return format!("{}\n", scalar(v));
    };
    let mut pairs = Vec::new();
    flatten("", v, &mut pairs);
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, val)| format!("{k:width$}  {val}\n"))
        .collect()
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let Value::Object(o) = v else {
        return;
    };
    for (k, val) in o {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match val {
            Value::Object(_) => flatten(&key, val, out),
            Value::Number(_) if k.ends_with("_at") || k == "last_change" => {
                out.push((key, time(v, k)))
            }
            _ => out.push((key, scalar(val))),
        }
    }
}

/// A number of seconds as `1d 2h`, `3h 4m`, `5m 6s` or `7s` (two units at most).
pub fn duration_text(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

/// `key  value` lines with the keys padded to one width, each line prefixed by `indent`.
fn aligned(pairs: &[(&str, String)], indent: &str) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{indent}{k:width$}  {v}\n"))
        .collect()
}

/// "in 5m 6s (2026-...Z)" from a `*_in` seconds field and a `*_at` time field.
fn when(v: &Value, in_key: &str, at_key: &str) -> String {
    let at = time(v, at_key);
    match v.get(in_key).and_then(Value::as_i64) {
        Some(secs) if at != "-" => format!("in {} ({at})", duration_text(secs)),
        Some(secs) => format!("in {}", duration_text(secs)),
        None => at,
    }
}

/// The `secondary` object of a zone status as readable lines (indented by two).
pub fn secondary_status(s: &Value) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let primary = text(s, "primary");
    pairs.push((
        "primary serial",
        if primary == "-" {
            text(s, "primary_serial")
        } else {
            format!("{} (from {primary})", text(s, "primary_serial"))
        },
    ));
    pairs.push((
        "last refresh",
        match s.get("last_refresh").filter(|r| r.is_object()) {
            Some(r) => format!("{}, {}", time(r, "at"), text(r, "outcome")),
            None => "never".into(),
        },
    ));
    pairs.push(("last success", time(s, "last_success")));
    pairs.push((
        "last transfer",
        match s.get("last_transfer").filter(|t| t.is_object()) {
            Some(t) => {
                let from = match t.get("serial_from") {
                    Some(f) if !f.is_null() => format!("{} -> ", scalar(f)),
                    _ => String::new(),
                };
                format!(
                    "{} {from}{} from {}: {} records, {} messages, {} bytes, {} ms, at {}",
                    text(t, "type"),
                    text(t, "serial_to"),
                    text(t, "primary"),
                    text(t, "records"),
                    text(t, "messages"),
                    text(t, "bytes"),
                    text(t, "duration_ms"),
                    time(t, "at"),
                )
            }
            None => "none yet".into(),
        },
    ));
    pairs.push(("next refresh", when(s, "next_refresh_in", "next_refresh")));
    let expired = s.get("expired").and_then(Value::as_bool) == Some(true);
    pairs.push((
        "expires",
        if expired {
            format!("EXPIRED since {}", time(s, "expires_at"))
        } else if s.get("expires_at").is_none_or(Value::is_null) {
            "-".into()
        } else {
            when(s, "expires_in", "expires_at")
        },
    ));
    pairs.push(("expired", if expired { "yes" } else { "no" }.into()));
    pairs.push(("failures", text(s, "failures")));
    pairs.push((
        "last error",
        match s.get("last_error").filter(|e| e.is_object()) {
            Some(e) => format!("{} (at {})", text(e, "message"), time(e, "at")),
            None => "-".into(),
        },
    ));
    aligned(&pairs, "  ")
}

/// Fields of a zone status that [`zone_status`] prints itself.
const STATUS_FIELDS: [&str; 8] = [
    "zone",
    "kind",
    "serial",
    "served_serial",
    "record_count",
    "last_change",
    "edges",
    "secondary",
];

/// A zone status (`GET /v1/zones/{zone}/status`): serials, records and last
/// change; for a secondary zone its refresh state ([`secondary_status`]);
/// the edges' serials; then any other field as [`key_values`].
pub fn zone_status(v: &Value) -> String {
    let Value::Object(o) = v else {
        return key_values(v);
    };
    let secondary = o.get("secondary").filter(|s| s.is_object());
    let mut out = aligned(
        &[
            ("zone", text(v, "zone")),
            ("kind", text(v, "kind")),
            (
                if secondary.is_some() {
                    "serial (ours)"
                } else {
                    "serial"
                },
                text(v, "serial"),
            ),
            ("served serial", text(v, "served_serial")),
            ("records", text(v, "record_count")),
            ("last change", time(v, "last_change")),
        ],
        "",
    );
    if let Some(s) = secondary {
        out.push_str("secondary:\n");
        out.push_str(&secondary_status(s));
    }
    let edges = list_of(o.get("edges").unwrap_or(&Value::Null));
    if !edges.is_empty() {
        out.push_str("edges:\n");
        let rows: Vec<Vec<String>> = edges
            .iter()
            .map(|e| {
                vec![
                    text(e, "name"),
                    text(e, "served_serial"),
                    text(e, "ready"),
                    time(e, "last_seen"),
                ]
            })
            .collect();
        for line in table(&["NAME", "SERVED", "READY", "LAST-SEEN"], &rows).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    let rest: serde_json::Map<String, Value> = o
        .iter()
        .filter(|(k, _)| !STATUS_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !rest.is_empty() {
        out.push_str(&key_values(&Value::Object(rest)));
    }
    out
}

/// One line for a zone write (`AppliedOut`): the serial change, or that nothing changed.
pub fn applied(v: &Value) -> String {
    let zone = text(v, "zone");
    let (from, to) = (text(v, "serial_from"), text(v, "serial_to"));
    if from == to {
        format!("{zone}: no change (serial {to})\n")
    } else {
        format!("{zone}: serial {from} -> {to}\n")
    }
}

/// Zone list table: NAME KIND SERIAL RECORDS UPDATED.
pub fn zones_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = list_of(v)
        .iter()
        .map(|z| {
            vec![
                text(z, "name"),
                text(z, "kind"),
                text(z, "serial"),
                text_any(z, &["record_count", "records"]),
                time(z, "updated_at"),
            ]
        })
        .collect();
    table(&["NAME", "KIND", "SERIAL", "RECORDS", "UPDATED"], &rows)
}

/// Edge table: NAME READY LAG-MS APPLIED ZONES SERIALS LAST-SEEN PROBLEMS DNS.
///
/// SERIALS lists `zone=serial` pairs (the first three, then a count).
pub fn edges_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = list_of(v)
        .iter()
        .map(|e| {
            let serials: Vec<String> = match e.get("serials") {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(z, s)| format!("{z}={}", scalar(s)))
                    .collect(),
                _ => Vec::new(),
            };
            let shown = if serials.len() > 3 {
                format!("{} (+{})", serials[..3].join(","), serials.len() - 3)
            } else {
                serials.join(",")
            };
            let problems = match e.get("problems") {
                Some(Value::Array(a)) => a.len().to_string(),
                _ => "0".into(),
            };
            vec![
                text(e, "name"),
                text(e, "ready"),
                text(e, "lag_ms"),
                text(e, "applied_lsn"),
                serials.len().to_string(),
                if shown.is_empty() { "-".into() } else { shown },
                time(e, "last_seen"),
                problems,
                text(e, "dns"),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "READY",
            "LAG-MS",
            "APPLIED",
            "ZONES",
            "SERIALS",
            "LAST-SEEN",
            "PROBLEMS",
            "DNS",
        ],
        &rows,
    )
}

/// RRset table in zone-file order: NAME TTL TYPE DATA, one line per rdata.
pub fn rrsets_table(v: &Value) -> String {
    let mut rows = Vec::new();
    for set in list_of(v) {
        let (name, ttl, rtype) = (text(&set, "name"), text(&set, "ttl"), text(&set, "type"));
        let datas: Vec<String> = match set.get("records") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|r| match r {
                    Value::Object(_) => text_any(r, &["content", "data", "rdata"]),
                    other => scalar(other),
                })
                .collect(),
            _ => vec!["-".to_string()],
        };
        for d in datas {
            rows.push(vec![name.clone(), ttl.clone(), rtype.clone(), d]);
        }
    }
    table(&["NAME", "TTL", "TYPE", "DATA"], &rows)
}

/// Record table: ID NAME TTL TYPE CONTENT.
pub fn records_table(records: &[Value]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                text(r, "id"),
                text(r, "name"),
                text(r, "ttl"),
                text(r, "type"),
                text(r, "content"),
            ]
        })
        .collect();
    table(&["ID", "NAME", "TTL", "TYPE", "CONTENT"], &rows)
}

/// TSIG key table: NAME ALGORITHM CREATED (secrets are never listed).
pub fn tsig_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = list_of(v)
        .iter()
        .map(|k| vec![text(k, "name"), text(k, "algorithm"), time(k, "created_at")])
        .collect();
    table(&["NAME", "ALGORITHM", "CREATED"], &rows)
}

/// API key table: NAME SCOPES ZONES CREATED LAST-USED.
pub fn apikeys_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = list_of(v)
        .iter()
        .map(|k| {
            let zones = match k.get("zones") {
                None | Some(Value::Null) => "(all)".to_string(),
                Some(z) => scalar(z),
            };
            vec![
                text(k, "name"),
                text(k, "scopes"),
                zones,
                time(k, "created_at"),
                time(k, "last_used_at"),
            ]
        })
        .collect();
    table(&["NAME", "SCOPES", "ZONES", "CREATED", "LAST-USED"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_aligns_columns_and_leaves_last_unpadded() {
        let t = table(
            &["NAME", "TTL", "DATA"],
            &[
                vec!["www".into(), "300".into(), "192.0.2.1".into()],
                vec!["mail.example.com.".into(), "3600".into(), "x".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME               TTL   DATA\n\
             www                300   192.0.2.1\n\
             mail.example.com.  3600  x\n"
        );
    }

    #[test]
    fn table_with_no_rows_prints_headers() {
        assert_eq!(table(&["A", "B"], &[]), "A  B\n");
    }

    #[test]
    fn unix_time_formats_as_utc() {
        assert_eq!(unix_to_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(unix_to_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(unix_to_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn zones_table_reads_wrapped_lists_and_missing_fields() {
        let v = json!({"zones": [
            {"name": "example.com.", "kind": "primary", "serial": 2024010101u32,
             "record_count": 5, "updated_at": 0},
            {"name": "b.test.", "kind": "secondary"}
        ], "next": null});
        assert_eq!(
            zones_table(&v),
            "NAME          KIND       SERIAL      RECORDS  UPDATED\n\
             example.com.  primary    2024010101  5        1970-01-01T00:00:00Z\n\
             b.test.       secondary  -           -        -\n"
        );
    }

    #[test]
    fn rrsets_table_prints_one_line_per_rdata() {
        let v = json!([{"name": "www.example.com.", "type": "A", "ttl": 300,
                        "records": ["192.0.2.1", "192.0.2.2"]}]);
        assert_eq!(
            rrsets_table(&v),
            "NAME              TTL  TYPE  DATA\n\
             www.example.com.  300  A     192.0.2.1\n\
             www.example.com.  300  A     192.0.2.2\n"
        );
    }

    #[test]
    fn apikeys_table_shows_all_zones_when_unrestricted() {
        let v = json!([{"name": "ci", "scopes": ["records:write", "zones:read"],
                        "zones": null, "created_at": 0, "last_used_at": null}]);
        let t = apikeys_table(&v);
        assert!(t.contains("ci    records:write, zones:read  (all)"), "{t}");
        assert!(t.trim_end().ends_with('-'), "{t}");
    }

    #[test]
    fn applied_reports_serial_change() {
        let v = json!({"zone": "example.com.", "serial_from": 1, "serial_to": 2, "changed": true});
        assert_eq!(applied(&v), "example.com.: serial 1 -> 2\n");
        let v = json!({"zone": "example.com.", "serial_from": 2, "serial_to": 2, "changed": false});
        assert_eq!(applied(&v), "example.com.: no change (serial 2)\n");
    }

    #[test]
    fn key_values_formats_times() {
        let v = json!({"name": "example.com.", "created_at": 0,
                       "settings": {"notify": [], "serial_policy": "date"}});
        assert_eq!(
            key_values(&v),
            "created_at              1970-01-01T00:00:00Z\n\
             name                    example.com.\n\
             settings.notify         -\n\
             settings.serial_policy  date\n"
        );
    }
}
