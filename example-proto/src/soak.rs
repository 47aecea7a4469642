//! The soak test behind `example-proto-soak`: a mixed load that ends calls in
//! every way a call can end (answered, dropped by its caller, past its deadline,
//! its connection closed under it) over connections that come and go, with one
//! recorded outcome per call, while the server's memory and file descriptors are
//! sampled to show that nothing piles up.
//!
//! The binary starts the server as a child process and stops it; this module holds
//! the load, the accounting and the checks, so they read (and test) apart from the
//! process handling.
//!
//! # The load
//!
//! `connections` groups of `concurrency` tasks. Each group but the last shares one
//! [`EchoClient`]; the last (with two groups or more) shares an [`RpcPool`] of
//! [`POOL_CONNECTIONS`] connections. In every group:
//!
//! | task | role |
//! |---|---|
//! | 0 | makes calls, and every 0.2–1 s replaces the group's client (or pool) with a new one; the old one closes when its last call is done |
//! | 1 (with 3 tasks or more) | opens a connection of its own, starts a burst of calls on it, and within 3 ms aborts or closes the connection under them |
//! | the rest | make calls |
//!
//! A call is one of: a unary echo; a unary echo with a 5 s deadline it never
//! reaches; a unary echo or a stream with a deadline of 0–2 ms that may expire; a
//! burst of unary calls dropped unpolled, or after one poll; a stream read to its
//! end; a stream dropped part-way.
//!
//! # What ends a call, and what is a failure
//!
//! Every call made is counted as started, and counted once more when it ends,
//! under its [`Outcome`]. Answers are checked: a unary echo must carry the
//! request's message and token; a stream must yield one item per character of its
//! message, in order, then end, and yield nothing after its end or its error. The
//! allowed outcomes are [`Outcome::Ok`], [`Outcome::Dropped`] (the caller dropped
//! it), [`Outcome::Deadline`] (only for the short-deadline calls) and
//! [`Outcome::Closed`] (only on a connection this soak closed on purpose); every
//! other outcome is a failure. A call not ended within [`WATCHDOG`] is dropped and
//! counted as [`Outcome::Hung`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use hdrhistogram::Histogram;
use protosocket::{Endpoint, EndpointStream};
use protosocket_prost::ProstCodec;
use protosocket_rpc::client::{
    ClientConnection, PoolConfig, RpcClientConfig, RpcPool, StreamingCompletion, UnaryCompletion,
};
use protosocket_rpc::{Error, StatusCode};
use tokio::sync::oneshot;
use tokio::time::timeout;

use crate::schema::{response, Request, Response, ResponseBehavior};
use crate::EchoClient;
use crate::Percentiles;

/// A call still open this long after it was made is lost: far beyond any answer
/// of a local echo server, and short enough that the run ends on time.
pub const WATCHDOG: Duration = Duration::from_secs(5);
/// How long one connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the load's tasks may take to finish once the load has ended: their
/// last calls end within the watchdog.
const DRAIN: Duration = WATCHDOG.saturating_add(Duration::from_secs(3));
/// How long a connection closed on purpose may take to finish its close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the server's descriptor count may take to reach its expected value
/// once the load has stopped: the server learns of a closed connection only when
/// it next reads it.
pub const SETTLE: Duration = Duration::from_secs(4);
/// The share of the run, in percent, before the memory baseline is taken:
/// allocator pools and buffers grow to their working size during it.
pub const WARM_UP_PERCENT: u32 = 20;
/// How far, in percent of the baseline, resident memory may rise after warm-up.
pub const RSS_GROWTH_PERCENT: u64 = 50;
/// Resident memory growth allowed on top of [`RSS_GROWTH_PERCENT`], so a small
/// baseline does not make the bound tighter than allocator noise.
pub const RSS_SLACK: u64 = 16 << 20;
/// Connections of the pool that serves the last group.
pub const POOL_CONNECTIONS: usize = 2;

/// The deadline of the calls that must not reach theirs.
const LONG_DEADLINE: Duration = Duration::from_secs(5);
/// The longest of the deadlines that may expire, in microseconds.
const SHORT_DEADLINE_MICROS: u64 = 2_000;
/// Failure descriptions kept for the report; more are only counted.
pub const MAX_NOTES: usize = 20;
/// The characters messages are made of; some take two or three bytes in UTF-8,
/// so a stream item that splits a character shows.
const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789éß☃";

/// A pool of echo clients.
pub type EchoPool = RpcPool<Request, Response, ProstCodec<Request, Response>>;

/// What to run.
///
/// | field | default |
/// |---|---|
/// | `duration` | 60 s |
/// | `connections` | 4 groups |
/// | `concurrency` | 16 tasks per group |
/// | `seed` | 0 |
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// How long tasks keep starting calls.
    pub duration: Duration,
    /// Groups of tasks; each but the last shares one connection, the last a pool.
    pub connections: usize,
    /// Tasks per group.
    pub concurrency: usize,
    /// Seeds every task's choices, so a run that found something can be repeated
    /// with the same choices (their timing still varies).
    pub seed: u64,
}

impl Default for SoakConfig {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(60),
            connections: 4,
            concurrency: 16,
            seed: 0,
        }
    }
}

/// How a call ended. Each call ends with exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered correctly: the echo of its request, or every item of its stream
    /// in order and then the end.
    Ok,
    /// Its caller dropped it before it finished (which cancels it).
    Dropped,
    /// Its short deadline passed.
    Deadline,
    /// The connection it was on was closed on purpose under it.
    Closed,
    /// Answered wrongly: another message or token, an item out of sequence, a
    /// stream cut short, or anything after a stream's end or error.
    Wrong,
    /// The server cancelled it.
    Cancelled,
    /// The server's handler failed.
    Failed,
    /// The server said it is shutting down.
    Unavailable,
    /// Its connection closed when nothing closed it on purpose.
    UnexpectedClose,
    /// A deadline that should not have passed did.
    UnexpectedDeadline,
    /// Not ended within [`WATCHDOG`].
    Hung,
    /// An i/o error.
    Io,
    /// An error this soak does not know.
    Other,
}

impl Outcome {
    /// The number of outcomes.
    pub const COUNT: usize = 13;
    /// Every outcome, in the order of their counters.
    pub const ALL: [Outcome; Outcome::COUNT] = [
        Outcome::Ok,
        Outcome::Dropped,
        Outcome::Deadline,
        Outcome::Closed,
        Outcome::Wrong,
        Outcome::Cancelled,
        Outcome::Failed,
        Outcome::Unavailable,
        Outcome::UnexpectedClose,
        Outcome::UnexpectedDeadline,
        Outcome::Hung,
        Outcome::Io,
        Outcome::Other,
    ];

    /// Whether this outcome fails the soak.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            Outcome::Ok | Outcome::Dropped | Outcome::Deadline | Outcome::Closed
        )
    }

    /// Its short name, as the report prints it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Dropped => "dropped",
            Outcome::Deadline => "deadline",
            Outcome::Closed => "closed",
            Outcome::Wrong => "wrong",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
            Outcome::Unavailable => "unavailable",
            Outcome::UnexpectedClose => "unexpected-close",
            Outcome::UnexpectedDeadline => "unexpected-deadline",
            Outcome::Hung => "hung",
            Outcome::Io => "io",
            Outcome::Other => "other",
        }
    }
}

