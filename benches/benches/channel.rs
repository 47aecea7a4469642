//! spillway against the channels a tokio user would otherwise pick.
//!
//! Every case moves `TOTAL` u64s from N producer tasks to one receiver task on a
//! 2-worker multi-thread runtime. Two shapes: producers that never yield (they send
//! their share in one go) and producers that yield to the runtime every 64 sends,
//! which is how senders that are tasks doing other work behave. Throughput is in
//! messages (elements) per second.
//!
//! `cargo bench -p benches --bench channel`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;

/// Messages per iteration, split evenly across the producers.
const TOTAL: u64 = 1 << 20;
/// How often a yielding producer yields.
const YIELD_EVERY: u64 = 64;
/// Batch size of the `send_many` case.
const BATCH: u64 = 64;
const PRODUCERS: [usize; 3] = [1, 4, 16];

#[derive(Clone, Copy)]
struct Shape {
    name: &'static str,
    /// `u64::MAX` never yields.
    yield_every: u64,
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "no_yield",
        yield_every: u64::MAX,
    },
    Shape {
        name: "yield_64",
        yield_every: YIELD_EVERY,
    },
];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

async fn pace(sent: u64, yield_every: u64) {
    if sent % yield_every == yield_every - 1 {
        tokio::task::yield_now().await;
    }
}

/// Spawns `producers` tasks that each send `per_producer` values with `send`, and
/// returns their handles.
fn spawn_sync_producers<S>(
    sender: S,
    producers: usize,
    per_producer: u64,
    yield_every: u64,
    send: fn(&S, u64),
) -> Vec<tokio::task::JoinHandle<()>>
where
    S: Clone + Send + 'static,
{
    (0..producers)
        .map(|_| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for i in 0..per_producer {
                    send(&sender, i);
                    pace(i, yield_every).await;
                }
            })
        })
        .collect()
}

async fn finish(
    producers: Vec<tokio::task::JoinHandle<()>>,
    receiver: tokio::task::JoinHandle<u64>,
) {
    for producer in producers {
        producer.await.expect("producer");
    }
    assert_eq!(receiver.await.expect("receiver"), TOTAL);
}

async fn spillway_unbounded(producers: usize, yield_every: u64) {
    let (sender, mut receiver) = spillway::channel();
    let handles = spawn_sync_producers(
        sender,
        producers,
        TOTAL / producers as u64,
        yield_every,
        |s, v| s.send(v).expect("receiver alive"),
    );
    let receiver = tokio::spawn(async move {
        let mut count = 0;
        while let Some(v) = receiver.next().await {
            black_box(v);
            count += 1;
        }
        count
    });
    finish(handles, receiver).await;
}

async fn spillway_send_many(producers: usize, yield_every: u64) {
    let (sender, mut receiver) = spillway::channel();
    let per_producer = TOTAL / producers as u64;
    let handles = (0..producers)
        .map(|_| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for batch in 0..per_producer / BATCH {
                    let start = batch * BATCH;
                    sender
                        .send_many(start..start + BATCH)
                        .expect("receiver alive");
                    pace(batch * BATCH + BATCH - 1, yield_every).await;
                }
            })
        })
        .collect();
    drop(sender);
    let receiver = tokio::spawn(async move {
        let mut batch = std::collections::VecDeque::new();
        let mut count = 0;
        loop {
            let n = receiver.next_batch(&mut batch).await;
            if n == 0 {
                break count;
            }
            count += n as u64;
            batch.drain(..).for_each(|v| {
                black_box(v);
            });
        }
    });
    finish(handles, receiver).await;
}

async fn tokio_bounded(producers: usize, yield_every: u64) {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(128);
    let per_producer = TOTAL / producers as u64;
    let handles = (0..producers)
        .map(|_| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for i in 0..per_producer {
                    sender.send(i).await.expect("receiver alive");
                    pace(i, yield_every).await;
                }
            })
        })
        .collect();
    drop(sender);
    let receiver = tokio::spawn(async move {
        let mut buffer = Vec::with_capacity(128);
        let mut count = 0;
        while receiver.recv_many(&mut buffer, 128).await > 0 {
            count += buffer.len() as u64;
            buffer.drain(..).for_each(|v| {
                black_box(v);
            });
        }
        count
    });
    finish(handles, receiver).await;
}

