//! The checking client: alternates unary and streaming calls and verifies every
//! answer, character by character.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use protosocket_messagepack::MessagePackCodec;
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::{ControlCode, Error, Message};

use crate::messages::{Request, Response, ResponseBehavior, ResponseKind};

/// The codec of the client side: sends [`Request`], receives [`Response`].
pub type ClientCodec = MessagePackCodec<Request, Response>;

/// A client of the echo service.
pub type EchoClient = RpcClient<Request, Response>;

/// How many failures a [`Summary`] describes in words; the rest are only counted.
const DESCRIBED_FAILURES: usize = 8;

/// Connects to the echo server at `address` and spawns the connection on the
/// current tokio runtime.
///
/// # Errors
///
/// [`Error::Io`] when connecting fails.
pub async fn connect(
    address: impl Into<protosocket::Endpoint>,
    config: &RpcClientConfig,
) -> Result<EchoClient, Error> {
    let client = RpcClient::connect(address, protosocket_messagepack::codec(), config).await?;
    Ok(client)
}

/// When [`run_alternating`] stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this many iterations (one call each, alternating unary and streaming).
    Iterations(u64),
    /// At the first iteration boundary after this long.
    Duration(Duration),
}

/// What a run of [`run_alternating`] saw.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Iterations run (one call each).
    pub iterations: u64,
    /// Unary calls answered correctly.
    pub unary_ok: u64,
    /// Streaming calls whose every item arrived correctly, then `End`.
    pub streaming_ok: u64,
    /// Stream items checked and found correct.
    pub streamed_items: u64,
    /// Answers that arrived but were wrong (content, order, count or kind).
    pub mismatches: u64,
    /// Calls that failed (cancelled, deadline, connection closed).
    pub errors: u64,
    /// The first few failures, described.
    pub failures: Vec<String>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Summary {
    /// Whether every call succeeded and every answer matched.
    pub fn is_clean(&self) -> bool {
        self.mismatches == 0 && self.errors == 0
    }

    fn mismatch(&mut self, description: String) {
        self.mismatches += 1;
        self.describe(description);
    }

    fn error(&mut self, description: String) {
        self.errors += 1;
        self.describe(description);
    }

    fn describe(&mut self, description: String) {
        tracing::warn!("{description}");
        if self.failures.len() < DESCRIBED_FAILURES {
            self.failures.push(description);
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            self.iterations as f64 / seconds
        } else {
            0.0
        };
        writeln!(
            f,
            "iterations: {} in {:.3}s ({:.0} calls/s)",
            self.iterations, seconds, rate
        )?;
        writeln!(f, "unary calls ok: {}", self.unary_ok)?;
        writeln!(
            f,
            "streaming calls ok: {} ({} items checked)",
            self.streaming_ok, self.streamed_items
        )?;
        write!(
            f,
            "mismatches: {}, errors: {}",
            self.mismatches, self.errors
        )?;
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

/// The message of iteration `iteration`: varying lengths, with multi-byte
/// characters so the server must split by character, not by byte.
pub fn message_for(iteration: u64) -> String {
    const TAIL: &str = "héllo ✓ wörld";
    let take = (iteration % (TAIL.chars().count() as u64 + 1)) as usize;
    let tail: String = TAIL.chars().take(take).collect();
    format!("{iteration}:{tail}")
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn nanotime() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// Runs calls on `client` until `limit`, even iterations unary and odd ones
/// streaming, each bounded by `call_deadline`, checking every answer.
pub async fn run_alternating(
    client: &EchoClient,
    limit: Limit,
    call_deadline: Duration,
) -> Summary {
    let mut summary = Summary::default();
    let start = Instant::now();
    let mut iteration = 0;
    loop {
        match limit {
            Limit::Iterations(count) if iteration >= count => break,
            Limit::Duration(duration) if start.elapsed() >= duration => break,
            _ => {}
        }
        if iteration % 2 == 0 {
            check_unary(client, iteration, call_deadline, &mut summary).await;
        } else {
            check_streaming(client, iteration, call_deadline, &mut summary).await;
        }
        iteration += 1;
    }
    summary.iterations = iteration;
    summary.elapsed = start.elapsed();
    summary
}

async fn check_unary(
    client: &EchoClient,
    iteration: u64,
    deadline: Duration,
    summary: &mut Summary,
) {
    let message = message_for(iteration);
    let sent_at = nanotime();
    let request = Request::echo(message.clone(), sent_at, ResponseBehavior::Unary);
    let response = match client
        .send_unary_with_deadline(request, Some(deadline))
        .await
    {
        Ok(response) => response,
        Err(error) => {
            summary.error(format!("unary {iteration}: {error}"));
            return;
        }
    };
    if response.control_code() != ControlCode::Normal {
        summary.mismatch(format!("unary {iteration}: control code {}", response.code));
        return;
    }
    match response.kind {
        Some(ResponseKind::Echo(echo)) if echo.message == message && echo.nanotime == sent_at => {
            summary.unary_ok += 1;
        }
        other => summary.mismatch(format!(
            "unary {iteration}: sent {message:?} at {sent_at}, got {other:?}"
        )),
    }
}

async fn check_streaming(
    client: &EchoClient,
    iteration: u64,
    deadline: Duration,
    summary: &mut Summary,
) {
    let message = message_for(iteration);
    let sent_at = nanotime();
    let request = Request::echo(message.clone(), sent_at, ResponseBehavior::Stream);
    let mut stream = client.send_streaming_with_deadline(request, Some(deadline));
    let mut expected = message.chars();
    let mut sequence = 0_u64;
    let mut good_items = 0;
    // `None` from the stream means the server sent `End`.
    while let Some(item) = stream.next().await {
        let response = match item {
            Ok(response) => response,
            Err(error) => {
                summary.streamed_items += good_items;
                summary.error(format!(
                    "stream {iteration}: {error} after {sequence} items"
                ));
                return;
            }
        };
        let want = expected.next();
        let matches = response.control_code() == ControlCode::Normal
            && match (&response.kind, want) {
                (Some(ResponseKind::Stream(item)), Some(character)) => {
                    item.sequence == sequence
                        && item.nanotime == sent_at
                        && item.message.chars().eq(std::iter::once(character))
                }
                _ => false,
            };
        if !matches {
            summary.streamed_items += good_items;
            summary.mismatch(format!(
                "stream {iteration} of {message:?}: item {sequence} should be {want:?}, got {response:?}"
            ));
            // Dropping the stream cancels the rest of the rpc.
            return;
        }
        good_items += 1;
        sequence += 1;
    }
    summary.streamed_items += good_items;
    let missing = expected.count();
    if missing != 0 {
        summary.mismatch(format!(
            "stream {iteration} of {message:?}: ended after {sequence} items, {missing} missing"
        ));
        return;
    }
    summary.streaming_ok += 1;
}