/// Calls started and ended, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Calls made.
    pub started: u64,
    /// Calls ended, indexed like [`Outcome::ALL`].
    pub ended: [u64; Outcome::COUNT],
}

impl Counts {
    /// Calls ended, whatever their outcome.
    pub fn total_ended(&self) -> u64 {
        self.ended.iter().sum()
    }

    /// Calls ended with `outcome`.
    pub fn of(&self, outcome: Outcome) -> u64 {
        self.ended[outcome as usize]
    }

    /// Calls ended with a failing outcome.
    pub fn failures(&self) -> u64 {
        Outcome::ALL
            .iter()
            .filter(|outcome| outcome.is_failure())
            .map(|&outcome| self.of(outcome))
            .sum()
    }

    /// What happened between `earlier` and `self`.
    fn since(&self, earlier: &Counts) -> Counts {
        let mut ended = [0; Outcome::COUNT];
        for (index, count) in ended.iter_mut().enumerate() {
            *count = self.ended[index] - earlier.ended[index];
        }
        Counts {
            started: self.started - earlier.started,
            ended,
        }
    }
}

/// One look at the server process and at this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Since the load started.
    pub at: Duration,
    /// The server's resident memory, in bytes.
    pub server_rss: Option<u64>,
    /// The server's open file descriptors.
    pub server_fds: Option<usize>,
    /// This process's resident memory, in bytes.
    pub client_rss: Option<u64>,
}

/// One second of the run, as [`run`] reports it.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Calls started and ended during the second.
    pub counts: Counts,
    /// Calls started and not yet ended at its end.
    pub in_flight: u64,
    /// The look at the processes at its end.
    pub sample: Sample,
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = &self.counts;
        write!(
            f,
            "{:>4}s  started {:>6}  ok {:>6}  dropped {:>5}  deadline {:>5}  closed {:>4}  failures {}  in flight {:>3}  server {} {} fds  client {}",
            self.sample.at.as_secs(),
            counts.started,
            counts.of(Outcome::Ok),
            counts.of(Outcome::Dropped),
            counts.of(Outcome::Deadline),
            counts.of(Outcome::Closed),
            counts.failures(),
            self.in_flight,
            Mib(self.sample.server_rss),
            self.sample
                .server_fds
                .map_or_else(|| "?".to_string(), |fds| fds.to_string()),
            Mib(self.sample.client_rss),
        )
    }
}

/// One verdict of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The numbers behind the verdict.
    pub detail: String,
}

impl Check {
    /// A verdict on `name`.
    pub fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            passed,
            detail: detail.into(),
        }
    }
}

/// Everything a run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The seed of the run.
    pub seed: u64,
    /// From the start of the load until its last task finished.
    pub elapsed: Duration,
    /// Calls started and ended, by outcome.
    pub counts: Counts,
    /// Latencies of the unary calls answered correctly, in nanoseconds.
    pub unary_latency: Percentiles,
    /// Latencies of the streams read correctly to their end, in nanoseconds.
    pub stream_latency: Percentiles,
    /// Connection and pool replacements, and connections closed under calls.
    pub events: Events,
    /// Why the connections closed on purpose ended their calls, with how many.
    pub close_reasons: BTreeMap<String, u64>,
    /// One per second of the run.
    pub samples: Vec<Sample>,
    /// The verdicts; the binary adds its own (the server's stop).
    pub checks: Vec<Check>,
    /// The first failures, described.
    pub notes: Vec<String>,
    /// Failures past the first [`MAX_NOTES`], counted only.
    pub unnoted: u64,
}

impl Report {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    /// A report of a run that stopped before its load: `checks` say why.
    fn aborted(seed: u64, checks: Vec<Check>) -> Self {
        Self {
            seed,
            elapsed: Duration::ZERO,
            counts: Counts::default(),
            unary_latency: Percentiles::default(),
            stream_latency: Percentiles::default(),
            events: Events::default(),
            close_reasons: BTreeMap::new(),
            samples: Vec::new(),
            checks,
            notes: Vec::new(),
            unnoted: 0,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = &self.counts;
        let ended = counts.total_ended();
        let seconds = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "summary (seed {}): {} calls started, {} ended in {:.1}s ({:.0} calls/s)",
            self.seed,
            counts.started,
            ended,
            seconds,
            if seconds > 0.0 {
                ended as f64 / seconds
            } else {
                0.0
            }
        )?;
        write!(f, "  by outcome:")?;
        for outcome in Outcome::ALL {
            write!(f, " {} {}", outcome.name(), counts.of(outcome))?;
        }
        writeln!(f)?;
        writeln!(f, "  unary ok latency:  {}", self.unary_latency)?;
        writeln!(f, "  stream ok latency: {}", self.stream_latency)?;
        let events = &self.events;
        writeln!(
            f,
            "  connections: {} clients replaced, {} pools replaced, {} aborted under calls, {} closed under calls",
            events.reconnects, events.pool_replacements, events.aborts, events.closes
        )?;
        for (reason, count) in &self.close_reasons {
            writeln!(f, "    {count} calls ended by a deliberate close: {reason}")?;
        }
        let server_rss = self.samples.iter().filter_map(|s| s.server_rss);
        let client_rss = self.samples.iter().filter_map(|s| s.client_rss);
        let fds = self.samples.iter().filter_map(|s| s.server_fds);
        writeln!(
            f,
            "  server rss min {} max {}; server fds min {} max {}; client rss min {} max {}",
            Mib(server_rss.clone().min()),
            Mib(server_rss.max()),
            fds.clone()
                .min()
                .map_or_else(|| "?".into(), |n| n.to_string()),
            fds.max().map_or_else(|| "?".into(), |n| n.to_string()),
            Mib(client_rss.clone().min()),
            Mib(client_rss.max()),
        )?;
        writeln!(f, "checks:")?;
        for check in &self.checks {
            let verdict = if check.passed { "PASS" } else { "FAIL" };
            writeln!(f, "  {verdict} {}: {}", check.name, check.detail)?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "first failures:")?;
            for note in &self.notes {
                writeln!(f, "  {note}")?;
            }
            if self.unnoted > 0 {
                writeln!(f, "  ... and {} more", self.unnoted)?;
            }
        }
        Ok(())
    }
}

/// Connection events of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Events {
    /// A group's shared client replaced by a newly connected one.
    pub reconnects: u64,
    /// The pool group's pool replaced by a new one.
    pub pool_replacements: u64,
    /// Connections whose task was aborted while calls were on them.
    pub aborts: u64,
    /// Connections closed gracefully while calls were on them.
    pub closes: u64,
}

