//! The closed-loop load generator: `connections × concurrency` tasks, each sending
//! one request, awaiting its whole answer, checking it, and sending the next, until
//! the duration is over. Latencies go into per-task histograms that a reporter
//! drains once a second into that second's line and the run's total.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use hdrhistogram::Histogram;
use protosocket::Endpoint;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::Error;

use crate::schema::{response, Request, Response, ResponseBehavior};

/// A client of the echo service.
pub type EchoClient = RpcClient<Request, Response>;

/// How much load to generate.
///
/// | field | default |
/// |---|---|
/// | `connections` | 2 |
/// | `concurrency` | 64 per connection |
/// | `duration` | 10 s |
/// | `payload` | 32 bytes (unary message length) |
/// | `stream_percent` | 0 |
/// | `stream_payload` | 8 characters (one stream item each) |
/// | `call_deadline` | 5 s |
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// TCP connections to open.
    pub connections: usize,
    /// Tasks per connection, each with one request in flight at a time.
    pub concurrency: usize,
    /// How long tasks keep starting requests.
    pub duration: Duration,
    /// Message length of unary requests, in bytes.
    pub payload: usize,
    /// Percentage (0 to 100) of requests that are streaming.
    pub stream_percent: u32,
    /// Message length of streaming requests: the number of items each returns.
    pub stream_payload: usize,
    /// Deadline of each call; a call past it counts as an error.
    pub call_deadline: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            connections: 2,
            concurrency: 64,
            duration: Duration::from_secs(10),
            payload: 32,
            stream_percent: 0,
            stream_payload: 8,
            call_deadline: Duration::from_secs(5),
        }
    }
}

/// Latency percentiles of a set of calls, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// The slowest call.
    pub max: u64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            p50: histogram.value_at_quantile(0.5),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {}  p99 {}  p99.9 {}  max {}",
            Nanos(self.p50),
            Nanos(self.p99),
            Nanos(self.p999),
            Nanos(self.max)
        )
    }
}

/// One second of a run, as [`run_load_with_progress`] reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second {
    /// Seconds since the run started, at the end of this interval.
    pub at: u64,
    /// Calls completed in this interval, errors included.
    pub requests: u64,
    /// Calls that failed or answered wrongly in this interval.
    pub errors: u64,
    /// Calls per second over the interval's measured length.
    pub rate: f64,
    /// Latencies of the calls that succeeded.
    pub latency: Percentiles,
}

impl fmt::Display for Second {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s  rate {:.0}/s  {}", self.at, self.rate, self.latency)?;
        if self.errors > 0 {
            write!(f, "  errors {}", self.errors)?;
        }
        Ok(())
    }
}

/// The result of a whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Calls completed, errors included.
    pub requests: u64,
    /// Of those, streaming calls.
    pub streams: u64,
    /// Calls that failed or answered wrongly.
    pub errors: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Calls per second over `elapsed`.
    pub rate: f64,
    /// Latencies of the calls that succeeded.
    pub latency: Percentiles,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "summary: {} requests ({} unary, {} streaming), {} errors in {:.2}s",
            self.requests,
            self.requests - self.streams,
            self.streams,
            self.errors,
            self.elapsed.as_secs_f64()
        )?;
        write!(f, "         rate {:.0}/s  {}", self.rate, self.latency)
    }
}

/// A latency in nanoseconds, printed in the unit that suits it.
struct Nanos(u64);

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0;
        match nanos {
            0..1_000 => write!(f, "{nanos}ns"),
            1_000..10_000 => write!(f, "{:.1}us", nanos as f64 / 1e3),
            10_000..1_000_000 => write!(f, "{}us", nanos / 1_000),
            1_000_000..1_000_000_000 => write!(f, "{:.1}ms", nanos as f64 / 1e6),
            _ => write!(f, "{:.2}s", nanos as f64 / 1e9),
        }
    }
}

