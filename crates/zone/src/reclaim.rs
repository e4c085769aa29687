//! Deferred reclamation: replaced zone versions are freed on a thread of
//! their own, never by a query thread.
//!
//! [`retire`] hands over a reference to a value that was just unpublished.
//! The reclaimer keeps it until it holds the only reference (readers that
//! loaded the value before it was replaced have finished with it), then
//! drops it. Dropping a version frees only what no newer version shares:
//! after an incremental change, a few nodes; after a zone is deleted or
//! replaced whole, the whole zone — on this thread, not a UDP worker's.

use std::any::Any;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

type Retired = Arc<dyn Any + Send + Sync>;

/// How often values still held by readers are looked at again.
const RECHECK: Duration = Duration::from_millis(20);

static QUEUE: OnceLock<Mutex<Sender<Retired>>> = OnceLock::new();

/// Hands `value` to the reclaimer, which drops it once no one else holds it.
pub fn retire<T: Any + Send + Sync>(value: Arc<T>) {
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = channel();
        let started = std::thread::Builder::new()
            .name("zone-reclaim".into())
            .spawn(move || run(rx));
        if let Err(e) = started {
            warn_no_thread(&e);
        }
        Mutex::new(tx)
    });
    let sent = queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(value as Retired);
    if let Err(e) = sent {
        // No reclaimer thread: drop here rather than keep it forever.
        drop(e.0);
    }
}

fn warn_no_thread(e: &std::io::Error) {
    eprintln!("zonecast: could not start the zone reclaimer thread ({e}); replaced zones are freed where they are dropped");
}

fn run(rx: Receiver<Retired>) {
    let mut held: Vec<Retired> = Vec::new();
    loop {
        match rx.recv_timeout(RECHECK) {
            Ok(v) => held.push(v),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(v) = rx.try_recv() {
            held.push(v);
        }
        held.retain(|v| Arc::strong_count(v) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct Flag(Arc<AtomicBool>, std::thread::ThreadId);
    impl Drop for Flag {
        fn drop(&mut self) {
            assert_ne!(
                std::thread::current().id(),
                self.1,
                "dropped on the retiring thread"
            );
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn drops_on_its_own_thread_once_unshared() {
        let dropped = Arc::new(AtomicBool::new(false));
        let v = Arc::new(Flag(dropped.clone(), std::thread::current().id()));
        let reader = v.clone();
        retire(v);
        std::thread::sleep(RECHECK * 5);
        assert!(
            !dropped.load(Ordering::SeqCst),
            "dropped while a reader held it"
        );
        drop(reader);
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(RECHECK);
        }
        panic!("never dropped");
    }
}
