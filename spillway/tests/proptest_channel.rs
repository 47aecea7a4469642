//! Property tests: random runs of clones, sends, receives and drops on one thread,
//! checked step by step against a model of what the docs promise.
//!
//! The model knows which lane each sender has (the original first, then each clone
//! the next, round-robin, as `Sender`'s docs say) and which messages each sender has
//! in flight. It does not know which lane the receiver takes next, so the lane
//! counts it predicts are exact only for a lane no receive has touched since it was
//! last empty; elsewhere it checks bounds and `lane_len` itself.
#![cfg(not(loom))]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use spillway::{Receiver, Sender, TryRecvError, TrySendError};

/// Which sender sent a message and its place in that sender's sequence.
type MessageId = (usize, u64);

/// Every drop of a message, to tell a received or discarded message from a leaked
/// or twice-dropped one.
type DropLog = Rc<RefCell<Vec<MessageId>>>;

/// A message that logs its own drop.
struct Message {
    id: MessageId,
    drops: DropLog,
}

impl Drop for Message {
    fn drop(&mut self) {
        self.drops.borrow_mut().push(self.id);
    }
}

/// How one receive step takes messages: all three must agree with the model.
#[derive(Debug, Clone, Copy)]
enum How {
    /// `poll_next` with a waker that does nothing.
    Poll,
    /// `try_next`.
    Try,
    /// `try_next_batch` into an empty batch.
    Batch,
}

#[derive(Debug, Clone)]
enum Op {
    /// Clone a live sender (chosen by the index among the live ones).
    Clone(Index),
    /// Send one message from a live sender.
    Send(Index),
    /// Send this many messages from a live sender with `send_many` (one with `send`).
    SendMany(Index, usize),
    /// Up to this many receive steps, stopping early when nothing is queued.
    Receive(usize, How),
    /// Drop a live sender.
    DropSender(Index),
    /// Drop the receiver.
    DropReceiver,
}

/// What the model holds for one sender, live or dropped.
struct ModelSender {
    /// `None` once dropped; its queued messages stay in flight.
    handle: Option<Sender<Message>>,
    lane: usize,
    /// Sequence number of this sender's next message, sent or refused.
    next_sequence: u64,
    /// Sequence numbers whose send returned `Ok` and that are not received yet,
    /// in send order.
    in_flight: VecDeque<u64>,
}

/// The channel under test and the model it is checked against.
struct Run {
    capacity: usize,
    lanes: usize,
    senders: Vec<ModelSender>,
    receiver: Option<Receiver<Message>>,
    /// Per lane: every message in flight on it is still in the lane itself, none
    /// taken into the receiver. True when the lane's in-flight count drops to
    /// zero; false once a receive step runs while it has messages in flight.
    untouched: Vec<bool>,
    drops: DropLog,
    /// Messages the receiver handed out, in order; checked and dropped at once,
    /// kept here only for the final accounting.
    received: Vec<MessageId>,
}

impl Run {
    fn new(lanes: usize, capacity: usize) -> Self {
        let (sender, receiver) = spillway::bounded_with_concurrency(lanes, capacity);
        Self {
            capacity,
            lanes,
            senders: vec![ModelSender {
                handle: Some(sender),
                lane: 0,
                next_sequence: 0,
                in_flight: VecDeque::new(),
            }],
            receiver: Some(receiver),
            untouched: vec![true; lanes],
            drops: DropLog::default(),
            received: Vec::new(),
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.senders.len())
            .filter(|&s| self.senders[s].handle.is_some())
            .collect()
    }

    fn pick(&self, index: &Index) -> Option<usize> {
        let live = self.live();
        (!live.is_empty()).then(|| live[index.index(live.len())])
    }

    fn in_flight_on_lane(&self, lane: usize) -> usize {
        self.senders
            .iter()
            .filter(|s| s.lane == lane)
            .map(|s| s.in_flight.len())
            .sum()
    }

    fn in_flight(&self) -> usize {
        self.senders.iter().map(|s| s.in_flight.len()).sum()
    }

