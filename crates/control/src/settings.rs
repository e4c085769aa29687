//! Per-zone settings, stored as the zone row's settings JSON.

use crate::serial::SerialPolicy;
use crate::ControlError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// A zone's settings; every field is optional in JSON and unknown fields are refused.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ZoneSettings {
    /// How the SOA serial advances on API changes.
    pub serial_policy: SerialPolicy,
    /// External primaries of a secondary zone, `ADDR[:PORT]` (port 53 when absent).
    pub primaries: Vec<String>,
    /// TSIG key name used for transfers and NOTIFY with the primaries.
    pub tsig_key: Option<String>,
    /// Servers sent NOTIFY after each change, `ADDR[:PORT]`.
    pub notify: Vec<String>,
    /// Also NOTIFY the addresses of the zone's NS names, except the SOA's
    /// MNAME (as BIND's `notify yes`): in-zone names by their A/AAAA
    /// records, others by the system resolver.
    pub notify_ns: bool,
    /// Who may transfer the zone: addresses, `ADDR/PREFIX` networks, or `key:NAME`.
    pub allow_transfer: Vec<String>,
}

impl ZoneSettings {
    /// Checks the syntax of every entry; the error names the field and entry (`primaries[1]`).
    ///
    /// Whether a named TSIG key exists is not checked here.
    pub fn validate(&self) -> Result<(), ControlError> {
        for (list, field) in [(&self.primaries, "primaries"), (&self.notify, "notify")] {
            for (i, s) in list.iter().enumerate() {
                if parse_server(s).is_none() {
                    return Err(invalid(
                        format!("{field}[{i}]"),
                        format!("'{s}' is not an address or address:port"),
                    ));
                }
            }
        }
        if let Some(k) = &self.tsig_key {
            check_key_name(k).map_err(|m| invalid("tsig_key".into(), m))?;
        }
        for (i, s) in self.allow_transfer.iter().enumerate() {
            let field = format!("allow_transfer[{i}]");
            if let Some(k) = s.strip_prefix("key:") {
                check_key_name(k).map_err(|m| invalid(field.clone(), m))?;
            } else if !is_network(s) {
                return Err(invalid(
                    field,
                    format!("'{s}' is not an address, ADDR/PREFIX network or key:NAME"),
                ));
            }
        }
        Ok(())
    }

    /// The settings as stored (a JSON object).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Settings from stored JSON; `{}` and empty text give the defaults.
    pub fn from_json(text: &str) -> Result<ZoneSettings, serde_json::Error> {
        if text.trim().is_empty() {
            return Ok(ZoneSettings::default());
        }
        serde_json::from_str(text)
    }
}

/// `ADDR`, `ADDR:PORT` or `[V6]:PORT`; port 53 when absent.
pub fn parse_server(s: &str) -> Option<SocketAddr> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa);
    }
    s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
}

fn is_network(s: &str) -> bool {
    match s.split_once('/') {
        None => s.parse::<IpAddr>().is_ok(),
        Some((addr, prefix)) => match (addr.parse::<IpAddr>(), prefix.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(p)) => p <= 32,
            (Ok(IpAddr::V6(_)), Ok(p)) => p <= 128,
            _ => false,
        },
    }
}

fn check_key_name(k: &str) -> Result<(), String> {
    if k.is_empty() || k.len() > 253 {
        return Err(format!("'{k}' is not a valid key name"));
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(format!(
            "'{k}' is not a valid key name (letters, digits, '-', '_', '.')"
        ));
    }
    Ok(())
}

fn invalid(field: String, message: String) -> ControlError {
    ControlError::Invalid {
        index: None,
        field,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_defaults() {
        assert_eq!(
            ZoneSettings::from_json("{}").unwrap(),
            ZoneSettings::default()
        );
        let s = ZoneSettings {
            serial_policy: SerialPolicy::Unixtime,
            primaries: vec!["192.0.2.1:5353".into()],
            tsig_key: Some("transfer-key".into()),
            notify: vec!["2001:db8::1".into()],
            notify_ns: true,
            allow_transfer: vec!["192.0.2.0/24".into(), "key:transfer-key".into()],
        };
        let json = s.to_json();
        assert!(json.contains("\"notify_ns\":true"), "{json}");
        assert!(json.contains("\"serial_policy\":\"unixtime\""), "{json}");
        assert_eq!(ZoneSettings::from_json(&json).unwrap(), s);
        assert!(ZoneSettings::from_json("{\"bogus\": 1}").is_err());
        s.validate().unwrap();
    }

    #[test]
    fn validation_names_the_entry() {
        let s = ZoneSettings {
            primaries: vec!["192.0.2.1".into(), "primary.example".into()],
            ..Default::default()
        };
        match s.validate() {
            Err(ControlError::Invalid { field, .. }) => assert_eq!(field, "primaries[1]"),
            other => panic!("{other:?}"),
        }
        let s = ZoneSettings {
            allow_transfer: vec!["10.0.0.0/33".into()],
            ..Default::default()
        };
        assert!(s.validate().is_err());
        let s = ZoneSettings {
            allow_transfer: vec!["key:bad key".into()],
            ..Default::default()
        };
        assert!(s.validate().is_err());
    }
}
