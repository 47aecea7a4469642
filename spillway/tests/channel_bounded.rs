//! Bounded channels: `Full` hands the value back, `send_async` waits for room.

use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn full_lane_hands_the_value_back() {
    let (sender, mut receiver) = spillway::bounded(2);
    sender.send(1).expect("room");
    sender.send(2).expect("room");
    match sender.send(3) {
        Err(spillway::TrySendError::Full(value)) => assert_eq!(value, 3),
        other => panic!("expected Full(3), got {other:?}"),
    }
    assert_eq!(sender.lane_len(), 2);
    assert_eq!(receiver.try_next(), Ok(1));
    // The receiver took the whole lane: it has room again.
    sender.send(3).expect("room after a receive");
    assert_eq!(receiver.try_next(), Ok(2));
    assert_eq!(receiver.try_next(), Ok(3));
}

#[test]
fn the_bound_is_per_lane() {
    let (first, _receiver) = spillway::bounded_with_concurrency(2, 1);
    let second = first.clone();
    first.send(1).expect("room");
    assert!(first.send(2).unwrap_err().is_full());
    second.send(10).expect("the other lane has its own room");
}

#[test]
fn send_many_is_all_or_nothing() {
    let (sender, mut receiver) = spillway::bounded(4);
    sender.send_many([1, 2, 3]).expect("room");
    match sender.send_many(vec![4, 5]) {
        Err(spillway::TrySendError::Full(values)) => assert_eq!(values, [4, 5]),
        other => panic!("expected Full([4, 5]), got {other:?}"),
    }
    assert_eq!(
        sender.lane_len(),
        3,
        "nothing of the failed batch was queued"
    );
    sender.send_many([4]).expect("room for one");
    let mut batch = std::collections::VecDeque::new();
    assert_eq!(receiver.try_next_batch(&mut batch), Ok(4));
    assert_eq!(batch, [1, 2, 3, 4]);
}

#[test]
fn send_many_rolls_back_when_its_iterator_panics() {
    let (sender, mut receiver) = spillway::channel();
    sender.send(0).expect("receiver alive");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ =
            sender.send_many((1..10).map(|i| if i == 5 { panic!("iterator failed") } else { i }));
    }));
    assert!(result.is_err());
    sender.send(10).expect("lane still usable");
    assert_eq!(receiver.try_next(), Ok(0));
    assert_eq!(receiver.try_next(), Ok(10));
    assert_eq!(receiver.try_next(), Err(spillway::TryRecvError::Empty));
}

#[test]
fn zero_capacity_means_one() {
    let (sender, _receiver) = spillway::bounded(0);
    sender.send(1).expect("room for one");
    assert!(sender.send(2).unwrap_err().is_full());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_async_waits_for_room_and_keeps_order() {
    let (sender, mut receiver) = spillway::bounded(8);
    let producer = tokio::spawn(async move {
        for i in 0..10_000u32 {
            sender.send_async(i).await.expect("receiver alive");
        }
    });
    let received = tokio::time::timeout(LIMIT, async {
        let mut expected = 0;
        while let Some(value) = receiver.next().await {
            assert_eq!(value, expected);
            expected += 1;
        }
        expected
    })
    .await
    .expect("no lost wake-up");
    assert_eq!(received, 10_000);
    producer.await.expect("producer");
}

#[tokio::test]
async fn send_async_fails_when_the_receiver_goes_while_waiting() {
    let (sender, receiver) = spillway::bounded(1);
    sender.send(1).expect("room");
    let waiting = tokio::spawn(async move { sender.send_async(2).await });
    tokio::task::yield_now().await;
    drop(receiver);
    let result = tokio::time::timeout(LIMIT, waiting)
        .await
        .expect("waiter woken by the close")
        .expect("task");
    assert_eq!(result.map_err(spillway::SendError::into_inner), Err(2));
}

#[tokio::test]
async fn send_async_on_unbounded_is_ready_at_once() {
    let (sender, mut receiver) = spillway::channel();
    tokio::time::timeout(LIMIT, sender.send_async("x"))
        .await
        .expect("ready")
        .expect("receiver alive");
    assert_eq!(receiver.try_next(), Ok("x"));
}
