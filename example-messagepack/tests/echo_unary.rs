//! A unary request is answered with its message and nanotime.
mod support;

use example_messagepack::{EchoResponse, Request, ResponseBehavior, ResponseKind};
use protosocket_rpc::{ControlCode, Message};
use support::{timed, Harness};

#[tokio::test]
async fn unary_echoes_message_and_nanotime() {
    let harness = Harness::start().await;
    for (message, nanotime) in [("hello", 42), ("", 0), ("héllo ✓", u64::MAX)] {
        let request = Request::echo(message, nanotime, ResponseBehavior::Unary);
        let response = timed(harness.client.send_unary(request))
            .await
            .expect("a response");
        assert_eq!(response.control_code(), ControlCode::Normal);
        assert_eq!(
            response.kind,
            Some(ResponseKind::Echo(EchoResponse {
                message: message.to_string(),
                nanotime,
            }))
        );
    }
    harness.stop().await;
}
