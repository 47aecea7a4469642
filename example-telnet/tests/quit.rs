//! `quit` says goodbye and closes that connection; the server keeps serving.

mod support;

use support::Server;

#[tokio::test]
async fn quit_closes_only_that_connection() {
    let server = Server::start();
    let mut staying = server.connect().await;
    let mut leaving = server.connect().await;

    // A sleep still pending at `quit` is dropped with the connection.
    leaving.send("sleep 30 never").await;
    leaving.ask("quit", "bye").await;
    leaving.expect_eof().await;

    staying.ask("echo still here", "still here").await;
    let mut newcomer = server.connect().await;
    newcomer.ask("echo hello", "hello").await;
    server.stop().await;
}
