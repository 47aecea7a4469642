//! Waiting for the signal that asks a server to stop.

use std::fmt;
use std::io;

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

/// Waits until the process is asked to stop: Ctrl-C, or SIGTERM on Unix. Start a
/// graceful shutdown when it returns, so a service manager's stop lets calls in
/// flight finish as a terminal's Ctrl-C does.
///
/// ```no_run
/// # async fn run(server: protosocket_server::ShutdownHandle) -> std::io::Result<()> {
/// let signal = protosocket_server::stop_requested().await?;
/// tracing::info!(%signal, "shutting down");
/// server.shutdown_and_wait().await;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// The signal handlers could not be installed.
pub async fn stop_requested() -> io::Result<StopSignal> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| StopSignal::Interrupt),
            _ = terminate.recv() => Ok(StopSignal::Terminate),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map(|()| StopSignal::Interrupt)
    }
}
