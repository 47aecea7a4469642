//! A peer that sends requests forever and never reads the answers is cut off by
//! the write stall timeout, and the server keeps serving everyone else.
mod support;

use std::io;
use std::time::{Duration, Instant};

use example_proto::{start_server_with_config, Request, ResponseBehavior};
use protosocket::ConnectionConfig;
use protosocket_rpc::server::{ProtosocketServerConfig, RpcServerConfig};
use support::raw::{connect, frames, is_reset};
use support::*;
use tokio::io::AsyncWriteExt;

const STALL: Duration = Duration::from_millis(300);

#[tokio::test]
async fn flooding_peer_that_never_reads_is_cut_off_after_the_write_stall_timeout() {
    let connection = ConnectionConfig::default().write_stall_timeout(Some(STALL));
    let config = RpcServerConfig::default()
        .server_config(ProtosocketServerConfig::default().connection_config(connection));
    let server =
        start_server_with_config("127.0.0.1:0".parse().expect("an address"), config).expect("bind");
    let client = client(&server).await;
    assert_echoes(&client, "before").await;

    let mut flooder = connect(server.local_addr()).await;
    let batch = frames(
        &(1..=1024)
            .map(|id| Request {
                request_id: id,
                ..Request::echo("flood", 0, ResponseBehavior::Unary)
            })
            .collect::<Vec<_>>(),
    );
    // Ids repeat across batches; a repeat still in flight is answered with
    // Cancel, so every request still puts an answer in the unread direction.
    let flood = async {
        let mut last_progress = Instant::now();
        loop {
            match flooder.write(&batch).await {
                Ok(0) => return (last_progress, io::Error::from(io::ErrorKind::WriteZero)),
                Ok(_) => last_progress = Instant::now(),
                Err(error) => return (last_progress, error),
            }
        }
    };
    let (last_progress, error) = timed(flood).await;
    let stalled_for = last_progress.elapsed();
    assert!(is_reset(&error), "unexpected write error: {error}");
    assert!(
        stalled_for <= STALL + Duration::from_secs(1),
        "cut off {stalled_for:?} after the flooder's last write"
    );

    assert_echoes(&client, "after").await;
    timed(server.shutdown()).await;
}
