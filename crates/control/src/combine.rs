//! Group commit: concurrent writes to one zone share one store transaction.
//!
//! Every [`Control::apply`] queues its edit list in the zone's cell, then
//! takes the zone's lock. Whoever holds the lock drains the queue and
//! handles the whole batch: each list is planned in arrival order against
//! the version the lists before it leave, and all the changes are committed
//! by one [`zonecast_store::Store::commit_changes`] (one transaction, one
//! WAL flush, one row lock). A writer that finds its list already handled
//! when it gets the lock takes its answer and returns.
//!
//! Nothing a caller sees differs from one write after another: each list
//! gets its own serial, journal entry and record ids, its `if_serial` is
//! checked against the serial the lists before it leave, and a list that
//! fails validation fails alone. When the transaction itself fails, the
//! batch is not half-applied: every list is planned and committed again on
//! its own, so each gets the answer it would have had alone. A store that
//! moved on under this node (another control plane wrote the zone) fails
//! every list as [`ControlError::Stale`], and each caller's retry loop
//! catches up and queues again (module `sync`).
//!
//! The batch is bounded ([`MAX_BATCH`] lists) so one transaction stays small.

use crate::state::{Edit, ZoneState};
use crate::{Applied, Control, ControlError};
use std::sync::{Arc, Mutex, MutexGuard};
use zonecast_proto::Name;
use zonecast_store::{Change, StoreError};
use zonecast_zone::Zone;

/// The most edit lists committed in one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// A zone's state and the writes queued for it.
#[derive(Debug)]
pub(crate) struct ZoneCell {
    state: Mutex<ZoneState>,
    queue: Mutex<Vec<Arc<Slot>>>,
}

impl ZoneCell {
    pub(crate) fn new(z: ZoneState) -> Arc<ZoneCell> {
        Arc::new(ZoneCell {
            state: Mutex::new(z),
            queue: Mutex::new(Vec::new()),
        })
    }

    /// The zone's state, locked (a poisoned lock is taken over: the state is replaced whole on every write).
    pub(crate) fn lock(&self) -> MutexGuard<'_, ZoneState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Vec<Arc<Slot>>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One queued edit list and, once handled, its answer.
#[derive(Debug)]
pub(crate) struct Slot {
    edits: Vec<Edit>,
    if_serial: Option<u32>,
    now: i64,
    answer: Mutex<Option<Result<Applied, ControlError>>>,
}

impl Slot {
    /// A write not yet handled.
    pub(crate) fn new(edits: Vec<Edit>, if_serial: Option<u32>, now: i64) -> Arc<Slot> {
        Arc::new(Slot {
            edits,
            if_serial,
            now,
            answer: Mutex::new(None),
        })
    }

    fn set(&self, r: Result<Applied, ControlError>) {
        *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    }

    pub(crate) fn take(&self) -> Option<Result<Applied, ControlError>> {
        self.answer.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A planned change and the version it leads to, not yet committed.
pub(crate) struct Staged {
    pub change: Change,
    pub next: Arc<Zone>,
}

impl Control {
    /// Queues `edits` for the zone and returns their answer, committed
    /// together with whatever other writes are queued at the time.
    pub(crate) fn apply_queued(
        &self,
        zone: &Name,
        edits: &[Edit],
        if_serial: Option<u32>,
        now: i64,
    ) -> Result<Applied, ControlError> {
        let cell = self.handle(zone)?;
        let slot = Slot::new(edits.to_vec(), if_serial, now);
        cell.queue().push(slot.clone());
        let mut z = cell.lock();
        loop {
            if let Some(answer) = slot.take() {
                return answer;
            }
            let batch: Vec<Arc<Slot>> = {
                let mut q = cell.queue();
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                // Unreachable: the slot was queued before the lock was taken,
                // and whoever drains a slot answers it before unlocking.
                return Err(ControlError::Internal(format!(
                    "a write to zone {zone} was dequeued without an answer"
                )));
            }
            self.handle_batch(&mut z, &batch);
        }
    }

    /// Plans and commits a batch, answering every slot.
    pub(crate) fn handle_batch(&self, z: &mut ZoneState, batch: &[Arc<Slot>]) {
        if let [one] = batch {
            one.set(self.apply_alone(z, one));
            return;
        }
        let mut work = z.clone();
        let mut answers: Vec<Option<Result<Applied, ControlError>>> =
            Vec::with_capacity(batch.len());
        let mut staged: Vec<(usize, Staged)> = Vec::new();
        for (i, slot) in batch.iter().enumerate() {
            match self.stage(&work, &slot.edits, slot.if_serial, slot.now) {
                Ok(Some(st)) => {
                    work.serial = st.change.serial_to;
                    work.version = Some(st.next.clone());
                    staged.push((i, st));
                    answers.push(None);
                }
                Ok(None) => answers.push(Some(Ok(crate::no_change(&work)))),
                Err(e) => answers.push(Some(Err(e))),
            }
        }
        let changes: Vec<Change> = staged.iter().map(|(_, s)| s.change.clone()).collect();
        let committed = if changes.is_empty() {
            Ok(Vec::new())
        } else {
            self.store.commit_changes(&z.apex, &changes)
        };
        match committed {
            Ok(out) => {
                if let Some((entry, _)) = out.last() {
                    work.updated_at = entry.committed_at;
                    *z = work;
                    self.publish(z);
                }
                for ((i, st), (entry, ids)) in staged.into_iter().zip(out) {
                    answers[i] = Some(Ok(Applied {
                        zone: z.apex.clone(),
                        serial_from: st.change.serial_from,
                        serial_to: st.change.serial_to,
                        seq: entry.seq,
                        added_ids: ids,
                    }));
                }
                for (slot, answer) in batch.iter().zip(answers) {
                    slot.set(answer.unwrap_or_else(|| {
                        Err(ControlError::Internal(
                            "a staged change got no journal entry".into(),
                        ))
                    }));
                }
            }
            Err(StoreError::SerialMismatch { .. }) => {
                for slot in batch {
                    slot.set(Err(ControlError::Stale {
                        zone: z.apex.clone(),
                    }));
                }
            }
            Err(e) => {
                tracing::info!(zone = %z.apex, lists = batch.len(), error = %e, "group commit failed; committing each write alone");
                for slot in batch {
                    slot.set(self.apply_alone(z, slot));
                }
            }
        }
    }

    /// One edit list planned and committed on its own.
    fn apply_alone(&self, z: &mut ZoneState, slot: &Slot) -> Result<Applied, ControlError> {
        let Some(st) = self.stage(z, &slot.edits, slot.if_serial, slot.now)? else {
            return Ok(crate::no_change(z));
        };
        let (from, to) = (st.change.serial_from, st.change.serial_to);
        let (entry, ids) = self
            .store
            .commit_change_with_ids(&z.apex, &st.change)
            .map_err(|e| crate::commit_err(&z.apex, e))?;
        z.version = Some(st.next);
        z.serial = to;
        z.updated_at = entry.committed_at;
        self.publish(z);
        tracing::debug!(zone = %z.apex, from, to, seq = entry.seq, "change applied");
        Ok(Applied {
            zone: z.apex.clone(),
            serial_from: from,
            serial_to: to,
            seq: entry.seq,
            added_ids: ids,
        })
    }
}