/// Runs the soak against the echo server at `server`, whose process is
/// `server_pid`, calling `progress` once a second. The report's checks say whether
/// it passed; a server that cannot be reached gives a report with that failure.
pub async fn run(
    server: SocketAddr,
    server_pid: u32,
    config: &SoakConfig,
    mut progress: impl FnMut(&Tick),
) -> Report {
    let endpoint = Endpoint::from(server);
    let client_config = RpcClientConfig::default();
    if let Err(error) = first_echo(&endpoint, &client_config).await {
        let check = Check::new("the server answers an echo", false, error);
        return Report::aborted(config.seed, vec![check]);
    }
    // The first echo's connection may still be closing on the server's side.
    let baseline_fds = match steady_fds(server_pid).await {
        Ok(fds) => fds,
        Err(error) => {
            let check = Check::new(
                "the server's descriptors can be counted",
                false,
                format!("/proc/{server_pid}/fd: {error}"),
            );
            return Report::aborted(config.seed, vec![check]);
        }
    };

    let ledger = Arc::new(Ledger::default());
    let groups = match open_groups(&endpoint, &client_config, config.connections).await {
        Ok(groups) => groups,
        Err(error) => {
            let check = Check::new("the load's connections open", false, error);
            return Report::aborted(config.seed, vec![check]);
        }
    };

    let start = Instant::now();
    let load_end = start + config.duration;
    let mut handles = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for t in 0..config.concurrency.max(1) {
            let task = (g * config.concurrency.max(1) + t) as u64;
            let role = match t {
                0 => Role::Replacer,
                1 if config.concurrency >= 3 => Role::Breaker,
                _ => Role::Caller,
            };
            let worker = Worker::new(task, role, config.seed, Arc::clone(&ledger), load_end);
            handles.push(tokio::spawn(worker.run(
                Arc::clone(group),
                endpoint.clone(),
                client_config.clone(),
            )));
        }
    }
    let aborts: Vec<_> = handles.iter().map(|handle| handle.abort_handle()).collect();

    // Sample once a second until every task has finished: the load ends at
    // `load_end`, and each task's last call ends within the watchdog after it.
    let drain_end = load_end + DRAIN;
    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::from_std(start) + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = ledger.counts();
    let mut all_done = std::pin::pin!(futures::future::join_all(handles));
    let finished = loop {
        tokio::select! {
            finished = &mut all_done => break Some(finished),
            _ = ticker.tick() => {
                let sample = sample(server_pid, start, &ledger);
                samples.push(sample);
                let now = ledger.counts();
                progress(&Tick {
                    counts: now.since(&previous),
                    // The counters are read one by one while tasks run, so this
                    // is approximate (and must not underflow); the final count is
                    // exact, read after every task has finished.
                    in_flight: now.started.saturating_sub(now.total_ended()),
                    sample,
                });
                previous = now;
                if Instant::now() >= drain_end {
                    break None;
                }
            }
        }
    };
    let elapsed = start.elapsed();

    let (tasks, latency) = task_results(finished, &aborts, &ledger);
    let counts = ledger.counts();
    let events = ledger.events();
    let mut checks = vec![tasks];
    checks.extend(call_checks(&counts, &ledger));
    checks.push(coverage(&counts, &events, &groups, config));
    checks.extend(memory_checks(
        &samples,
        config.duration * WARM_UP_PERCENT / 100,
    ));
    checks.extend(descriptor_checks(server_pid, baseline_fds, groups).await);

    let (notes, unnoted) = ledger.notes();
    Report {
        seed: config.seed,
        elapsed,
        counts,
        unary_latency: percentiles(&latency.unary),
        stream_latency: percentiles(&latency.stream),
        events,
        close_reasons: ledger.close_reasons(),
        samples,
        checks,
        notes,
        unnoted,
    }
}

/// The verdict on the load tasks, and their latencies merged. Tasks still running
/// after [`DRAIN`] are aborted; the calls they had open stay counted as started
/// and not ended.
fn task_results(
    finished: Option<Vec<Result<Latency, tokio::task::JoinError>>>,
    aborts: &[tokio::task::AbortHandle],
    ledger: &Ledger,
) -> (Check, Latency) {
    let name = "every load task finished";
    let mut merged = Latency {
        unary: new_histogram(),
        stream: new_histogram(),
    };
    let Some(results) = finished else {
        for abort in aborts {
            abort.abort();
        }
        let detail = format!("tasks still running {DRAIN:?} after the load ended; aborted");
        return (Check::new(name, false, detail), merged);
    };
    let mut panicked = 0;
    for result in results {
        match result {
            Ok(latency) => {
                // Same bounds everywhere, so adding cannot fail.
                let _ = merged.unary.add(&latency.unary);
                let _ = merged.stream.add(&latency.stream);
            }
            Err(error) => {
                panicked += 1;
                ledger.note(format!("a load task failed: {error}"));
            }
        }
    }
    let detail = format!("{panicked} tasks panicked");
    (Check::new(name, panicked == 0, detail), merged)
}

/// The verdicts on the calls: each ended exactly once, none failed, and nothing
/// around them (connects, pools, closes, samples) failed either.
fn call_checks(counts: &Counts, ledger: &Ledger) -> [Check; 3] {
    let failed: Vec<String> = Outcome::ALL
        .iter()
        .filter(|outcome| outcome.is_failure() && counts.of(**outcome) > 0)
        .map(|outcome| format!("{} {}", outcome.name(), counts.of(*outcome)))
        .collect();
    let other = ledger.other_failures.load(Ordering::Relaxed);
    [
        Check::new(
            "every call ended exactly once",
            counts.started == counts.total_ended(),
            format!("{} started, {} ended", counts.started, counts.total_ended()),
        ),
        Check::new(
            "no call failed or was answered wrongly",
            failed.is_empty(),
            if failed.is_empty() {
                "none".to_string()
            } else {
                failed.join(", ")
            },
        ),
        Check::new(
            "no connect, pool, close or sampling failure",
            other == 0,
            format!("{other}"),
        ),
    ]
}

/// The memory verdicts for the server and this process.
fn memory_checks(samples: &[Sample], warm_up: Duration) -> [Check; 2] {
    let server: Vec<(Duration, u64)> = samples
        .iter()
        .filter_map(|s| Some((s.at, s.server_rss?)))
        .collect();
    let client: Vec<(Duration, u64)> = samples
        .iter()
        .filter_map(|s| Some((s.at, s.client_rss?)))
        .collect();
    [
        rss_check("server", &server, warm_up),
        rss_check("client (this process)", &client, warm_up),
    ]
}

/// The descriptor verdicts: with the load stopped and the groups' clients still
/// open, the server holds exactly their connections beyond its baseline; once
/// the groups are dropped, none.
async fn descriptor_checks(pid: u32, baseline: usize, groups: Vec<Arc<Group>>) -> [Check; 2] {
    let live = || {
        groups
            .iter()
            .map(|group| group.live_connections())
            .sum::<usize>()
    };
    let open = settle_fds(pid, || baseline + live()).await;
    let open = Check::new(
        "server fds = baseline + open connections once the load stops",
        open.reached,
        format!(
            "baseline {baseline}, {} connections open, expected {}, counted {}",
            live(),
            open.expected,
            open.counted
        ),
    );
    drop(groups);
    let closed = settle_fds(pid, || baseline).await;
    let closed = Check::new(
        "server fds return to baseline once every client is gone",
        closed.reached,
        format!("baseline {baseline}, counted {}", closed.counted),
    );
    [open, closed]
}

