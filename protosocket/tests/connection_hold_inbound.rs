//! `MessageReactor::poll_inbound_ready`: a reactor that holds inbound gets no
//! message until it wakes the connection, and EOF read meanwhile still reaches it
//! once the held messages are handed over.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use protosocket::{
    Connection, ConnectionConfig, LinesCodec, MessageReactor, ReactorStatus, Replies,
};
use tokio::io::AsyncWriteExt;

/// What the test sees of the reactor.
#[derive(Default)]
struct Seen {
    lines: Vec<String>,
    read_closed: bool,
    /// Take one more line, then hold again.
    allowance: usize,
    waker: Option<Waker>,
}

/// Takes lines only as the test allows them.
struct Gate(Arc<Mutex<Seen>>);

impl MessageReactor for Gate {
    type Codec = LinesCodec;
    type Inbound = String;
    type Outbound = String;
    type LogicalOutbound = String;

    fn on_inbound_message(&mut self, line: String, _: &mut Replies<String>) -> ReactorStatus {
        let mut seen = self.0.lock().unwrap();
        assert!(seen.allowance > 0, "a line handed over while held: {line}");
        seen.allowance -= 1;
        seen.lines.push(line);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, line: String) -> String {
        line
    }

    fn poll_inbound_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut seen = self.0.lock().unwrap();
        if seen.allowance > 0 {
            Poll::Ready(())
        } else {
            seen.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn on_read_closed(&mut self) -> ReactorStatus {
        self.0.lock().unwrap().read_closed = true;
        ReactorStatus::Disconnect
    }
}

/// Waits (bounded) until `condition` holds of what the reactor saw.
async fn until(seen: &Mutex<Seen>, condition: impl Fn(&Seen) -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !condition(&seen.lock().unwrap()) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("in time");
}

fn allow(seen: &Mutex<Seen>, lines: usize) {
    let waker = {
        let mut seen = seen.lock().unwrap();
        seen.allowance += lines;
        seen.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[tokio::test]
async fn a_held_reactor_gets_each_message_only_when_it_takes_one_and_eof_after_them() {
    let seen = Arc::new(Mutex::new(Seen {
        allowance: 1,
        ..Seen::default()
    }));
    let (mut client, server) = tokio::io::duplex(1024);
    let connection = Connection::new(
        server,
        LinesCodec::new(),
        Gate(Arc::clone(&seen)),
        None,
        ConnectionConfig::default(),
    );
    let task = tokio::spawn(connection);

    client.write_all(b"a\nb\nc\n").await.unwrap();
    client.shutdown().await.unwrap();
    until(&seen, |seen| seen.lines.len() == 1).await;
    // Held: b and c (and the EOF behind them) wait in the buffer.
    tokio::time::sleep(Duration::from_millis(50)).await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.lines, ["a"]);
        assert!(!seen.read_closed, "EOF before the held lines");
    }
    allow(&seen, 1);
    until(&seen, |seen| seen.lines.len() == 2).await;
    assert!(!seen.lock().unwrap().read_closed);
    allow(&seen, 1);
    until(&seen, |seen| seen.read_closed).await;
    assert_eq!(seen.lock().unwrap().lines, ["a", "b", "c"]);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the connection ends after EOF")
        .unwrap();
}
