//! Admission control: at most `limit` requests are admitted at once (running on a worker or
//! queued for one). Past that a request is refused at once with RESOURCE_EXHAUSTED instead of
//! waiting in an unbounded queue, so overload costs the server almost nothing and callers can retry
//! elsewhere. A slot is held until the CPU work really ends, even if the caller gave up earlier.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// The admission gate.
#[derive(Debug, Clone)]
pub struct Admission {
    slots: Arc<Semaphore>,
    limit: usize,
}

/// One admitted request's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Admission {
    /// A gate admitting `limit` requests at once (running plus queued).
    pub fn new(limit: usize) -> Admission {
        Admission {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// Requests admitted at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Requests admitted now.
    pub fn admitted(&self) -> usize {
        self.limit - self.slots.available_permits()
    }

    /// Admits a request, or refuses it at once with [`Error::Overloaded`].
    pub fn try_admit(&self) -> Result<Slot> {
        Arc::clone(&self.slots)
            .try_acquire_owned()
            .map(Slot)
            .map_err(|_| Error::Overloaded { limit: self.limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_then_refuses_until_a_slot_frees() {
        let gate = Admission::new(2);
        let a = gate.try_admit().expect("first");
        let _b = gate.try_admit().expect("second");
        assert!(matches!(
            gate.try_admit(),
            Err(Error::Overloaded { limit: 2 })
        ));
        assert_eq!(gate.admitted(), 2);
        drop(a);
        assert!(gate.try_admit().is_ok());
    }
}