    fn message(&mut self, sender: usize) -> Message {
        let model = &mut self.senders[sender];
        let id = (sender, model.next_sequence);
        model.next_sequence += 1;
        Message {
            id,
            drops: Rc::clone(&self.drops),
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Clone(index) => {
                if let Some(s) = self.pick(index) {
                    let handle = self.senders[s].handle.clone();
                    // The original has lane 0 and every clone the next, round-robin.
                    let lane = self.senders.len() % self.lanes;
                    self.senders.push(ModelSender {
                        handle,
                        lane,
                        next_sequence: 0,
                        in_flight: VecDeque::new(),
                    });
                }
            }
            Op::Send(index) => {
                if let Some(s) = self.pick(index) {
                    self.send(s, 1)?;
                }
            }
            Op::SendMany(index, count) => {
                if let Some(s) = self.pick(index) {
                    self.send(s, *count)?;
                }
            }
            Op::Receive(steps, how) => self.receive(*steps, *how)?,
            Op::DropSender(index) => {
                if let Some(s) = self.pick(index) {
                    self.senders[s].handle = None;
                }
            }
            Op::DropReceiver => self.drop_receiver()?,
        }
        for lane in 0..self.lanes {
            if self.in_flight_on_lane(lane) == 0 {
                self.untouched[lane] = true;
            }
        }
        Ok(())
    }

    /// Sends `count` messages from sender `s`: with `send` for one, `send_many`
    /// otherwise (zero included).
    fn send(&mut self, s: usize, count: usize) -> Result<(), TestCaseError> {
        let lane = self.senders[s].lane;
        let messages: Vec<Message> = (0..count).map(|_| self.message(s)).collect();
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let closed = self.receiver.is_none();
        let in_flight = self.in_flight_on_lane(lane);
        let handle = match self.senders[s].handle.as_ref() {
            Some(handle) => handle,
            None => return Err(TestCaseError::fail("picked a dropped sender")),
        };
        prop_assert_eq!(handle.is_closed(), closed, "is_closed");

        let before = handle.lane_len();
        if !closed {
            prop_assert!(before <= self.capacity, "lane holds {} > capacity", before);
            prop_assert!(
                before <= in_flight,
                "lane holds {} but only {} are in flight on it",
                before,
                in_flight
            );
            if self.untouched[lane] {
                prop_assert_eq!(before, in_flight, "untouched lane {}", lane);
            }
        }

        let result: Result<(), TrySendError<Vec<Message>>> = if count == 1 {
            let mut messages = messages;
            match messages.pop() {
                Some(message) => handle.send(message).map_err(|e| match e {
                    TrySendError::Full(m) => TrySendError::Full(vec![m]),
                    TrySendError::Closed(m) => TrySendError::Closed(vec![m]),
                }),
                None => return Err(TestCaseError::fail("made no message")),
            }
        } else {
            handle.send_many(messages)
        };

        let full = before + count > self.capacity;
        match result {
            Ok(()) => {
                prop_assert!(!closed, "send succeeded after the receiver was dropped");
                prop_assert!(
                    !full,
                    "lane held {} of {}, yet {} more were taken",
                    before,
                    self.capacity,
                    count
                );
                prop_assert_eq!(handle.lane_len(), before + count, "lane_len after send");
                let model = &mut self.senders[s];
                model
                    .in_flight
                    .extend(ids.iter().map(|&(_, sequence)| sequence));
            }
            Err(TrySendError::Closed(back)) => {
                prop_assert!(closed, "Closed while the receiver is alive");
                let back: Vec<MessageId> = back.iter().map(|m| m.id).collect();
                prop_assert_eq!(back, ids, "Closed hands every value back, in order");
            }
            Err(TrySendError::Full(back)) => {
                prop_assert!(!closed, "Full after the receiver was dropped");
                prop_assert!(
                    full,
                    "Full with {} of {} in the lane and {} to send",
                    before,
                    self.capacity,
                    count
                );
                prop_assert_eq!(handle.lane_len(), before, "a refused send queued something");
                let back: Vec<MessageId> = back.iter().map(|m| m.id).collect();
                prop_assert_eq!(back, ids, "Full hands every value back, in order");
            }
        }
        Ok(())
    }