/// One echo on a connection of its own, to know the server answers before the
/// load starts.
async fn first_echo(endpoint: &Endpoint, config: &RpcClientConfig) -> Result<(), String> {
    let client = match timeout(
        CONNECT_TIMEOUT,
        EchoClient::connect(endpoint.clone(), protosocket_prost::codec(), config),
    )
    .await
    {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => return Err(format!("connecting to {endpoint}: {error}")),
        Err(_) => {
            return Err(format!(
                "connecting to {endpoint}: over {CONNECT_TIMEOUT:?}"
            ))
        }
    };
    let expected = Expected {
        message: "soak".to_string(),
        token: 1,
    };
    let call = client.send_unary(Request::echo("soak", 1, ResponseBehavior::Unary));
    let ended = finish_unary(call, &expected, Allowed::NOTHING).await;
    match ended.outcome {
        Outcome::Ok => Ok(()),
        outcome => Err(format!(
            "the first echo ended {}: {}",
            outcome.name(),
            ended.detail
        )),
    }
}

/// The load's groups: all but the last share a client each, the last a pool.
async fn open_groups(
    endpoint: &Endpoint,
    config: &RpcClientConfig,
    connections: usize,
) -> Result<Vec<Arc<Group>>, String> {
    let connections = connections.max(1);
    let mut groups = Vec::with_capacity(connections);
    for g in 0..connections {
        let source = if connections >= 2 && g == connections - 1 {
            Source::Pool(new_pool(endpoint, config))
        } else {
            Source::Client(connect(endpoint, config).await?)
        };
        groups.push(Arc::new(Group::new(source)));
    }
    Ok(groups)
}

/// A connected client, or why there is none.
async fn connect(endpoint: &Endpoint, config: &RpcClientConfig) -> Result<EchoClient, String> {
    match timeout(
        CONNECT_TIMEOUT,
        EchoClient::connect(endpoint.clone(), protosocket_prost::codec(), config),
    )
    .await
    {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(format!("connecting to {endpoint}: {error}")),
        Err(_) => Err(format!(
            "connecting to {endpoint}: over {CONNECT_TIMEOUT:?}"
        )),
    }
}

fn new_pool(endpoint: &Endpoint, config: &RpcClientConfig) -> EchoPool {
    RpcPool::new(
        [endpoint.clone()],
        protosocket_prost::codec::<Request, Response>,
        config.clone(),
        PoolConfig::default()
            .connections(POOL_CONNECTIONS)
            .connect_timeout(CONNECT_TIMEOUT),
    )
}

/// Whether the run did what it claims to exercise: a soak that never dropped a
/// call or closed a connection under one proves nothing about those paths.
fn coverage(counts: &Counts, events: &Events, groups: &[Arc<Group>], config: &SoakConfig) -> Check {
    let direct = groups
        .iter()
        .filter(|group| matches!(group.snapshot().1, Source::Client(_)))
        .count();
    let breakers = config.concurrency >= 3;
    // (what, whether this configuration exercises it, how often it happened)
    let paths = [
        ("calls answered", true, counts.of(Outcome::Ok)),
        ("calls dropped", true, counts.of(Outcome::Dropped)),
        ("deadlines passed", true, counts.of(Outcome::Deadline)),
        ("clients replaced", direct > 0, events.reconnects),
        (
            "pools replaced",
            direct < groups.len(),
            events.pool_replacements,
        ),
        ("connections aborted under calls", breakers, events.aborts),
        ("connections closed under calls", breakers, events.closes),
        (
            "calls ended by a deliberate close",
            breakers,
            counts.of(Outcome::Closed),
        ),
    ];
    let applicable = paths.iter().filter(|(_, applies, _)| *applies);
    let missing: Vec<&str> = applicable
        .clone()
        .filter(|(_, _, count)| *count == 0)
        .map(|(what, _, _)| *what)
        .collect();
    let detail = if missing.is_empty() {
        applicable
            .map(|(what, _, _)| *what)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        format!("none of: {}", missing.join(", "))
    };
    Check::new(
        "every kind of ending was exercised",
        missing.is_empty(),
        detail,
    )
}

/// The memory verdict for one process's samples.
fn rss_check(process: &str, samples: &[(Duration, u64)], warm_up: Duration) -> Check {
    let name = format!("{process} rss flat after warm-up");
    match rss_flat(samples, warm_up) {
        Some(flat) => Check::new(
            name,
            flat.max <= flat.bound,
            format!(
                "baseline {} at {}s, max {}, bound {} (+{RSS_GROWTH_PERCENT}% + {})",
                Mib(Some(flat.baseline)),
                flat.baseline_at.as_secs(),
                Mib(Some(flat.max)),
                Mib(Some(flat.bound)),
                Mib(Some(RSS_SLACK)),
            ),
        ),
        None => Check::new(name, false, "fewer than two samples after warm-up"),
    }
}

/// Resident memory after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flat {
    /// The first sample at or after warm-up, in bytes.
    pub baseline: u64,
    /// When it was taken.
    pub baseline_at: Duration,
    /// The largest sample from then on.
    pub max: u64,
    /// What `max` may be: `baseline` plus [`RSS_GROWTH_PERCENT`] and [`RSS_SLACK`].
    pub bound: u64,
}

/// The baseline, maximum and bound of `(time, rss)` samples after `warm_up`;
/// `None` with fewer than two samples from then on (no trend to judge).
pub fn rss_flat(samples: &[(Duration, u64)], warm_up: Duration) -> Option<Flat> {
    let mut after = samples.iter().filter(|(at, _)| *at >= warm_up);
    let &(baseline_at, baseline) = after.next()?;
    let max = after.map(|&(_, rss)| rss).max()?.max(baseline);
    Some(Flat {
        baseline,
        baseline_at,
        max,
        bound: baseline + baseline * RSS_GROWTH_PERCENT / 100 + RSS_SLACK,
    })
}

/// A process's resident memory in bytes, from `/proc/<pid>/status`.
///
/// # Errors
///
/// The file cannot be read (the process is gone), or has no `VmRSS` line.
pub fn read_rss(pid: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss(&status).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS line"))
}

/// The `VmRSS` of a `/proc/<pid>/status` text, in bytes.
fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    // The kernel has always written kB here; another unit would be misread.
    match fields.next()? {
        "kB" => value.checked_mul(1024),
        _ => None,
    }
}

/// A process's open file descriptors: the entries of `/proc/<pid>/fd`.
///
/// # Errors
///
/// The directory cannot be read.
pub fn count_fds(pid: u32) -> io::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        entry?;
        count += 1;
    }
    Ok(count)
}

