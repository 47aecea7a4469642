//! A unary request gets its message and nanotime back, under its own id.
mod support;

use example_proto::{response, EchoResponse, Request, ResponseBehavior};
use protosocket_rpc::ControlCode;
use support::*;

#[tokio::test]
async fn unary_echoes_message_and_nanotime() {
    let server = server();
    let client = client(&server).await;
    for (message, nanotime) in [("hello", 1), ("", 0), ("ünïcødé ✓", u64::MAX)] {
        let response =
            timed(client.send_unary(Request::echo(message, nanotime, ResponseBehavior::Unary)))
                .await
                .expect("an answer");
        assert_eq!(response.code, ControlCode::Normal.as_u32());
        assert_eq!(
            response.kind,
            Some(response::Kind::Echo(EchoResponse {
                message: message.to_string(),
                nanotime,
            }))
        );
    }
    timed(server.shutdown()).await;
}

#[tokio::test]
async fn concurrent_unary_calls_each_get_their_own_answer() {
    let server = server();
    let client = client(&server).await;
    let calls = (0..200u64).map(|i| {
        let client = client.clone();
        async move {
            let answer = client
                .send_unary(Request::echo(i.to_string(), i, ResponseBehavior::Unary))
                .await
                .expect("an answer");
            (i, answer)
        }
    });
    for (i, answer) in timed(futures::future::join_all(calls)).await {
        assert_eq!(
            answer.kind,
            Some(response::Kind::Echo(EchoResponse {
                message: i.to_string(),
                nanotime: i,
            }))
        );
    }
    timed(server.shutdown()).await;
}