/// What a task has recorded since the reporter last drained it.
struct Tally {
    latency: Histogram<u64>,
    errors: u64,
    streams: u64,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency: new_histogram(),
            errors: 0,
            streams: 0,
        }
    }

    fn requests(&self) -> u64 {
        self.latency.len() + self.errors
    }

    /// Adds `other` into `self` and empties `other`.
    fn drain_from(&mut self, other: &mut Tally) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.errors += other.errors;
        self.streams += other.streams;
        other.latency.reset();
        other.errors = 0;
        other.streams = 0;
    }
}

/// 1 ns to 100 s at 2 significant digits: about 30 KiB, small enough for one
/// per task; a slower call is recorded as 100 s.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 2).expect("valid histogram bounds")
}

/// Runs the load against the echo server at `endpoint` and returns the summary.
///
/// # Errors
///
/// [`Error::Io`] when a connection cannot be opened. Failed calls are counted in
/// the summary, not returned.
pub async fn run_load(
    endpoint: impl Into<Endpoint>,
    config: &LoadConfig,
) -> Result<Summary, Error> {
    run_load_with_progress(endpoint, config, |_| {}).await
}

/// As [`run_load`], calling `progress` at the end of each second of the run.
///
/// # Errors
///
/// As [`run_load`].
pub async fn run_load_with_progress(
    endpoint: impl Into<Endpoint>,
    config: &LoadConfig,
    mut progress: impl FnMut(&Second),
) -> Result<Summary, Error> {
    let endpoint = endpoint.into();
    let client_config = RpcClientConfig::default();
    let mut clients = Vec::with_capacity(config.connections);
    for _ in 0..config.connections.max(1) {
        let client =
            RpcClient::connect(endpoint.clone(), protosocket_prost::codec(), &client_config)
                .await?;
        clients.push(client);
    }

    let start = Instant::now();
    let deadline = start + config.duration;
    let mut tallies = Vec::new();
    let mut workers = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        for t in 0..config.concurrency.max(1) {
            let tally = Arc::new(Mutex::new(Tally::new()));
            tallies.push(Arc::clone(&tally));
            let worker = Worker {
                client: client.clone(),
                config: config.clone(),
                tally,
                // Spread the streaming requests over the tasks' first calls.
                mix: ((c * config.concurrency + t) * 37 % 100) as u32,
            };
            workers.push(tokio::spawn(worker.run(deadline)));
        }
    }
    drop(clients);

    let mut total = Tally::new();
    let mut second = Tally::new();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::from_std(start) + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut last_tick = start;
    let mut all_done = std::pin::pin!(futures::future::join_all(workers));
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                report(&tallies, &mut second, start, last_tick, now, &mut progress);
                total.drain_from(&mut second);
                last_tick = now;
            }
            _ = &mut all_done => break,
        }
    }
    let now = Instant::now();
    // The run's end races the last tick: report the last second if it lost, and
    // fold a tail of stragglers into the total without a line of its own.
    if now - last_tick >= Duration::from_millis(500) {
        report(&tallies, &mut second, start, last_tick, now, &mut progress);
    }
    total.drain_from(&mut second);
    let elapsed = now - start;
    drain(&tallies, &mut total);
    let requests = total.requests();
    Ok(Summary {
        requests,
        streams: total.streams,
        errors: total.errors,
        elapsed,
        rate: requests as f64 / elapsed.as_secs_f64(),
        latency: Percentiles::of(&total.latency),
    })
}

/// Drains the tasks' tallies into `second` and reports the interval
/// `from..now`.
fn report(
    tallies: &[Arc<Mutex<Tally>>],
    second: &mut Tally,
    start: Instant,
    from: Instant,
    now: Instant,
    progress: &mut impl FnMut(&Second),
) {
    drain(tallies, second);
    let requests = second.requests();
    progress(&Second {
        at: (now - start).as_secs_f64().round() as u64,
        requests,
        errors: second.errors,
        rate: requests as f64 / (now - from).as_secs_f64(),
        latency: Percentiles::of(&second.latency),
    });
}

