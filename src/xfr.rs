//! Wiring: a node's store as the source of zone transfers out.

use std::sync::Arc;
use tracing::warn;
use zonecast_proto::Name;
use zonecast_server::xfr::{Acl, Delta, TransferSource, Transfers, DEFAULT_MAX_TRANSFERS};
use zonecast_store::Store;

/// ACLs and journal read from a store (a control plane's, or an edge's local snapshot).
struct StoreSource<S: AsRef<Store> + Send + Sync>(S);

impl<S: AsRef<Store> + Send + Sync> TransferSource for StoreSource<S> {
    fn acl(&self, zone: &Name) -> Option<Acl> {
        match zonecast_control::transfer_acl_entries(self.0.as_ref(), zone) {
            Ok(Some(entries)) => match Acl::parse(&entries) {
                Ok(acl) => Some(acl),
                Err(e) => {
                    warn!(%zone, "stored allow_transfer unreadable, transfers refused: {e}");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                warn!(%zone, "reading allow_transfer: {e}");
                None
            }
        }
    }

    fn deltas(&self, zone: &Name, from: u32, to: u32) -> Option<Vec<Delta>> {
        match zonecast_control::journal_deltas(self.0.as_ref(), zone, from, to) {
            Ok(changes) => changes.map(|cs| {
                cs.into_iter()
                    .map(|c| Delta {
                        removed: c.removed,
                        added: c.added,
                    })
                    .collect()
            }),
            Err(e) => {
                warn!(%zone, from, to, "reading the journal for IXFR: {e}");
                None
            }
        }
    }
}

/// A control plane's store, shared with its write path.
pub struct ControlStore(pub Arc<zonecast_control::Control>);

impl AsRef<Store> for ControlStore {
    fn as_ref(&self) -> &Store {
        self.0.store()
    }
}

/// The transfer service over `store`.
pub fn transfers<S: AsRef<Store> + Send + Sync + 'static>(store: S) -> Transfers {
    Transfers::new(Arc::new(StoreSource(store)), DEFAULT_MAX_TRANSFERS)
}
