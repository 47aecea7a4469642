//! The peer: an in-memory stream that plays a [`Script`] to the connection and
//! records what the connection did to it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use protosocket::spillway;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::script::{Read, Script, Write};

/// The peer's state, shared by the stream (owned by the connection) and the
/// driver.
#[derive(Debug)]
pub struct Peer<M> {
    reads: VecDeque<Read>,
    /// How far into the front `Data` step the connection has read.
    offset: usize,
    writes: VecDeque<Write>,
    pending_flushes: usize,
    /// The connection's outbound sender, until a `DropSender` step.
    sender: Option<spillway::Sender<M>>,
    /// Bytes the connection read.
    pub bytes_read: usize,
    /// Whether a read returned EOF.
    pub eof_returned: bool,
    /// Reads asked for after one returned EOF.
    pub reads_after_eof: usize,
    /// The failed read that ended the stream, if one did.
    pub read_error: Option<io::ErrorKind>,
    /// Whether the reads reached a `Close` step.
    pub close_requested: bool,
    /// Whether the reads reached a `DropSender` step with the sender still held.
    pub sender_dropped: bool,
    /// Every byte the stream took, in order.
    pub written: Vec<u8>,
    /// Writes offered no bytes at all.
    pub empty_writes: usize,
    /// How many written bytes the last completed flush covered.
    pub flushed: usize,
    /// Whether a shutdown completed.
    pub shut_down: bool,
    /// Writes asked for after the shutdown.
    pub writes_after_shutdown: usize,
}

impl<M> Peer<M> {
    /// A peer playing `script`, holding the connection's outbound sender if any.
    pub fn new(script: &Script, sender: Option<spillway::Sender<M>>) -> Self {
        Self {
            reads: script.reads.iter().cloned().collect(),
            offset: 0,
            writes: script.writes.iter().copied().collect(),
            pending_flushes: script.pending_flushes,
            sender,
            bytes_read: 0,
            eof_returned: false,
            reads_after_eof: 0,
            read_error: None,
            close_requested: false,
            sender_dropped: false,
            written: Vec::new(),
            empty_writes: 0,
            flushed: 0,
            shut_down: false,
            writes_after_shutdown: 0,
        }
    }

    /// Whether every step has been played: from here on reads are EOF and writes
    /// and flushes complete at once.
    pub fn played_all(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty() && self.pending_flushes == 0
    }

    fn read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.eof_returned {
            self.reads_after_eof += 1;
        }
        loop {
            let Some(step) = self.reads.front() else {
                self.eof_returned = true;
                return Poll::Ready(Ok(()));
            };
            match step {
                Read::Data(bytes) => {
                    // A socket reads 0 bytes into no room, which means EOF.
                    assert!(buf.remaining() > 0, "the connection read into no room");
                    let rest = &bytes[self.offset..];
                    let n = rest.len().min(buf.remaining());
                    buf.put_slice(&rest[..n]);
                    self.bytes_read += n;
                    self.offset += n;
                    if self.offset == bytes.len() {
                        self.offset = 0;
                        self.reads.pop_front();
                    }
                    return Poll::Ready(Ok(()));
                }
                Read::Pending => {
                    self.reads.pop_front();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Read::Eof => {
                    self.reads.pop_front();
                    self.eof_returned = true;
                    return Poll::Ready(Ok(()));
                }
                &Read::Error(kind) => {
                    self.reads.pop_front();
                    if kind != io::ErrorKind::Interrupted {
                        self.read_error = Some(kind);
                    }
                    return Poll::Ready(Err(kind.into()));
                }
                Read::Close => {
                    self.reads.pop_front();
                    self.close_requested = true;
                }
                Read::DropSender => {
                    self.reads.pop_front();
                    self.sender_dropped |= self.sender.take().is_some();
                }
            }
        }
    }

    fn write(&mut self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if self.shut_down {
            self.writes_after_shutdown += 1;
        }
        let offered: usize = bufs.iter().map(|buf| buf.len()).sum();
        if offered == 0 {
            // What a socket does; a connection that asks is about to see WriteZero.
            self.empty_writes += 1;
            return Poll::Ready(Ok(0));
        }
        let limit = match self.writes.pop_front() {
            None => offered,
            Some(Write::Short(n)) => n.min(offered),
            Some(Write::Pending) => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Some(Write::Interrupted) => return Poll::Ready(Err(io::ErrorKind::Interrupted.into())),
        };
        let mut left = limit;
        for buf in bufs {
            let take = left.min(buf.len());
            self.written.extend_from_slice(&buf[..take]);
            left -= take;
        }
        Poll::Ready(Ok(limit))
    }

    /// Flush and shutdown share the `Pending` steps.
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        if self.pending_flushes == 0 {
            return false;
        }
        self.pending_flushes -= 1;
        cx.waker().wake_by_ref();
        true
    }
}

/// The connection's end of the peer.
#[derive(Debug)]
pub struct PeerStream<M> {
    peer: Rc<RefCell<Peer<M>>>,
}

impl<M> PeerStream<M> {
    /// The stream of `peer`.
    pub fn new(peer: Rc<RefCell<Peer<M>>>) -> Self {
        Self { peer }
    }
}

impl<M> AsyncRead for PeerStream<M> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.peer.borrow_mut().read(cx, buf)
    }
}

impl<M> AsyncWrite for PeerStream<M> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.peer.borrow_mut().write(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.peer.borrow_mut().write(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut peer = self.peer.borrow_mut();
        if peer.stalled(cx) {
            return Poll::Pending;
        }
        peer.flushed = peer.written.len();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut peer = self.peer.borrow_mut();
        if peer.stalled(cx) {
            return Poll::Pending;
        }
        peer.shut_down = true;
        Poll::Ready(Ok(()))
    }
}
