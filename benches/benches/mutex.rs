//! k-lock against `std::sync::Mutex` and `parking_lot::Mutex`.
//!
//! Every group runs the same workload on the three locks, so their numbers sit
//! side by side in one report. Throughput is in lock operations:
//! - `mutex/tiny`: `*lock += 1` on a shared counter from 1, 2, 4 and 16 OS threads
//!   (1 thread is the uncontended cost).
//! - `mutex/hashmap`: insert then remove a key in a small `HashMap` under the lock,
//!   from 2, 4 and 16 OS threads.
//! - `mutex/tokio_tasks`: 64 tasks on a 2-worker tokio runtime doing either of the
//!   above, each yielding to the scheduler every 64 operations.
//!
//! Threads are started before the clock and released together by a flag, so the
//! time is the lock traffic plus the joins.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Operations each OS thread performs per measured iteration.
const OPS_PER_THREAD: u64 = 100_000;
/// Tasks in the tokio scenario, and operations per task.
const TASKS: u64 = 64;
const OPS_PER_TASK: u64 = 10_000;
/// A task yields to the runtime after this many operations.
const YIELD_EVERY: u64 = 64;
/// Keys resident in the hashmap, so that inserts and removes touch a real table.
const RESIDENT_KEYS: u64 = 64;

/// The three locks behind one interface.
trait Lock<T>: Send + Sync + 'static {
    /// The name used as the benchmark id.
    const NAME: &'static str;
    fn new(value: T) -> Self;
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R;
}

impl<T: Send + 'static> Lock<T> for k_lock::Mutex<T> {
    const NAME: &'static str = "k-lock";
    fn new(value: T) -> Self {
        k_lock::Mutex::new(value)
    }
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<T: Send + 'static> Lock<T> for std::sync::Mutex<T> {
    const NAME: &'static str = "std";
    fn new(value: T) -> Self {
        std::sync::Mutex::new(value)
    }
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<T: Send + 'static> Lock<T> for parking_lot::Mutex<T> {
    const NAME: &'static str = "parking_lot";
    fn new(value: T) -> Self {
        parking_lot::Mutex::new(value)
    }
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

/// A critical section: what one operation does to the protected value.
trait Workload: Send + 'static {
    fn fresh() -> Self;
    /// One operation by `worker`; `i` counts that worker's operations.
    fn op(&mut self, worker: u64, i: u64);
}

impl Workload for u64 {
    fn fresh() -> Self {
        0
    }
    fn op(&mut self, _worker: u64, _i: u64) {
        *self += 1;
    }
}

impl Workload for HashMap<u64, u64> {
    fn fresh() -> Self {
        (0..RESIDENT_KEYS).map(|k| (k, k)).collect()
    }
    fn op(&mut self, worker: u64, i: u64) {
        // Keys above the resident range, distinct per worker.
        let key = RESIDENT_KEYS + worker * YIELD_EVERY + i % YIELD_EVERY;
        self.insert(key, i);
        black_box(self.remove(&key));
    }
}

/// One measured round: `threads` OS threads, `OPS_PER_THREAD` operations each.
///
/// The clock starts once every thread is running and waiting on the start flag,
/// so thread creation is not measured.
fn run_threads<W: Workload, L: Lock<W>>(lock: &Arc<L>, threads: u64) -> Duration {
    let ready = Arc::new(AtomicU64::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|worker| {
            let lock = Arc::clone(lock);
            let ready = Arc::clone(&ready);
            let go = Arc::clone(&go);
            thread::spawn(move || {
                ready.fetch_add(1, Ordering::AcqRel);
                // Yielding, not spinning: with more threads than cores the main
                // thread needs a core to fire the start.
                while !go.load(Ordering::Acquire) {
                    thread::yield_now();
                }
                for i in 0..OPS_PER_THREAD {
                    lock.with(|value| value.op(worker, i));
                }
            })
        })
        .collect();
    while ready.load(Ordering::Acquire) < threads {
        thread::yield_now();
    }
    let start = Instant::now();
    go.store(true, Ordering::Release);
    for worker in workers {
        worker.join().expect("bench worker panicked");
    }
    start.elapsed()
}

/// One measured round: `TASKS` tasks on `runtime`, `OPS_PER_TASK` operations each.
/// Spawning is measured too; it is small next to the operations.
fn run_tasks<W: Workload, L: Lock<W>>(
    runtime: &tokio::runtime::Runtime,
    lock: &Arc<L>,
) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|worker| {
                let lock = Arc::clone(lock);
                tokio::spawn(async move {
                    for i in 0..OPS_PER_TASK {
                        lock.with(|value| value.op(worker, i));
                        if i % YIELD_EVERY == YIELD_EVERY - 1 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for task in futures::future::join_all(tasks).await {
            task.expect("bench task panicked");
        }
        start.elapsed()
    })
}

fn threads_case<W: Workload, L: Lock<W>>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    threads: u64,
) {
    let lock = Arc::new(L::new(W::fresh()));
    group.throughput(Throughput::Elements(threads * OPS_PER_THREAD));
    group.bench_with_input(
        BenchmarkId::new(L::NAME, threads),
        &threads,
        |b, &threads| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| run_threads::<W, L>(&lock, threads))
                    .sum()
            });
        },
    );
}

fn tasks_case<W: Workload, L: Lock<W>>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    workload: &str,
) {
    let lock = Arc::new(L::new(W::fresh()));
    group.throughput(Throughput::Elements(TASKS * OPS_PER_TASK));
    group.bench_function(BenchmarkId::new(L::NAME, workload), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_tasks::<W, L>(runtime, &lock)).sum());
    });
}

/// Settings that keep each group to tens of seconds on a 2-core machine.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn tiny(c: &mut Criterion) {
    let mut group = c.benchmark_group("mutex/tiny");
    configure(&mut group);
    for threads in [1, 2, 4, 16] {
        threads_case::<u64, k_lock::Mutex<u64>>(&mut group, threads);
        threads_case::<u64, std::sync::Mutex<u64>>(&mut group, threads);
        threads_case::<u64, parking_lot::Mutex<u64>>(&mut group, threads);
    }
    group.finish();
}

fn hashmap(c: &mut Criterion) {
    type Map = HashMap<u64, u64>;
    let mut group = c.benchmark_group("mutex/hashmap");
    configure(&mut group);
    for threads in [2, 4, 16] {
        threads_case::<Map, k_lock::Mutex<Map>>(&mut group, threads);
        threads_case::<Map, std::sync::Mutex<Map>>(&mut group, threads);
        threads_case::<Map, parking_lot::Mutex<Map>>(&mut group, threads);
    }
    group.finish();
}

fn tokio_tasks(c: &mut Criterion) {
    type Map = HashMap<u64, u64>;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    let mut group = c.benchmark_group("mutex/tokio_tasks");
    configure(&mut group);
    tasks_case::<u64, k_lock::Mutex<u64>>(&mut group, &runtime, "counter");
    tasks_case::<u64, std::sync::Mutex<u64>>(&mut group, &runtime, "counter");
    tasks_case::<u64, parking_lot::Mutex<u64>>(&mut group, &runtime, "counter");
    tasks_case::<Map, k_lock::Mutex<Map>>(&mut group, &runtime, "hashmap");
    tasks_case::<Map, std::sync::Mutex<Map>>(&mut group, &runtime, "hashmap");
    tasks_case::<Map, parking_lot::Mutex<Map>>(&mut group, &runtime, "hashmap");
    group.finish();
}

criterion_group!(benches, tiny, hashmap, tokio_tasks);
criterion_main!(benches);
