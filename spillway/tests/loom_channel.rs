//! loom models of spillway's send, receive, close and wake protocol.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p spillway --release --test loom_channel`
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn two_senders_every_message_once_in_order() {
    model(|| {
        let (first, mut receiver) = spillway::channel_with_concurrency(2);
        let second = first.clone();
        let a = thread::spawn(move || {
            first.send((0, 0)).unwrap();
            first.send((0, 1)).unwrap();
        });
        let b = thread::spawn(move || {
            second.send((1, 0)).unwrap();
        });
        let mut next = [0, 0];
        block_on(async {
            while let Some((sender, sequence)) = receiver.next().await {
                assert_eq!(next[sender], sequence);
                next[sender] += 1;
            }
        });
        assert_eq!(next, [2, 1]);
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn two_senders_sharing_one_lane() {
    model(|| {
        let (first, mut receiver) = spillway::channel_with_concurrency(1);
        let second = first.clone();
        let a = thread::spawn(move || first.send(1).unwrap());
        let b = thread::spawn(move || second.send(2).unwrap());
        let mut received = Vec::new();
        block_on(async {
            while let Some(value) = receiver.next().await {
                received.push(value);
            }
        });
        received.sort();
        assert_eq!(received, [1, 2]);
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn last_sender_dropped_while_receiver_parks() {
    model(|| {
        let (sender, mut receiver) = spillway::channel::<u8>();
        let dropper = thread::spawn(move || drop(sender));
        assert_eq!(block_on(receiver.next()), None);
        dropper.join().unwrap();
    });
}

#[test]
fn send_then_drop_is_received_before_the_end() {
    model(|| {
        let (sender, mut receiver) = spillway::channel_with_concurrency(2);
        let other = sender.clone();
        let a = thread::spawn(move || {
            sender.send(1).unwrap();
        });
        let b = thread::spawn(move || drop(other));
        assert_eq!(block_on(receiver.next()), Some(1));
        assert_eq!(block_on(receiver.next()), None);
        a.join().unwrap();
        b.join().unwrap();
    });
}

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn receiver_dropped_while_sending() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (sender, receiver) = spillway::channel();
        let counter = drops.clone();
        let sending = thread::spawn(move || match sender.send(Tracked(counter)) {
            Ok(()) => true,
            Err(error) => {
                assert!(error.is_closed());
                false
            }
        });
        drop(receiver);
        sending.join().unwrap();
        // Accepted or handed back, the message was dropped exactly once.
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn bounded_sender_waits_for_room() {
    model(|| {
        let (sender, mut receiver) = spillway::bounded(1);
        let sending = thread::spawn(move || {
            sender.send(1).unwrap();
            block_on(sender.send_async(2)).unwrap();
        });
        assert_eq!(block_on(receiver.next()), Some(1));
        assert_eq!(block_on(receiver.next()), Some(2));
        assert_eq!(block_on(receiver.next()), None);
        sending.join().unwrap();
    });
}
