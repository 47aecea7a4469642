//! A call's shared state, reused from call to call: its id, and for a unary call
//! the outcome handed from the connection to the caller.
//!
//! One cell does what a oneshot channel and an id cell each did with an
//! allocation of their own. Cells come from a per-connection [`CellPool`] and go
//! back to it when the call's handle is the last one holding the cell, so a
//! client in steady state allocates nothing for its calls.

use std::any::Any;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use protosocket::WakerSlot;

use crate::client::reactor::UNASSIGNED;
use crate::error::Error;
use crate::lock::lock;

/// Cells a connection keeps for reuse; more than this many finished at once are
/// freed instead (a burst of calls leaves no large pool behind).
const POOLED_CELLS: usize = 1024;

/// Where a unary call's outcome is.
enum Outcome<Resp> {
    /// Not answered yet; the caller's waker, once it has polled.
    Waiting(WakerSlot),
    /// Answered; the caller has not taken it yet.
    Ready(Result<Resp, Error>),
    /// The connection dropped the call without an answer: it closed.
    Closed,
    /// The caller took the outcome.
    Taken,
}

/// One call's id and outcome.
pub(crate) struct CallCell<Resp> {
    /// `UNASSIGNED`, then the id the connection gave the call, or `ABANDONED`
    /// once the caller is gone.
    pub(crate) id: AtomicU64,
    outcome: Mutex<Outcome<Resp>>,
    /// The request of a call its draining connection refused before sending
    /// it, for a pool to send elsewhere (typed by the caller, who knows it).
    parked: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<Resp> CallCell<Resp> {
    fn new() -> Self {
        Self {
            id: AtomicU64::new(UNASSIGNED),
            outcome: Mutex::new(Outcome::Waiting(WakerSlot::new())),
            parked: Mutex::new(None),
        }
    }

    /// Makes a finished cell new again, keeping its allocation.
    fn reset(&mut self) {
        *self.id.get_mut() = UNASSIGNED;
        let outcome = self
            .outcome
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *outcome = Outcome::Waiting(WakerSlot::new());
        let parked = self
            .parked
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if parked.is_some() {
            *parked = None;
        }
    }

    /// Keeps the request of a call refused unsent; done before the call's
    /// failure is handed over, so its caller finds it.
    #[cold]
    pub(crate) fn park(&self, request: Box<dyn Any + Send>) {
        *lock(&self.parked) = Some(request);
    }

    /// The request a refusal kept, if any (as the caller's request type).
    #[cold]
    pub(crate) fn take_parked(&self) -> Option<Box<dyn Any + Send>> {
        lock(&self.parked).take()
    }

    /// Hands the caller its outcome and wakes it.
    fn complete(&self, result: Result<Resp, Error>) {
        self.settle(Outcome::Ready(result));
    }

    /// The connection let go of the call unanswered.
    fn close(&self) {
        self.settle(Outcome::Closed);
    }

    /// Ends the wait with `end`, unless the call already has an outcome, and
    /// wakes the caller.
    fn settle(&self, end: Outcome<Resp>) {
        let waker = {
            let mut outcome = lock(&self.outcome);
            match &mut *outcome {
                Outcome::Waiting(slot) => {
                    let waker = slot.take();
                    *outcome = end;
                    waker
                }
                _ => None,
            }
        };
        // Woken after the lock is released, so the caller does not find it held.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// `Ready(Some)` with the outcome, `Ready(None)` if the connection closed
    /// without one, `Pending` after registering `cx`'s waker.
    pub(crate) fn poll_outcome(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Resp, Error>>> {
        let mut outcome = lock(&self.outcome);
        match &mut *outcome {
            Outcome::Waiting(slot) => {
                slot.register(cx.waker());
                Poll::Pending
            }
            Outcome::Ready(_) => match std::mem::replace(&mut *outcome, Outcome::Taken) {
                Outcome::Ready(result) => Poll::Ready(Some(result)),
                _ => unreachable!("matched Ready above"),
            },
            Outcome::Closed | Outcome::Taken => Poll::Ready(None),
        }
    }
}

/// The connection's end of a unary call: answering it completes the caller's
/// cell; dropping it unanswered (the connection closing) tells the caller so.
pub(crate) struct UnarySender<Resp> {
    cell: Option<Arc<CallCell<Resp>>>,
}

impl<Resp> UnarySender<Resp> {
    pub(crate) fn new(cell: Arc<CallCell<Resp>>) -> Self {
        Self { cell: Some(cell) }
    }

    /// Hands over the call's outcome.
    pub(crate) fn send(mut self, result: Result<Resp, Error>) {
        if let Some(cell) = self.cell.take() {
            cell.complete(result);
        }
    }
}

impl<Resp> Drop for UnarySender<Resp> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            cell.close();
        }
    }
}

/// Cells of finished calls, ready for the next ones.
pub(crate) struct CellPool<Resp> {
    cells: Mutex<Vec<Arc<CallCell<Resp>>>>,
}

impl<Resp> Default for CellPool<Resp> {
    fn default() -> Self {
        Self {
            cells: Mutex::new(Vec::new()),
        }
    }
}

impl<Resp> CellPool<Resp> {
    /// A fresh cell: a reused one if any is free.
    pub(crate) fn take(&self) -> Arc<CallCell<Resp>> {
        lock(&self.cells)
            .pop()
            .unwrap_or_else(|| Arc::new(CallCell::new()))
    }

    /// Takes back a finished call's cell if nothing else holds it any more (the
    /// connection may still, for a moment); otherwise it is freed by whoever
    /// drops it last.
    pub(crate) fn give_back(&self, mut cell: Arc<CallCell<Resp>>) {
        if let Some(unique) = Arc::get_mut(&mut cell) {
            unique.reset();
            let mut cells = lock(&self.cells);
            if cells.len() < POOLED_CELLS {
                cells.push(cell);
            }
        }
    }
}
