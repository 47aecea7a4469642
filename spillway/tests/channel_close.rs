//! Closing from either side: no lost message, no lost wake-up, no silent acceptance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// Counts drops, to tell a dropped message from a leaked one.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn send_after_receiver_dropped_hands_the_value_back() {
    let (sender, receiver) = spillway::channel();
    drop(receiver);
    assert!(sender.is_closed());
    match sender.send(7) {
        Err(spillway::TrySendError::Closed(value)) => assert_eq!(value, 7),
        other => panic!("expected Closed(7), got {other:?}"),
    }
    match sender.send_many(vec![1, 2]) {
        Err(spillway::TrySendError::Closed(values)) => assert_eq!(values, [1, 2]),
        other => panic!("expected Closed([1, 2]), got {other:?}"),
    }
    let error = sender.send(1).unwrap_err();
    assert_eq!(error.to_string(), "sending on a closed channel");
    assert_eq!(format!("{error:?}"), "Closed(..)");
}

#[test]
fn dropping_the_receiver_drops_what_was_queued() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = spillway::channel();
    for _ in 0..10 {
        assert!(sender.send(Tracked(drops.clone())).is_ok());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(receiver);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        10,
        "queued messages dropped with the receiver"
    );
    drop(sender);
    assert_eq!(drops.load(Ordering::SeqCst), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_sender_dropped_while_the_receiver_parks_ends_the_stream() {
    for round in 0..200 {
        let (sender, mut receiver) = spillway::channel::<u32>();
        let receiving = tokio::spawn(async move { receiver.next().await });
        if round % 2 == 0 {
            // Give the receiver a chance to park first on half the rounds.
            tokio::task::yield_now().await;
        }
        std::thread::spawn(move || drop(sender));
        let received = tokio::time::timeout(LIMIT, receiving)
            .await
            .expect("receiver woken")
            .expect("receiver task");
        assert_eq!(received, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_then_drop_from_another_thread_is_delivered_before_the_end() {
    for _ in 0..200 {
        let (sender, mut receiver) = spillway::channel();
        let receiving = tokio::spawn(async move {
            let first = receiver.next().await;
            let second = receiver.next().await;
            (first, second)
        });
        std::thread::spawn(move || {
            sender.send(5).expect("receiver alive");
        });
        let received = tokio::time::timeout(LIMIT, receiving)
            .await
            .expect("receiver woken")
            .expect("receiver task");
        assert_eq!(received, (Some(5), None));
    }
}

#[test]
fn receiver_dropped_while_senders_send_loses_nothing_silently() {
    for _ in 0..20 {
        let drops = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let returned = Arc::new(AtomicUsize::new(0));
        let (sender, mut receiver) = spillway::channel();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let sender = sender.clone();
                let (drops, accepted, returned) =
                    (drops.clone(), accepted.clone(), returned.clone());
                std::thread::spawn(move || {
                    // Send until the close is seen; the cap turns a bug into a failure.
                    for _ in 0..10_000_000 {
                        match sender.send(Tracked(drops.clone())) {
                            Ok(()) => {
                                accepted.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(spillway::TrySendError::Closed(value)) => {
                                drop(value);
                                returned.fetch_add(1, Ordering::SeqCst);
                                assert!(sender
                                    .send(Tracked(drops.clone()))
                                    .unwrap_err()
                                    .is_closed());
                                returned.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            Err(spillway::TrySendError::Full(_)) => {
                                panic!("unbounded channel reported Full")
                            }
                        }
                    }
                    panic!("the close was never seen");
                })
            })
            .collect();
        drop(sender);
        // Receive a little, then drop the receiver in the middle of the sends.
        let mut received = 0;
        while received < 100 {
            if receiver.try_next().is_ok() {
                received += 1;
            }
        }
        drop(receiver);
        for thread in threads {
            thread.join().expect("sender thread");
        }
        let accepted = accepted.load(Ordering::SeqCst);
        let returned = returned.load(Ordering::SeqCst);
        assert_eq!(returned, 8, "each sender saw Closed, then Closed again");
        // Every accepted message was either received or dropped with the receiver,
        // and every returned one was dropped by its sender: nothing leaked.
        assert_eq!(drops.load(Ordering::SeqCst), accepted + returned);
    }
}

#[test]
fn drop_order_does_not_leak() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = spillway::channel();
    sender.send(Tracked(drops.clone())).ok();
    drop(sender);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(receiver);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}