    /// Checks one received message against the front of its sender's in-flight list.
    fn check_received(&mut self, message: Message) -> Result<(), TestCaseError> {
        let (sender, sequence) = message.id;
        let expected = self
            .senders
            .get_mut(sender)
            .and_then(|s| s.in_flight.pop_front());
        prop_assert_eq!(
            Some(sequence),
            expected,
            "sender {}: out of order, duplicated or never sent",
            sender
        );
        self.received.push(message.id);
        Ok(())
    }

    /// Checks a receive step that found nothing: it ended the stream exactly when
    /// every sender is gone, and nothing was in flight either way.
    fn check_nothing(&self, ended: bool) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            self.in_flight(),
            0,
            "nothing received with messages in flight"
        );
        prop_assert_eq!(
            ended,
            self.live().is_empty(),
            "the stream ends exactly when every sender is gone"
        );
        Ok(())
    }

    fn receive(&mut self, steps: usize, how: How) -> Result<(), TestCaseError> {
        if self.receiver.is_none() {
            return Ok(());
        }
        // The receiver may take any lane with messages in flight.
        for lane in 0..self.lanes {
            if self.in_flight_on_lane(lane) > 0 {
                self.untouched[lane] = false;
            }
        }
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..steps {
            let Some(receiver) = self.receiver.as_mut() else {
                return Ok(());
            };
            match how {
                How::Poll => match receiver.poll_next(&mut cx) {
                    Poll::Ready(Some(message)) => self.check_received(message)?,
                    Poll::Ready(None) => return self.check_nothing(true),
                    Poll::Pending => return self.check_nothing(false),
                },
                How::Try => match receiver.try_next() {
                    Ok(message) => self.check_received(message)?,
                    Err(TryRecvError::Disconnected) => return self.check_nothing(true),
                    Err(TryRecvError::Empty) => return self.check_nothing(false),
                },
                How::Batch => {
                    let mut batch = VecDeque::new();
                    match receiver.try_next_batch(&mut batch) {
                        Ok(count) => {
                            prop_assert!(count > 0, "an empty batch is not a batch");
                            prop_assert_eq!(count, batch.len(), "count of the batch");
                            let lanes: Vec<usize> =
                                batch.iter().map(|m| self.senders[m.id.0].lane).collect();
                            prop_assert!(
                                lanes.windows(2).all(|pair| pair[0] == pair[1]),
                                "a batch holds one lane's messages, got lanes {:?}",
                                lanes
                            );
                            for message in batch {
                                self.check_received(message)?;
                            }
                        }
                        Err(TryRecvError::Disconnected) => return self.check_nothing(true),
                        Err(TryRecvError::Empty) => return self.check_nothing(false),
                    }
                }
            }
        }
        Ok(())
    }

    /// Drops the receiver: every queued message must be dropped with it.
    fn drop_receiver(&mut self) -> Result<(), TestCaseError> {
        if self.receiver.take().is_none() {
            return Ok(());
        }
        let drops = self.drops.borrow();
        for (sender, model) in self.senders.iter_mut().enumerate() {
            for sequence in model.in_flight.drain(..) {
                prop_assert!(
                    drops.contains(&(sender, sequence)),
                    "message {:?} outlived the receiver",
                    (sender, sequence)
                );
            }
        }
        Ok(())
    }

    /// Drops every sender, drains the receiver to its end, drops it, and checks that
    /// every message was dropped exactly once.
    fn finish(mut self) -> Result<(), TestCaseError> {
        for model in &mut self.senders {
            model.handle = None;
        }
        if let Some(mut receiver) = self.receiver.take() {
            let mut cx = Context::from_waker(Waker::noop());
            // Each poll yields a message until the end; one more for the `None`.
            for _ in 0..=self.in_flight() {
                match receiver.poll_next(&mut cx) {
                    Poll::Ready(Some(message)) => self.check_received(message)?,
                    Poll::Ready(None) => break,
                    Poll::Pending => {
                        return Err(TestCaseError::fail("Pending with every sender gone"))
                    }
                }
            }
            prop_assert_eq!(self.in_flight(), 0, "the stream ended before its messages");
            prop_assert!(
                matches!(receiver.poll_next(&mut cx), Poll::Ready(None)),
                "the stream stays ended"
            );
            prop_assert_eq!(receiver.try_next().err(), Some(TryRecvError::Disconnected));
        }

        let mut dropped = self.drops.borrow().clone();
        let mut made: Vec<MessageId> = (0..self.senders.len())
            .flat_map(|s| (0..self.senders[s].next_sequence).map(move |q| (s, q)))
            .collect();
        dropped.sort_unstable();
        made.sort_unstable();
        prop_assert_eq!(dropped, made, "every message dropped exactly once");
        Ok(())
    }
}

