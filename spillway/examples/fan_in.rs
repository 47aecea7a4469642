//! Fan-in: many producer tasks feed one consumer task through a spillway channel.
//!
//! `cargo run --release -p spillway --example fan_in [PRODUCERS] [MESSAGES_PER_PRODUCER]`
//!
//! Prints the throughput and checks that every producer's messages arrived exactly
//! once and in the order it sent them.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let producers: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let per_producer: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");

    let started = Instant::now();
    let next_expected = runtime.block_on(async {
        let (sender, mut receiver) = spillway::channel();
        for producer in 0..producers {
            let sender = sender.clone();
            tokio::spawn(async move {
                for sequence in 0..per_producer {
                    sender
                        .send((producer, sequence))
                        .expect("the receiver outlives the producers");
                    // Producers are tasks with other work to do: yield now and then.
                    if sequence % 64 == 63 {
                        tokio::task::yield_now().await;
                    }
                }
            });
        }
        drop(sender);

        let consumer = tokio::spawn(async move {
            let mut next_expected = vec![0u64; producers as usize];
            while let Some((producer, sequence)) = receiver.next().await {
                let expected = &mut next_expected[producer as usize];
                assert_eq!(*expected, sequence, "producer {producer} out of order");
                *expected += 1;
            }
            next_expected
        });
        consumer.await.expect("consumer task")
    });
    let elapsed = started.elapsed();

    let total: u64 = next_expected.iter().sum();
    assert_eq!(total, producers * per_producer, "messages lost");
    println!(
        "{producers} producers -> 1 consumer: {total} messages in {:.1} ms, {:.1} million/s, \
         every producer's messages once and in order",
        elapsed.as_secs_f64() * 1e3,
        total as f64 / elapsed.as_secs_f64() / 1e6,
    );
}