async fn tokio_unbounded(producers: usize, yield_every: u64) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let handles = spawn_sync_producers(
        sender,
        producers,
        TOTAL / producers as u64,
        yield_every,
        |s, v| s.send(v).expect("receiver alive"),
    );
    let receiver = tokio::spawn(async move {
        let mut buffer = Vec::with_capacity(128);
        let mut count = 0;
        while receiver.recv_many(&mut buffer, 128).await > 0 {
            count += buffer.len() as u64;
            buffer.drain(..).for_each(|v| {
                black_box(v);
            });
        }
        count
    });
    finish(handles, receiver).await;
}

async fn flume_unbounded(producers: usize, yield_every: u64) {
    let (sender, receiver) = flume::unbounded();
    let handles = spawn_sync_producers(
        sender,
        producers,
        TOTAL / producers as u64,
        yield_every,
        |s, v| s.send(v).expect("receiver alive"),
    );
    let receiver = tokio::spawn(async move {
        let mut count = 0;
        while let Ok(v) = receiver.recv_async().await {
            black_box(v);
            count += 1;
        }
        count
    });
    finish(handles, receiver).await;
}

async fn crossbeam_unbounded(producers: usize, yield_every: u64) {
    let (sender, receiver) = crossbeam_channel::unbounded();
    let handles = spawn_sync_producers(
        sender,
        producers,
        TOTAL / producers as u64,
        yield_every,
        |s, v| s.send(v).expect("receiver alive"),
    );
    // crossbeam has no async receive: poll it and yield to the runtime when empty.
    let receiver = tokio::spawn(async move {
        let mut count = 0;
        loop {
            match receiver.try_recv() {
                Ok(v) => {
                    black_box(v);
                    count += 1;
                }
                Err(crossbeam_channel::TryRecvError::Empty) => tokio::task::yield_now().await,
                Err(crossbeam_channel::TryRecvError::Disconnected) => break count,
            }
        }
    });
    finish(handles, receiver).await;
}

async fn kanal_unbounded(producers: usize, yield_every: u64) {
    let (sender, receiver) = kanal::unbounded_async();
    let per_producer = TOTAL / producers as u64;
    let handles = (0..producers)
        .map(|_| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for i in 0..per_producer {
                    sender.send(i).await.expect("receiver alive");
                    pace(i, yield_every).await;
                }
            })
        })
        .collect();
    drop(sender);
    let receiver = tokio::spawn(async move {
        let mut count = 0;
        while let Ok(v) = receiver.recv().await {
            black_box(v);
            count += 1;
        }
        count
    });
    finish(handles, receiver).await;
}

type Case = fn(usize, u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

macro_rules! case {
    ($name:literal, $f:ident) => {
        ($name, (|p, y| Box::pin($f(p, y))) as Case)
    };
}

fn channel(c: &mut Criterion) {
    let runtime = runtime();
    let cases: [(&str, Case); 7] = [
        case!("spillway", spillway_unbounded),
        case!("spillway_send_many", spillway_send_many),
        case!("tokio_bounded_128", tokio_bounded),
        case!("tokio_unbounded", tokio_unbounded),
        case!("flume", flume_unbounded),
        case!("crossbeam", crossbeam_unbounded),
        case!("kanal", kanal_unbounded),
    ];
    for shape in SHAPES {
        let mut group = c.benchmark_group(format!("channel/{}", shape.name));
        group.throughput(Throughput::Elements(TOTAL));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for producers in PRODUCERS {
            for (name, case) in cases {
                group.bench_with_input(
                    BenchmarkId::new(name, producers),
                    &producers,
                    |b, &producers| {
                        b.iter_custom(|iterations| {
                            let start = Instant::now();
                            for _ in 0..iterations {
                                runtime.block_on(case(producers, shape.yield_every));
                            }
                            start.elapsed()
                        })
                    },
                );
            }
        }
        group.finish();
    }
}

criterion_group!(benches, channel);
criterion_main!(benches);
