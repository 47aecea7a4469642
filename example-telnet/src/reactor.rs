//! What a connection does with each line.

use std::sync::Arc;
use std::task::{Context, Poll};

use protosocket::{spillway, ConnectionStats, LinesCodec, MessageReactor, ReactorStatus, Replies};
use tokio::task::JoinSet;

use crate::codec::{Inbound, LineDecoder};
use crate::command::Command;

/// What the connection's outbound channel carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A line to send as is.
    Line(String),
    /// The connection's counters, read when the reply is encoded.
    Stats,
}

/// Runs the commands of one connection.
///
/// Answers go through the connection's replies, so they leave in the order of the
/// requests and a client may pipeline any number of commands, except `sleep`
/// answers: each is sent through the connection's outbound sender by a task of its
/// own when its time is up, overtaken by whatever was answered meanwhile. The tasks live in
/// a `JoinSet`, so they are aborted when the connection ends. When the peer closes
/// its side, the connection stays open until the sleeps it owes have answered.
#[derive(Debug)]
pub struct TelnetReactor {
    outbound: spillway::Sender<Reply>,
    stats: Arc<ConnectionStats>,
    sleeps: JoinSet<()>,
    max_line_length: usize,
    read_closed: bool,
}

impl TelnetReactor {
    /// A reactor answering through `outbound`, for lines of at most
    /// `max_line_length` bytes (named in the error for a longer one); `stats` are
    /// its connection's counters, for the `stats` command.
    pub fn new(
        outbound: spillway::Sender<Reply>,
        max_line_length: usize,
        stats: Arc<ConnectionStats>,
    ) -> Self {
        Self {
            outbound,
            stats,
            sleeps: JoinSet::new(),
            max_line_length,
            read_closed: false,
        }
    }

    fn run(&mut self, command: Command, replies: &mut Replies<Reply>) -> ReactorStatus {
        match command {
            Command::Echo(text) => replies.push(Reply::Line(text)),
            Command::Upper(text) => replies.push(Reply::Line(text.to_uppercase())),
            Command::Sleep { delay, text } => {
                let outbound = self.outbound.clone();
                self.sleeps.spawn(async move {
                    tokio::time::sleep(delay).await;
                    // Waits for room rather than dropping the answer; fails only if
                    // the connection is gone, and then nobody wants it.
                    let _ = outbound.send_async(Reply::Line(text)).await;
                });
            }
            Command::Stats => replies.push(Reply::Stats),
            Command::Quit => {
                replies.push(Reply::Line("bye".to_string()));
                return ReactorStatus::Disconnect;
            }
            Command::Nothing => {}
        }
        ReactorStatus::Continue
    }

    fn render_stats(&self) -> String {
        let stats = &self.stats;
        format!(
            "messages_in={} bytes_in={} messages_out={} bytes_out={}",
            stats.messages_received(),
            stats.bytes_received(),
            stats.messages_sent(),
            stats.bytes_sent()
        )
    }
}

impl MessageReactor for TelnetReactor {
    type Codec = (LinesCodec, LineDecoder);
    type Inbound = Inbound;
    type Outbound = String;
    type LogicalOutbound = Reply;

    fn on_inbound_message(
        &mut self,
        message: Inbound,
        replies: &mut Replies<Reply>,
    ) -> ReactorStatus {
        match message {
            Inbound::Line(line) => match Command::parse(&line) {
                Ok(command) => self.run(command, replies),
                Err(error) => {
                    replies.push(Reply::Line(format!("error: {error}")));
                    ReactorStatus::Continue
                }
            },
            Inbound::TooLong => {
                tracing::info!(limit = self.max_line_length, "line too long; disconnecting");
                let message = format!("error: line longer than {} bytes", self.max_line_length);
                replies.push(Reply::Line(message));
                ReactorStatus::Disconnect
            }
        }
    }

    fn on_outbound_message(&mut self, reply: Reply) -> String {
        match reply {
            Reply::Line(line) => line,
            Reply::Stats => self.render_stats(),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        // Reaps finished sleeps, and registers `cx` for the next one to finish so a
        // half-closed connection notices when it owes nothing more.
        while let Poll::Ready(Some(finished)) = self.sleeps.poll_join_next(cx) {
            if let Err(error) = finished {
                tracing::warn!(%error, "sleep task failed");
            }
        }
        if self.read_closed && self.sleeps.is_empty() {
            ReactorStatus::Disconnect
        } else {
            ReactorStatus::Continue
        }
    }

    fn on_read_closed(&mut self) -> ReactorStatus {
        self.read_closed = true;
        if self.sleeps.is_empty() {
            ReactorStatus::Disconnect
        } else {
            ReactorStatus::Continue
        }
    }
}