/// Looks at the server and this process; a failed read is noted once per sample.
fn sample(server_pid: u32, start: Instant, ledger: &Ledger) -> Sample {
    let server = server_pid.to_string();
    let server_rss = read_rss(&server)
        .map_err(|error| ledger.fail(format!("reading the server's rss: {error}")))
        .ok();
    let server_fds = count_fds(server_pid)
        .map_err(|error| ledger.fail(format!("counting the server's fds: {error}")))
        .ok();
    let client_rss = read_rss("self")
        .map_err(|error| ledger.fail(format!("reading this process's rss: {error}")))
        .ok();
    Sample {
        at: start.elapsed(),
        server_rss,
        server_fds,
        client_rss,
    }
}

/// The server's descriptor count once it has stopped moving: the same in three
/// looks 100 ms apart, or the last look after two seconds.
async fn steady_fds(pid: u32) -> io::Result<usize> {
    let mut last = count_fds(pid)?;
    let mut same = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = count_fds(pid)?;
        same = if now == last { same + 1 } else { 0 };
        last = now;
        if same >= 2 {
            break;
        }
    }
    Ok(last)
}

/// The end of a wait for the server's descriptor count.
struct Settled {
    reached: bool,
    expected: usize,
    counted: usize,
}

/// Waits up to [`SETTLE`] for the server's descriptor count to equal `expected()`.
async fn settle_fds(pid: u32, expected: impl Fn() -> usize) -> Settled {
    let step = Duration::from_millis(100);
    let mut settled = Settled {
        reached: false,
        expected: 0,
        counted: 0,
    };
    for _ in 0..=SETTLE.as_millis() / step.as_millis() {
        settled.expected = expected();
        // A count that cannot be read never matches: the server is gone.
        settled.counted = count_fds(pid).unwrap_or(usize::MAX);
        if settled.counted == settled.expected {
            settled.reached = true;
            break;
        }
        tokio::time::sleep(step).await;
    }
    settled
}

/// Where a group's tasks make their calls.
#[derive(Clone)]
enum Source {
    Client(EchoClient),
    Pool(EchoPool),
}

/// Tasks sharing one client or pool, which the replacer swaps for a new one.
struct Group {
    /// The current source and its generation.
    current: Mutex<(u64, Source)>,
    /// The current generation, read without the lock on every call.
    generation: AtomicU64,
}

impl Group {
    fn new(source: Source) -> Self {
        Self {
            current: Mutex::new((0, source)),
            generation: AtomicU64::new(0),
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn snapshot(&self) -> (u64, Source) {
        // A panic elsewhere cannot leave the pair half-written.
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, source: Source) {
        let old = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            let generation = current.0 + 1;
            self.generation.store(generation, Ordering::Release);
            std::mem::replace(&mut *current, (generation, source))
        };
        // The old client closes once the tasks still using it move on and its
        // calls end; dropped outside the lock all the same.
        drop(old);
    }

    /// The server connections the current source holds open.
    fn live_connections(&self) -> usize {
        match self.snapshot().1 {
            Source::Client(client) => usize::from(!client.is_closed()),
            Source::Pool(pool) => pool.connected(),
        }
    }
}

/// What a task does besides calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Caller,
    /// Replaces the group's client or pool every so often.
    Replacer,
    /// Closes connections of its own under calls.
    Breaker,
}

/// What a call may end with besides a correct answer.
#[derive(Debug, Clone, Copy)]
struct Allowed {
    deadline: bool,
    close: bool,
}

impl Allowed {
    const NOTHING: Allowed = Allowed {
        deadline: false,
        close: false,
    };
    const DEADLINE: Allowed = Allowed {
        deadline: true,
        close: false,
    };
    const CLOSE: Allowed = Allowed {
        deadline: false,
        close: true,
    };
}

/// What a request's answer must carry.
#[derive(Debug, Clone)]
struct Expected {
    message: String,
    /// Sent as `nanotime`, unique per call, so an answer meant for another call
    /// shows.
    token: u64,
}

/// A call's end, before it is counted.
#[derive(Debug)]
struct Ended {
    outcome: Outcome,
    /// What went wrong, or for [`Outcome::Closed`] why the connection closed.
    detail: String,
}

impl Ended {
    fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            detail: String::new(),
        }
    }

    fn wrong(detail: String) -> Self {
        Self {
            outcome: Outcome::Wrong,
            detail,
        }
    }

    fn error(error: &Error, allowed: Allowed) -> Self {
        let outcome = match error {
            Error::Status(status) => match status.code() {
                StatusCode::DeadlineExceeded if allowed.deadline => Outcome::Deadline,
                StatusCode::DeadlineExceeded => Outcome::UnexpectedDeadline,
                StatusCode::Cancelled => Outcome::Cancelled,
                StatusCode::Internal => Outcome::Failed,
                StatusCode::Unavailable => Outcome::Unavailable,
                _ => Outcome::Other,
            },
            Error::ConnectionClosed(_) if allowed.close => Outcome::Closed,
            Error::ConnectionClosed(_) => Outcome::UnexpectedClose,
            Error::Io(_) => Outcome::Io,
            _ => Outcome::Other,
        };
        let detail = match error.close_reason() {
            Some(reason) if outcome == Outcome::Closed => reason.to_string(),
            _ => error.to_string(),
        };
        Self { outcome, detail }
    }
}

/// A call started and not yet counted as ended.
#[must_use = "a started call must be ended with Ledger::end"]
struct Ticket {
    started: Instant,
}

/// The run's counters, shared by every task.
#[derive(Default)]
struct Ledger {
    started: AtomicU64,
    ended: [AtomicU64; Outcome::COUNT],
    reconnects: AtomicU64,
    pool_replacements: AtomicU64,
    aborts: AtomicU64,
    closes: AtomicU64,
    /// Failures that are not calls: connects, pools, closes, samples.
    other_failures: AtomicU64,
    close_reasons: Mutex<BTreeMap<String, u64>>,
    notes: Mutex<(Vec<String>, u64)>,
}

impl Ledger {
    fn start(&self) -> Ticket {
        self.started.fetch_add(1, Ordering::Relaxed);
        Ticket {
            started: Instant::now(),
        }
    }

    /// Counts the call's end, and returns its latency.
    fn end(&self, ticket: Ticket, ended: &Ended, what: &str) -> Duration {
        let latency = ticket.started.elapsed();
        self.ended[ended.outcome as usize].fetch_add(1, Ordering::Relaxed);
        if ended.outcome == Outcome::Closed {
            let mut reasons = self
                .close_reasons
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *reasons.entry(ended.detail.clone()).or_default() += 1;
        } else if ended.outcome.is_failure() {
            self.note(format!(
                "{what} ended {} after {latency:?}: {}",
                ended.outcome.name(),
                ended.detail
            ));
        }
        latency
    }

    /// A failure that is not a call's.
    fn fail(&self, note: String) {
        self.other_failures.fetch_add(1, Ordering::Relaxed);
        self.note(note);
    }

    fn note(&self, note: String) {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        if notes.0.len() < MAX_NOTES {
            notes.0.push(note);
        } else {
            notes.1 += 1;
        }
    }

    fn counts(&self) -> Counts {
        let mut ended = [0; Outcome::COUNT];
        for (count, counter) in ended.iter_mut().zip(&self.ended) {
            *count = counter.load(Ordering::Relaxed);
        }
        Counts {
            started: self.started.load(Ordering::Relaxed),
            ended,
        }
    }