fn drain(tallies: &[Arc<Mutex<Tally>>], into: &mut Tally) {
    for tally in tallies {
        let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
        into.drain_from(&mut tally);
    }
}

/// One closed-loop task.
struct Worker {
    client: EchoClient,
    config: LoadConfig,
    tally: Arc<Mutex<Tally>>,
    /// Accumulates `stream_percent` per call; a call that carries it past 100 is a
    /// stream, so the mix is exact over every 100 calls of a task.
    mix: u32,
}

impl Worker {
    async fn run(mut self, deadline: Instant) {
        let unary_message = payload(self.config.payload);
        let stream_message = payload(self.config.stream_payload);
        while Instant::now() < deadline {
            self.mix += self.config.stream_percent.min(100);
            let stream = self.mix >= 100;
            if stream {
                self.mix -= 100;
            }
            let started = Instant::now();
            let ok = if stream {
                self.stream_call(&stream_message).await
            } else {
                self.unary_call(&unary_message).await
            };
            let latency = started.elapsed().as_nanos() as u64;
            let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
            if ok {
                tally.latency.saturating_record(latency.max(1));
            } else {
                tally.errors += 1;
            }
            if stream {
                tally.streams += 1;
            }
        }
    }

    /// Whether the call succeeded with exactly the echo of `message`.
    async fn unary_call(&self, message: &str) -> bool {
        let nanotime = nanotime();
        let request = Request::echo(message, nanotime, ResponseBehavior::Unary);
        let call = self
            .client
            .send_unary_with_deadline(request, Some(self.config.call_deadline));
        match call.await {
            Ok(Response {
                kind: Some(response::Kind::Echo(echo)),
                ..
            }) => echo.message == message && echo.nanotime == nanotime,
            Ok(other) => {
                tracing::warn!(?other, "wrong unary answer");
                false
            }
            Err(error) => {
                tracing::warn!(%error, "unary call failed");
                false
            }
        }
    }

    /// Whether the call succeeded with one item per character of `message`, in
    /// order, then the end of the stream.
    async fn stream_call(&self, message: &str) -> bool {
        let nanotime = nanotime();
        let request = Request::echo(message, nanotime, ResponseBehavior::Stream);
        let mut stream = self
            .client
            .send_streaming_with_deadline(request, Some(self.config.call_deadline));
        let mut expected = message.chars().enumerate();
        let mut ok = true;
        while let Some(item) = stream.next().await {
            match item {
                Ok(Response {
                    kind: Some(response::Kind::Stream(item)),
                    ..
                }) => {
                    let matches = expected.next().is_some_and(|(sequence, character)| {
                        item.sequence == sequence as u64
                            && item.nanotime == nanotime
                            && item.message.chars().eq(std::iter::once(character))
                    });
                    if !matches {
                        tracing::warn!(?item, "wrong stream item");
                        ok = false;
                    }
                }
                Ok(other) => {
                    tracing::warn!(?other, "wrong stream answer");
                    ok = false;
                }
                Err(error) => {
                    tracing::warn!(%error, "stream call failed");
                    return false;
                }
            }
        }
        if expected.next().is_some() {
            tracing::warn!("stream ended early");
            ok = false;
        }
        ok
    }
}

/// `len` bytes of printable ASCII.
fn payload(len: usize) -> String {
    (b'a'..=b'z').cycle().take(len).map(char::from).collect()
}

/// Nanoseconds since the Unix epoch, for the echoed `nanotime` field.
fn nanotime() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_print_in_a_fitting_unit() {
        let shown = [999, 1_500, 12_345, 1_234_567, 2_500_000_000].map(|n| Nanos(n).to_string());
        assert_eq!(shown, ["999ns", "1.5us", "12us", "1.2ms", "2.50s"]);
    }

    #[test]
    fn payload_has_the_requested_length() {
        assert_eq!(payload(0), "");
        assert_eq!(payload(30).len(), 30);
        assert_eq!(&payload(28)[24..], "yzab");
    }
}
