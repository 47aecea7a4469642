//! Every message arrives exactly once, in each sender's order, under real contention.

use std::collections::VecDeque;
use std::time::Duration;

const PRODUCERS: u64 = 16;
const PER_PRODUCER: u64 = 20_000;
const LIMIT: Duration = Duration::from_secs(30);

/// Checks that `received` holds, for every producer, exactly `0..PER_PRODUCER` in order.
fn check(received: &[(u64, u64)]) {
    let mut next = vec![0u64; PRODUCERS as usize];
    for &(producer, sequence) in received {
        assert_eq!(
            next[producer as usize], sequence,
            "producer {producer}: out of order or duplicated"
        );
        next[producer as usize] += 1;
    }
    assert!(
        next.iter().all(|&n| n == PER_PRODUCER),
        "lost messages: {next:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_producers_every_message_once_in_sender_order() {
    let (sender, mut receiver) = spillway::channel();
    for producer in 0..PRODUCERS {
        let sender = sender.clone();
        tokio::spawn(async move {
            for sequence in 0..PER_PRODUCER {
                sender.send((producer, sequence)).expect("receiver alive");
                if sequence % 97 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
    }
    drop(sender);
    let received = tokio::time::timeout(LIMIT, async {
        let mut received = Vec::new();
        while let Some(message) = receiver.next().await {
            received.push(message);
        }
        received
    })
    .await
    .expect("all senders finish");
    check(&received);
}

#[test]
fn os_threads_with_send_many_and_batches_keep_order() {
    let (sender, mut receiver) = spillway::channel_with_concurrency(4);
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let sender = sender.clone();
            std::thread::spawn(move || {
                let mut sequence = 0;
                while sequence < PER_PRODUCER {
                    // Alternate single sends with batches of varying size.
                    let batch = (sequence % 7).min(PER_PRODUCER - sequence);
                    if batch == 0 {
                        sender.send((producer, sequence)).expect("receiver alive");
                        sequence += 1;
                    } else {
                        sender
                            .send_many((sequence..sequence + batch).map(|s| (producer, s)))
                            .expect("receiver alive");
                        sequence += batch;
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let received = runtime.block_on(async {
        tokio::time::timeout(LIMIT, async {
            let mut received = Vec::new();
            let mut batch = VecDeque::new();
            while receiver.next_batch(&mut batch).await > 0 {
                received.extend(batch.drain(..));
            }
            received
        })
        .await
        .expect("all senders finish")
    });
    for thread in threads {
        thread.join().expect("producer thread");
    }
    check(&received);
}

#[test]
fn try_next_reports_empty_then_disconnected() {
    let (sender, mut receiver) = spillway::channel();
    assert_eq!(receiver.try_next(), Err(spillway::TryRecvError::Empty));
    sender.send(1).expect("receiver alive");
    sender.send(2).expect("receiver alive");
    assert_eq!(receiver.try_next(), Ok(1));
    drop(sender);
    // Everything sent before the last sender left is still delivered.
    assert_eq!(receiver.try_next(), Ok(2));
    assert_eq!(
        receiver.try_next(),
        Err(spillway::TryRecvError::Disconnected)
    );
    assert_eq!(
        receiver.try_next(),
        Err(spillway::TryRecvError::Disconnected)
    );
}

#[test]
fn a_batch_is_one_whole_lane() {
    let (first, mut receiver) = spillway::channel_with_concurrency(2);
    let second = first.clone();
    first.send_many([1, 2, 3]).expect("receiver alive");
    second.send_many([10, 20]).expect("receiver alive");
    let mut batch = VecDeque::new();
    assert_eq!(receiver.try_next_batch(&mut batch), Ok(3));
    assert_eq!(batch, [1, 2, 3]);
    batch.clear();
    assert_eq!(receiver.try_next_batch(&mut batch), Ok(2));
    assert_eq!(batch, [10, 20]);
    assert_eq!(
        receiver.try_next_batch(&mut batch),
        Err(spillway::TryRecvError::Empty)
    );
}

#[test]
fn a_batch_hands_out_the_rest_of_a_partly_read_lane_first() {
    let (sender, mut receiver) = spillway::channel();
    sender.send_many([1, 2, 3]).expect("receiver alive");
    assert_eq!(receiver.try_next(), Ok(1));
    sender.send(4).expect("receiver alive");
    let mut batch = VecDeque::from([0]);
    assert_eq!(receiver.try_next_batch(&mut batch), Ok(2));
    assert_eq!(batch, [0, 2, 3], "appended after what the caller had");
    assert_eq!(receiver.try_next(), Ok(4));
}

#[tokio::test]
async fn works_as_a_futures_stream() {
    use futures::StreamExt;
    let (sender, receiver) = spillway::channel();
    for i in 0..5 {
        sender.send(i).expect("receiver alive");
    }
    drop(sender);
    let collected: Vec<i32> = tokio::time::timeout(LIMIT, receiver.collect())
        .await
        .expect("stream ends");
    assert_eq!(collected, [0, 1, 2, 3, 4]);
}

#[test]
fn clones_take_lanes_round_robin() {
    let (sender, receiver) = spillway::channel_with_concurrency::<u8>(3);
    assert_eq!(receiver.lanes(), 3);
    let clones: Vec<_> = (0..5).map(|_| sender.clone()).collect();
    let lanes: Vec<String> = clones.iter().map(|s| format!("{s:?}")).collect();
    assert!(lanes[0].contains("lane: 1"), "{}", lanes[0]);
    assert!(lanes[1].contains("lane: 2"), "{}", lanes[1]);
    assert!(lanes[2].contains("lane: 0"), "{}", lanes[2]);
    assert!(lanes[3].contains("lane: 1"), "{}", lanes[3]);
}

#[test]
fn lane_count_is_clamped() {
    let (_, receiver) = spillway::channel_with_concurrency::<u8>(0);
    assert_eq!(receiver.lanes(), 1);
    let (_, receiver) = spillway::channel_with_concurrency::<u8>(1000);
    assert_eq!(receiver.lanes(), spillway::MAX_LANES);
}