    fn events(&self) -> Events {
        Events {
            reconnects: self.reconnects.load(Ordering::Relaxed),
            pool_replacements: self.pool_replacements.load(Ordering::Relaxed),
            aborts: self.aborts.load(Ordering::Relaxed),
            closes: self.closes.load(Ordering::Relaxed),
        }
    }

    fn close_reasons(&self) -> BTreeMap<String, u64> {
        self.close_reasons
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn notes(&self) -> (Vec<String>, u64) {
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A task's latencies of correct answers, in nanoseconds.
struct Latency {
    unary: Histogram<u64>,
    stream: Histogram<u64>,
}

/// 1 ns to 100 s at 2 significant digits, as the load generator's.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 2).expect("valid histogram bounds")
}

fn percentiles(histogram: &Histogram<u64>) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        p50: histogram.value_at_quantile(0.5),
        p99: histogram.value_at_quantile(0.99),
        p999: histogram.value_at_quantile(0.999),
        max: histogram.max(),
    }
}

/// Which histogram a correct answer goes into.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Unary,
    Stream,
}

/// A call of a breaker's burst, run alongside the others.
type BurstCall = Pin<Box<dyn Future<Output = (Ticket, Kind, Ended)> + Send>>;

/// How a breaker's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// It ended before it was told to: the server closed it.
    Alone,
    /// Closed gracefully within [`CLOSE_TIMEOUT`].
    Closed,
    /// Told to close, and still open after [`CLOSE_TIMEOUT`].
    Stalled,
}

type EchoConnection = ClientConnection<EndpointStream, ProstCodec<Request, Response>>;

/// Runs a breaker's connection until `stop`, then closes it gracefully.
async fn run_until_stopped(mut connection: EchoConnection, stop: oneshot::Receiver<()>) -> Ending {
    tokio::select! {
        () = &mut connection => return Ending::Alone,
        _ = stop => {}
    }
    if let Some(inner) = connection.connection_mut() {
        inner.close();
    }
    match timeout(CLOSE_TIMEOUT, connection).await {
        Ok(()) => Ending::Closed,
        Err(_) => Ending::Stalled,
    }
}

/// SplitMix64: small, seedable, and plenty to pick actions with.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }
}

/// One load task.
struct Worker {
    task: u64,
    role: Role,
    rng: Rng,
    /// Calls made, for unique messages and tokens.
    serial: u64,
    alphabet: Vec<char>,
    ledger: Arc<Ledger>,
    latency: Latency,
    load_end: Instant,
}

impl Worker {
    fn new(task: u64, role: Role, seed: u64, ledger: Arc<Ledger>, load_end: Instant) -> Self {
        let mut rng = Rng(seed ^ task.wrapping_mul(0xA24B_AED4_963E_E407));
        // Mixes the seed in, so tasks with nearby seeds do not start alike.
        rng.next_u64();
        Self {
            task,
            role,
            rng,
            serial: 0,
            alphabet: ALPHABET.chars().collect(),
            ledger,
            latency: Latency {
                unary: new_histogram(),
                stream: new_histogram(),
            },
            load_end,
        }
    }

    async fn run(
        mut self,
        group: Arc<Group>,
        endpoint: Endpoint,
        config: RpcClientConfig,
    ) -> Latency {
        let (mut generation, mut source) = group.snapshot();
        let mut next_replace = Instant::now() + self.replace_pause();
        while Instant::now() < self.load_end {
            match self.role {
                Role::Breaker => {
                    self.break_connection(&endpoint, &config).await;
                    continue;
                }
                Role::Replacer if Instant::now() >= next_replace => {
                    self.replace(&group, &endpoint, &config).await;
                    next_replace = Instant::now() + self.replace_pause();
                }
                Role::Replacer | Role::Caller => {}
            }
            if group.generation() != generation {
                (generation, source) = group.snapshot();
            }
            match &source {
                Source::Client(client) => self.call(client).await,
                Source::Pool(pool) => match timeout(CONNECT_TIMEOUT, pool.client()).await {
                    Ok(Ok(client)) => self.call(&client).await,
                    Ok(Err(error)) => {
                        self.pool_failed(format!("no client from the pool: {error}"))
                            .await
                    }
                    Err(_) => {
                        self.pool_failed(format!(
                            "no client from the pool within {CONNECT_TIMEOUT:?}"
                        ))
                        .await
                    }
                },
            }
        }
        self.latency
    }