/// Runs `ops` on a fresh channel, then closes it from the senders' side and checks
/// the end.
fn run(lanes: usize, capacity: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut run = Run::new(lanes, capacity);
    prop_assert_eq!(
        run.receiver.as_ref().map(Receiver::lanes),
        Some(lanes),
        "lane count"
    );
    for op in ops {
        run.apply(op)?;
    }
    run.finish()
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![Just(How::Poll), Just(How::Try), Just(How::Batch)]
}

/// Operations without a receiver drop. `receive_weight` tunes how often the
/// receiver keeps up, against sends that fill the lanes.
fn op(receive_weight: u32, drop_weight: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => any::<Index>().prop_map(Op::Send),
        4 => (any::<Index>(), 0..=4usize).prop_map(|(s, n)| Op::SendMany(s, n)),
        4 => any::<Index>().prop_map(Op::Clone),
        receive_weight => (1..=8usize, how()).prop_map(|(n, how)| Op::Receive(n, how)),
        drop_weight => any::<Index>().prop_map(Op::DropSender),
    ]
}

/// Mostly small capacities, so that lanes fill, and sometimes large ones.
fn capacity() -> impl Strategy<Value = usize> {
    prop_oneof![1..=4usize, 1..=64usize]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Messages from one sender arrive in its order, none twice, none invented,
    /// and every one whose send returned `Ok` arrives.
    #[test]
    fn each_senders_messages_arrive_once_in_its_order(
        lanes in 1..=8usize,
        capacity in 1..=64usize,
        ops in prop::collection::vec(op(10, 2), 0..150),
    ) {
        run(lanes, capacity, &ops)?;
    }

    /// `send` and `send_many` return `Full` exactly when the sender's lane (shared
    /// round-robin by senders beyond the lane count) lacks room, and then queue
    /// nothing and hand every value back.
    #[test]
    fn send_is_full_exactly_when_its_lane_is_at_capacity(
        lanes in 1..=8usize,
        capacity in capacity(),
        ops in prop::collection::vec(op(3, 1), 0..150),
    ) {
        run(lanes, capacity, &ops)?;
    }

    /// With every sender dropped, the receiver yields what is still queued and then
    /// `None` (or `Disconnected`), without ever returning `Pending`.
    #[test]
    fn after_every_sender_is_dropped_the_queued_messages_then_the_end(
        lanes in 1..=8usize,
        capacity in capacity(),
        ops in prop::collection::vec(op(6, 6), 0..100),
    ) {
        run(lanes, capacity, &ops)?;
    }

    /// Once the receiver is dropped, its queued messages are dropped with it and
    /// every send returns `Closed` with the value.
    #[test]
    fn after_the_receiver_is_dropped_every_send_is_closed_with_its_value(
        lanes in 1..=8usize,
        capacity in capacity(),
        (ops, at) in prop::collection::vec(op(6, 1), 0..100)
            .prop_flat_map(|ops| {
                let len = ops.len();
                (Just(ops), 0..=len)
            }),
    ) {
        let mut ops = ops;
        ops.insert(at, Op::DropReceiver);
        run(lanes, capacity, &ops)?;
    }
}
