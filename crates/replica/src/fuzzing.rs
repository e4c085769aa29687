//! The body of the `pgoutput` fuzz target (`fuzz/fuzz_targets/pgoutput.rs`),
//! also run over the seed corpus by the crate's tests.
//!
//! Input: a sequence of messages, each a big-endian `u16` length and that
//! many octets (a short last one is taken as it is). Every message goes
//! through [`crate::pgoutput::decode`]; Relation messages feed a
//! [`Catalog`], row messages become [`RowEvent`]s, and at each Commit the
//! collected rows are applied with [`apply_transaction`] to a zone table
//! that lives across the input. Nothing may panic.

use crate::pgoutput::{decode, Message};
use crate::rows::Catalog;
use crate::state::{apply_transaction, ZoneTable};
use std::collections::BTreeMap;

/// Splits `data` into length-prefixed messages.
pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        out.push(&body[..take]);
        rest = &body[take..];
    }
    out
}

/// Joins messages with their length prefixes (the inverse of [`split`]).
pub fn join(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let len = u16::try_from(m.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&m[..usize::from(len)]);
    }
    out
}

/// Runs one fuzz input through decoder, catalog and apply.
pub fn pgoutput(data: &[u8]) {
    let mut catalog = Catalog::new();
    let mut zones = ZoneTable::new();
    let halted = BTreeMap::new();
    let mut events = Vec::new();
    for (i, m) in split(data).into_iter().enumerate() {
        let Ok(msg) = decode(m) else { continue };
        match &msg {
            Message::Relation(r) => {
                let _ = catalog.relation(r);
            }
            Message::Commit(c) => {
                let out = apply_transaction(
                    &mut zones,
                    &halted,
                    std::mem::take(&mut events),
                    c.end_lsn,
                    0,
                );
                let _ = (out.publish.len(), out.ops.len());
            }
            _ => match catalog.row(&msg) {
                Ok(Some(ev)) => events.push((i as u64, ev)),
                Ok(None) => {}
                Err(_) => {
                    let _ = catalog.zone_hint(&msg);
                }
            },
        }
    }
}
