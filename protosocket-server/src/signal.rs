//! Waiting for the signal that asks a server to stop.

use std::fmt;
use std::io;

use crate::ShutdownHandle;

/// The signal that asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C in a terminal (SIGINT).
    Interrupt,
    /// SIGTERM: what `kill`, systemd and container runtimes send.
    Terminate,
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopSignal::Interrupt => "interrupt (ctrl-c)",
            StopSignal::Terminate => "terminate (SIGTERM)",
        })
    }
}

/// The handlers of the signals that ask the process to stop: Ctrl-C, and SIGTERM
/// on Unix. From [`install`](Self::install) on, those signals no longer end the
/// process; they wait here for [`recv`](Self::recv), so install before anything
/// tells the world the server is up, and start a graceful shutdown when `recv`
/// returns: a service manager's stop then lets calls in flight finish as a
/// terminal's Ctrl-C does.
///
/// ```no_run
/// # async fn run(server: protosocket_server::ShutdownHandle) -> std::io::Result<()> {
/// let mut stop = protosocket_server::StopSignals::install()?;
/// // ... bind and spawn the server ...
/// let signal = stop.recv().await;
/// tracing::info!(%signal, "shutting down");
/// server.shutdown_and_wait().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Installs the handlers now. Must be called inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// A handler could not be installed.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next stop signal.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a signal that arrives while nobody waits is kept for the next
    /// call.
    pub async fn recv(&mut self) -> StopSignal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => StopSignal::Interrupt,
                _ = self.terminate.recv() => StopSignal::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            // Without a handler Ctrl-C cannot be waited for: wait forever.
            match tokio::signal::ctrl_c().await {
                Ok(()) => StopSignal::Interrupt,
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// Spawns a task that starts `server`'s graceful shutdown at the first stop
    /// signal, logging which one (at `info`): what a server's `main` does once
    /// it is listening, when nothing else waits for the signal. Must be called
    /// inside a tokio runtime.
    pub fn shutdown_on_signal(mut self, server: ShutdownHandle) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let signal = self.recv().await;
            tracing::info!(%signal, "shutting down");
            server.shutdown();
        })
    }
}