    /// Notes a pool that gave no client, and pauses so a pool that keeps failing
    /// fast does not spin this task.
    async fn pool_failed(&mut self, note: String) {
        self.ledger.fail(note);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    fn replace_pause(&mut self) -> Duration {
        Duration::from_millis(200 + self.rng.below(800))
    }

    /// Swaps the group's client for a newly connected one, or its pool for a new
    /// pool. Calls on the old one go on; none of them may fail for it.
    async fn replace(&mut self, group: &Group, endpoint: &Endpoint, config: &RpcClientConfig) {
        match group.snapshot().1 {
            Source::Client(_) => match connect(endpoint, config).await {
                Ok(client) => {
                    group.replace(Source::Client(client));
                    self.ledger.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => self.ledger.fail(format!("replacing a client: {error}")),
            },
            Source::Pool(_) => {
                group.replace(Source::Pool(new_pool(endpoint, config)));
                self.ledger
                    .pool_replacements
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// One action on `client`, picked at random.
    async fn call(&mut self, client: &EchoClient) {
        match self.rng.below(100) {
            0..35 => self.unary(client, None, Allowed::NOTHING).await,
            35..45 => {
                self.unary(client, Some(LONG_DEADLINE), Allowed::NOTHING)
                    .await
            }
            45..60 => {
                let deadline = self.short_deadline();
                self.unary(client, Some(deadline), Allowed::DEADLINE).await;
            }
            60..70 => self.dropped_unaries(client).await,
            70..82 => self.stream(client, None, Allowed::NOTHING, false).await,
            82..87 => {
                let deadline = self.short_deadline();
                self.stream(client, Some(deadline), Allowed::DEADLINE, false)
                    .await;
            }
            _ => self.stream(client, None, Allowed::NOTHING, true).await,
        }
    }

    fn short_deadline(&mut self) -> Duration {
        Duration::from_micros(self.rng.below(SHORT_DEADLINE_MICROS + 1))
    }

    /// A request for `behavior` with a fresh message and token.
    fn echo(&mut self, behavior: ResponseBehavior) -> (Request, Expected) {
        self.serial += 1;
        let token = (self.task << 40) | (self.serial & ((1 << 40) - 1));
        let message = match behavior {
            // The task and serial make the message unique; the tail varies its size.
            ResponseBehavior::Unary => {
                let tail = self.rng.below(64) as usize;
                let mut message = format!("{}:{}:", self.task, self.serial);
                message.extend((0..tail).map(|_| self.character()));
                message
            }
            // One item per character: 1 to 24 items.
            ResponseBehavior::Stream => {
                let len = 1 + self.rng.below(24) as usize;
                (0..len).map(|_| self.character()).collect()
            }
        };
        let request = Request::echo(message.clone(), token, behavior);
        (request, Expected { message, token })
    }

    fn character(&mut self) -> char {
        let index = self.rng.below(self.alphabet.len() as u64) as usize;
        self.alphabet.get(index).copied().unwrap_or('a')
    }

    /// Counts a call's end, and its latency if it was answered correctly.
    fn end(&mut self, ticket: Ticket, kind: Kind, ended: &Ended, what: &str) {
        let latency = self.ledger.end(ticket, ended, what);
        if ended.outcome == Outcome::Ok {
            let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
            let histogram = match kind {
                Kind::Unary => &mut self.latency.unary,
                Kind::Stream => &mut self.latency.stream,
            };
            histogram.saturating_record(nanos);
        }
    }

    async fn unary(&mut self, client: &EchoClient, deadline: Option<Duration>, allowed: Allowed) {
        let (request, expected) = self.echo(ResponseBehavior::Unary);
        let ticket = self.ledger.start();
        let call = client.send_unary_with_deadline(request, deadline);
        let ended = finish_unary(call, &expected, allowed).await;
        self.end(ticket, Kind::Unary, &ended, "unary call");
    }

    /// A burst of 1–4 unary calls, each dropped before it is answered: unpolled,
    /// or after one poll (taking the answer if it is already there), or after a
    /// wait of up to 1.5 ms.
    async fn dropped_unaries(&mut self, client: &EchoClient) {
        let count = 1 + self.rng.below(4);
        let mut calls = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let (request, expected) = self.echo(ResponseBehavior::Unary);
            let ticket = self.ledger.start();
            calls.push((client.send_unary(request), expected, ticket));
        }
        let mode = self.rng.below(3);
        if mode == 1 {
            // Gives the connection a turn to send the burst (and maybe hear back).
            tokio::task::yield_now().await;
        }
        for (mut call, expected, ticket) in calls {
            let ended = match mode {
                0 => Ended::new(Outcome::Dropped),
                1 => match futures::poll!(&mut call) {
                    Poll::Ready(result) => judge_unary(result, &expected, Allowed::NOTHING),
                    Poll::Pending => Ended::new(Outcome::Dropped),
                },
                _ => {
                    let wait = Duration::from_micros(self.rng.below(1_500));
                    match timeout(wait, &mut call).await {
                        Ok(result) => judge_unary(result, &expected, Allowed::NOTHING),
                        Err(_) => Ended::new(Outcome::Dropped),
                    }
                }
            };
            // Dropping an unfinished call is the cancellation under test.
            drop(call);
            self.end(ticket, Kind::Unary, &ended, "dropped unary call");
        }
    }

    /// A stream read to its end, or with `part_way` dropped after a random number
    /// of its items.
    async fn stream(
        &mut self,
        client: &EchoClient,
        deadline: Option<Duration>,
        allowed: Allowed,
        part_way: bool,
    ) {
        let (request, expected) = self.echo(ResponseBehavior::Stream);
        let stop_after =
            part_way.then(|| self.rng.below(expected.message.chars().count() as u64) as usize);
        let ticket = self.ledger.start();
        let stream = client.send_streaming_with_deadline(request, deadline);
        let ended = finish_stream(stream, &expected, allowed, stop_after).await;
        let what = if part_way {
            "stream dropped part-way"
        } else {
            "stream"
        };
        self.end(ticket, Kind::Stream, &ended, what);
    }

    /// Opens a connection of its own, starts 1–8 calls on it, and within 3 ms
    /// aborts the connection's task or closes it gracefully. Every call must end,
    /// answered or with the connection's close; a call made afterwards must fail
    /// at once with it.
    async fn break_connection(&mut self, endpoint: &Endpoint, config: &RpcClientConfig) {
        let stream = match timeout(
            CONNECT_TIMEOUT,
            endpoint.connect(config.get_socket_options()),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                self.ledger.fail(format!("breaker connecting: {error}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
                return;
            }
            Err(_) => {
                self.ledger
                    .fail(format!("breaker connecting: over {CONNECT_TIMEOUT:?}"));
                return;
            }
        };
        let (client, connection) =
            EchoClient::over_stream(stream, protosocket_prost::codec(), config);
        let (stop, stopped) = oneshot::channel();
        let runner = tokio::spawn(run_until_stopped(connection, stopped));
        let abort = self.rng.below(2) == 0;

        let count = 1 + self.rng.below(8);
        let mut calls: Vec<BurstCall> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            if self.rng.below(3) == 0 {
                let (request, expected) = self.echo(ResponseBehavior::Stream);
                let ticket = self.ledger.start();
                let stream = client.send_streaming(request);
                calls.push(Box::pin(async move {
                    let ended = finish_stream(stream, &expected, Allowed::CLOSE, None).await;
                    (ticket, Kind::Stream, ended)
                }));
            } else {
                let (request, expected) = self.echo(ResponseBehavior::Unary);
                let ticket = self.ledger.start();
                let call = client.send_unary(request);
                calls.push(Box::pin(async move {
                    let ended = finish_unary(call, &expected, Allowed::CLOSE).await;
                    (ticket, Kind::Unary, ended)
                }));
            }
        }
        let wait = Duration::from_micros(self.rng.below(3_000));
        let killer = runner.abort_handle();
        let kill = async move {
            tokio::time::sleep(wait).await;
            if abort {
                killer.abort();
            } else {
                // An error means the runner has already ended, which it reports.
                let _ = stop.send(());
            }
        };
        let (ended, ()) = tokio::join!(futures::future::join_all(calls), kill);
        for (ticket, kind, ended) in ended {
            self.end(ticket, kind, &ended, "call on a connection closed under it");
        }

        match timeout(CLOSE_TIMEOUT + Duration::from_secs(1), runner).await {
            Ok(Ok(Ending::Closed)) => {
                self.ledger.closes.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok(Ending::Alone)) => self
                .ledger
                .fail("a breaker's connection ended before it was closed".to_string()),
            Ok(Ok(Ending::Stalled)) => self.ledger.fail(format!(
                "a breaker's connection did not finish closing within {CLOSE_TIMEOUT:?}"
            )),
            Ok(Err(error)) if error.is_cancelled() && abort => {
                self.ledger.aborts.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(error)) => self
                .ledger
                .fail(format!("a breaker's connection task failed: {error}")),
            Err(_) => self
                .ledger
                .fail("a breaker's connection task did not end".to_string()),
        }

        // The connection is gone: a new call must end at once, with its close.
        let (request, expected) = self.echo(ResponseBehavior::Unary);
        let ticket = self.ledger.start();
        let call = client.send_unary(request);
        let ended = match finish_unary(call, &expected, Allowed::CLOSE).await {
            ended if ended.outcome == Outcome::Closed => ended,
            ended => Ended::wrong(format!(
                "a call on a closed connection ended {}, not with the close ({})",
                ended.outcome.name(),
                ended.detail
            )),
        };
        self.end(
            ticket,
            Kind::Unary,
            &ended,
            "call after its connection closed",
        );
        drop(client);
        // Paces the connection churn: each cycle leaves a socket in TIME_WAIT.
        tokio::time::sleep(Duration::from_millis(5 + self.rng.below(25))).await;
    }
}

/// Awaits a unary call, at most [`WATCHDOG`], and judges its outcome.
async fn finish_unary(
    call: UnaryCompletion<Request, Response>,
    expected: &Expected,
    allowed: Allowed,
) -> Ended {
    match timeout(WATCHDOG, call).await {
        Ok(result) => judge_unary(result, expected, allowed),
        Err(_) => Ended {
            outcome: Outcome::Hung,
            detail: format!("no outcome within {WATCHDOG:?}"),
        },
    }
}

fn judge_unary(result: Result<Response, Error>, expected: &Expected, allowed: Allowed) -> Ended {
    match result {
        Ok(Response {
            kind: Some(response::Kind::Echo(echo)),
            ..
        }) if echo.message == expected.message && echo.nanotime == expected.token => {
            Ended::new(Outcome::Ok)
        }
        Ok(other) => Ended::wrong(format!(
            "answer {other:?} to message {:?} with token {}",
            expected.message, expected.token
        )),
        Err(error) => Ended::error(&error, allowed),
    }
}

/// Reads a stream, at most [`WATCHDOG`], checking each item: to its end, or with
/// `stop_after` until that many items have come (then the caller drops it).
async fn finish_stream(
    mut stream: StreamingCompletion<Request, Response>,
    expected: &Expected,
    allowed: Allowed,
    stop_after: Option<usize>,
) -> Ended {
    match timeout(
        WATCHDOG,
        read_stream(&mut stream, expected, allowed, stop_after),
    )
    .await
    {
        Ok(ended) => ended,
        Err(_) => Ended {
            outcome: Outcome::Hung,
            detail: format!("no end within {WATCHDOG:?}"),
        },
    }
}

async fn read_stream(
    stream: &mut StreamingCompletion<Request, Response>,
    expected: &Expected,
    allowed: Allowed,
    stop_after: Option<usize>,
) -> Ended {
    let characters: Vec<char> = expected.message.chars().collect();
    // Each turn takes one item, and the turn after the last character must see
    // the end: every arm of that turn returns.
    for position in 0..=characters.len() {
        if stop_after == Some(position) {
            return Ended::new(Outcome::Dropped);
        }
        match stream.next().await {
            Some(Ok(item)) => {
                let Some(&character) = characters.get(position) else {
                    return Ended::wrong(format!("item {item:?} after the last character"));
                };
                if !is_item(&item, character, position, expected.token) {
                    return Ended::wrong(format!(
                        "item {item:?} where {character:?} at {position} was due"
                    ));
                }
            }
            Some(Err(error)) => {
                // The error is the stream's last item.
                if let Some(Some(after)) = stream.next().now_or_never() {
                    return Ended::wrong(format!("{after:?} after the error {error}"));
                }
                return Ended::error(&error, allowed);
            }
            None if position == characters.len() => {
                // The stream is fused: its end stays its end.
                return match stream.next().now_or_never() {
                    Some(None) => Ended::new(Outcome::Ok),
                    Some(Some(after)) => Ended::wrong(format!("{after:?} after the end")),
                    None => Ended::wrong("pending after its end".to_string()),
                };
            }
            None => {
                return Ended::wrong(format!(
                    "ended after {position} of {} items",
                    characters.len()
                ))
            }
        }
    }
    Ended::wrong("read past its end".to_string())
}

/// Whether `item` is the stream item for `character` at `position`.
fn is_item(item: &Response, character: char, position: usize, token: u64) -> bool {
    matches!(
        &item.kind,
        Some(response::Kind::Stream(stream))
            if stream.sequence == position as u64
                && stream.nanotime == token
                && stream.message.chars().eq(std::iter::once(character))
    )
}

/// Bytes printed in MiB, or `?` when unknown.
struct Mib(Option<u64>);

impl fmt::Display for Mib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => write!(f, "{:.1} MiB", bytes as f64 / f64::from(1 << 20)),
            None => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protosocket_rpc::Status;

    #[test]
    fn rss_is_read_in_bytes_from_the_status_text() {
        let status = "Name:\techo\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Some(1234 * 1024));
        assert_eq!(parse_rss("VmRSS:\t12 MB\n"), None);
        assert_eq!(parse_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_rss_and_descriptors() {
        assert!(read_rss("self").is_ok_and(|rss| rss > 0));
        assert!(count_fds(std::process::id()).is_ok_and(|fds| fds >= 3));
    }

    #[test]
    fn rss_baseline_is_the_first_sample_after_warm_up() {
        let mib = 1 << 20;
        let samples: Vec<(Duration, u64)> = [5, 40, 40, 41, 60]
            .iter()
            .enumerate()
            .map(|(second, &rss)| (Duration::from_secs(second as u64), rss * mib))
            .collect();
        let flat = rss_flat(&samples, Duration::from_secs(1));
        assert_eq!(
            flat,
            Some(Flat {
                baseline: 40 * mib,
                baseline_at: Duration::from_secs(1),
                max: 60 * mib,
                bound: 40 * mib + 20 * mib + RSS_SLACK,
            })
        );
        assert_eq!(rss_flat(&samples, Duration::from_secs(4)), None);
    }

    #[test]
    fn only_allowed_errors_pass() {
        let close = Error::ConnectionClosed(protosocket::CloseReason::Dropped);
        assert_eq!(
            Ended::error(&close, Allowed::CLOSE).outcome,
            Outcome::Closed
        );
        assert_eq!(
            Ended::error(&close, Allowed::NOTHING).outcome,
            Outcome::UnexpectedClose
        );
        let deadline = Error::Status(Status::deadline_exceeded("test"));
        assert_eq!(
            Ended::error(&deadline, Allowed::DEADLINE).outcome,
            Outcome::Deadline
        );
        assert!(Ended::error(&deadline, Allowed::CLOSE).outcome.is_failure());
        assert!(
            Ended::error(&Error::Status(Status::internal("test")), Allowed::CLOSE)
                .outcome
                .is_failure()
        );
    }

    #[test]
    fn outcomes_are_listed_in_counter_order() {
        for (index, outcome) in Outcome::ALL.iter().enumerate() {
            assert_eq!(*outcome as usize, index);
        }
    }

    #[test]
    fn stream_items_match_by_position_character_and_token() {
        let item = |sequence, message: &str, nanotime| Response {
            request_id: 1,
            code: 0,
            kind: Some(response::Kind::Stream(crate::EchoStream {
                message: message.to_string(),
                nanotime,
                sequence,
            })),
        };
        assert!(is_item(&item(2, "☃", 7), '☃', 2, 7));
        assert!(!is_item(&item(1, "☃", 7), '☃', 2, 7));
        assert!(!is_item(&item(2, "☃☃", 7), '☃', 2, 7));
        assert!(!is_item(&item(2, "☃", 8), '☃', 2, 7));
    }

    #[test]
    fn rng_stays_below_its_bound() {
        let mut rng = Rng(3);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
    }
}
