//! A message type with none of the new fields (no status, metadata or timeout:
//! what an upstream 2.x peer speaks) still gets a correct outcome from every
//! path: each status reaches it as the control code that says as much, and
//! hooks, deadlines and metadata cost it nothing and break nothing.

mod support;

use std::time::Duration;

use protosocket_rpc::client::{CallHook as ClientHook, RpcClientConfig};
use protosocket_rpc::server::{CallContext, CallHook, RpcServerConfig};
use protosocket_rpc::{Error, Message, Metadata, Status, StatusCode};
use support::{client, serve, status_of, timed, TestService, Text};

fn code_of<T: std::fmt::Debug>(outcome: Result<T, Error>) -> StatusCode {
    status_of(outcome).code()
}

#[test]
fn a_status_without_fields_is_sent_as_its_control_code() {
    use protosocket_rpc::ControlCode;
    let sent = |code| Text::with_status(3, Status::new(code, "lost")).control_code();
    assert_eq!(sent(StatusCode::Internal), ControlCode::Failed);
    assert_eq!(sent(StatusCode::Unavailable), ControlCode::Unavailable);
    assert_eq!(sent(StatusCode::NotFound), ControlCode::Cancel);
    assert_eq!(sent(StatusCode::DeadlineExceeded), ControlCode::Cancel);
    assert_eq!(Text::with_status(3, Status::internal("x")).id, 3);
}

#[tokio::test]
async fn every_failure_path_has_an_outcome_the_client_can_read() {
    let service = TestService::default();
    let config = RpcServerConfig::default().max_rpcs_in_flight(2);
    let (address, shutdown, _server) = serve(service.clone(), config);
    let client = client(address, &RpcClientConfig::default()).await;

    // A handler's status: the control code's meaning survives, the rest is lost.
    let not_found = timed(client.send_unary(Text::new("status:5"))).await;
    assert_eq!(code_of(not_found), StatusCode::Cancelled);
    let internal = timed(client.send_unary(Text::new("status:13"))).await;
    assert_eq!(code_of(internal), StatusCode::Internal);
    let unavailable = timed(client.send_unary(Text::new("status:14"))).await;
    assert_eq!(code_of(unavailable), StatusCode::Unavailable);

    // A rejection, a panic.
    let rejected = timed(client.send_unary(Text::new("reject"))).await;
    assert_eq!(code_of(rejected), StatusCode::Cancelled);
    let panicked = timed(client.send_unary(Text::new("panic:now"))).await;
    assert_eq!(code_of(panicked), StatusCode::Internal);

    // The in-flight limit.
    let first = client.send_unary(Text::new("sleep:200"));
    let second = client.send_unary(Text::new("sleep:200"));
    let over = timed(client.send_unary(Text::new("echo:over"))).await;
    assert_eq!(code_of(over), StatusCode::Cancelled);
    let (first, second) = timed(async { tokio::join!(first, second) }).await;
    assert_eq!(first.expect("first").text, "slept");
    assert_eq!(second.expect("second").text, "slept");

    // The client's own deadline: the type cannot carry it to the server, which
    // drops the work on the client's cancel instead.
    let drops = service.drops.dropped();
    let late =
        timed(client.send_unary_with_deadline(Text::new("hang"), Some(Duration::from_millis(50))))
            .await;
    assert_eq!(code_of(late), StatusCode::DeadlineExceeded);
    service.drops.wait_for(drops + 1).await;
    timed(shutdown.shutdown_and_wait()).await;
}

#[tokio::test]
async fn hooks_and_deadlines_leave_a_type_without_fields_working() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let server_hook = {
        let seen = std::sync::Arc::clone(&seen);
        CallHook::new(move |call: &mut CallContext| {
            seen.lock()
                .unwrap()
                .push((call.metadata().len(), call.deadline().is_some()));
            Ok(())
        })
    };
    let config = RpcServerConfig::default().call_hook(Some(server_hook));
    let (address, shutdown, _server) = serve(TestService::default(), config);
    let client_hook = ClientHook::new(|metadata: &mut Metadata| {
        metadata.insert("token", "dropped by a type without metadata");
        Ok(())
    });
    let client_config = RpcClientConfig::default()
        .call_hook(Some(client_hook))
        .default_deadline(Some(Duration::from_secs(5)));
    let client = client(address, &client_config).await;
    let answer = timed(client.send_unary(Text::new("echo:plain"))).await;
    assert_eq!(answer.expect("the call works").text, "plain");
    assert_eq!(
        *seen.lock().unwrap(),
        [(0, false)],
        "no metadata and no deadline reach the server"
    );
    timed(shutdown.shutdown_and_wait()).await;
}
