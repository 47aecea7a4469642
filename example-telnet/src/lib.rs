//! A line-oriented server on protosocket-server, to talk to with `nc`: each line
//! is a command, each answer a line.
//!
//! | line | answer |
//! |---|---|
//! | `echo TEXT` | `TEXT` |
//! | `upper TEXT` | `TEXT` in upper case |
//! | `sleep SECONDS TEXT` | `TEXT`, after `SECONDS` (fractions such as `0.2` allowed, up to 60); later lines are answered meanwhile |
//! | `stats` | `messages_in=.. bytes_in=.. messages_out=.. bytes_out=..`: this connection's counters as of its previous poll (so not counting the `stats` line itself, nor anything read with it) |
//! | `quit` | `bye`, then the connection closes (unanswered sleeps are dropped) |
//! | empty line | nothing |
//! | anything else | `error: ...`; the connection stays open |
//! | a line over the limit (1024 bytes by default) | `error: line longer than N bytes`, then the connection closes |
//!
//! Each connection is greeted with [`GREETING`] first. The binary listens on its
//! first argument, else `$HOST`, else `127.0.0.1:9001`; ctrl-c or SIGTERM shuts it down
//! gracefully.
//!
//! ```
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! use example_telnet::{TelnetConnector, GREETING};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! let server = TelnetConnector::default().bind("127.0.0.1:0".parse().unwrap())?;
//! let address = server.local_addr()?;
//! let shutdown = server.shutdown_handle();
//! tokio::spawn(server);
//!
//! let mut client = BufReader::new(tokio::net::TcpStream::connect(address).await?);
//! client.get_mut().write_all(b"upper hi\nquit\n").await?;
//! let mut lines = client.lines();
//! assert_eq!(lines.next_line().await?.as_deref(), Some(GREETING));
//! assert_eq!(lines.next_line().await?.as_deref(), Some("HI"));
//! assert_eq!(lines.next_line().await?.as_deref(), Some("bye"));
//! assert_eq!(lines.next_line().await?, None);
//!
//! shutdown.shutdown_and_wait().await;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! Layout:
//! - `codec`: [`LineDecoder`] (lines, and [`Inbound::TooLong`] past the limit);
//!   answers are written by protosocket's `LinesCodec`.
//! - `command`: [`Command`], parsed from a line.
//! - `reactor`: [`TelnetReactor`], running commands; [`Reply`].
//! - `connector`: [`TelnetConnector`], the server wiring.

mod codec;
mod command;
mod connector;
mod reactor;

pub use codec::{Inbound, LineDecoder};
pub use command::{Command, CommandError, MAX_SLEEP};
pub use connector::{TelnetConnector, TelnetServer, DEFAULT_MAX_LINE_LENGTH, GREETING};
pub use reactor::{Reply, TelnetReactor};
