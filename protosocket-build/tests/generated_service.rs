//! The service generated from `tests/proto/shapes.proto` (by this crate's build
//! script), served and called over loopback: unary and streaming calls, statuses
//! on the wire, metadata both ways, deadlines, a pool, and a response of the
//! wrong method.

#[macro_use]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use protosocket_rpc::server::{ConnectionInfo, ConnectionService, Rpc, SocketService};
use protosocket_rpc::{
    CallOptions, ControlCode, Error, Message as _, Metadata, Status, StatusCode,
};
use support::shapes::{
    mixed, shapes_request, shapes_response, Corner, Empty, Mixed, Name, ShapesClient,
    ShapesConnection, ShapesRequest, ShapesResponse, ShapesServer, Sides,
};
use support::{client_of, status_code, within, Polygons};

#[tokio::test]
async fn unary_calls_answer_with_the_handlers_response() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let square = within("name", client.name(Sides { count: 4 }))
        .await
        .expect("name");
    assert_eq!(square.name, "square");
    let many = within("name", client.name(Sides { count: 12 }))
        .await
        .expect("name");
    assert_eq!(many.name, "12-gon");
}

#[tokio::test]
async fn a_body_of_every_field_kind_crosses_both_ways_whole() {
    // Plain fields (read in line by the envelopes) beside prost's own.
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let sent = Mixed {
        big: u64::MAX,
        small: 300,
        signed_big: -5,
        signed_small: i32::MIN,
        flag: true,
        text: "héllo".into(),
        data: vec![0, 1, 2],
        many: vec![1, 1 << 40],
        maybe: Some(0),
        zigzag: -7,
        r#type: "kind".into(),
        choice: Some(mixed::Choice::Second("two".into())),
        corner: Some(Corner { index: 9 }),
        later_field: 16_384,
    };
    let echoed = within("mix", client.mix(sent.clone())).await.expect("mix");
    assert_eq!(echoed, sent);
}

#[tokio::test]
async fn a_stream_yields_every_item_in_order_then_ends() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let corners: Vec<u32> = within(
        "corners",
        client.corners(Sides { count: 5 }).collect::<Vec<_>>(),
    )
    .await
    .into_iter()
    .map(|corner| corner.expect("a corner").index)
    .collect();
    assert_eq!(corners, [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn a_failed_call_fails_on_the_client() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let unary = within("name", client.name(Sides { count: 2 })).await;
    assert_eq!(
        status_code(&unary),
        Some(StatusCode::InvalidArgument),
        "{unary:?}"
    );
    let stream: Vec<_> = within(
        "corners",
        client.corners(Sides { count: 1 }).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(stream.len(), 1, "one error, then the end: {stream:?}");
    let Err(Error::Status(status)) = &stream[0] else {
        panic!("a status: {stream:?}");
    };
    assert_eq!(
        status,
        &Status::invalid_argument("a polygon has at least 3 sides")
    );
    // The connection goes on.
    let ok = within("name", client.name(Sides { count: 3 }))
        .await
        .expect("name");
    assert_eq!(ok.name, "triangle");
}

fn request(body: shapes_request::Body) -> ShapesRequest {
    ShapesRequest {
        id: 5,
        body: Some(body),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_handlers_status_becomes_a_status_response() {
    let mut connection = support::connection();
    let Rpc::Unary(call) =
        connection.new_rpc(request(shapes_request::Body::Name(Sides { count: 1 })))
    else {
        panic!("name is unary");
    };
    let mut response = call.await;
    assert_eq!(response.control_code(), ControlCode::Status);
    let status = response.take_status().expect("a status");
    assert_eq!(status.code(), StatusCode::InvalidArgument);
    assert_eq!(status.message(), "a polygon has at least 3 sides");

    let Rpc::Streaming(stream) =
        connection.new_rpc(request(shapes_request::Body::Corners(Sides { count: 0 })))
    else {
        panic!("corners is streaming");
    };
    let items: Vec<ShapesResponse> = stream.collect().await;
    assert_eq!(items.len(), 1, "the status ends the stream");
    assert_eq!(items[0].control_code(), ControlCode::Status);
    assert_eq!(items[0].status_code, StatusCode::InvalidArgument.as_u32());

    let Rpc::Streaming(stream) =
        connection.new_rpc(request(shapes_request::Body::Corners(Sides { count: 3 })))
    else {
        panic!("corners is streaming");
    };
    let items: Vec<ShapesResponse> = stream.collect().await;
    let indexes: Vec<u32> = items
        .into_iter()
        .map(|item| match item.body {
            Some(shapes_response::Body::Corners(corner)) if item.code == 0 => corner.index,
            other => panic!("not a corner: {other:?}"),
        })
        .collect();
    assert_eq!(indexes, [0, 1, 2]);
}

// `Rpc::Reject { .. }` matches the variant whether or not it carries a status.
#[allow(clippy::unneeded_struct_pattern)]
#[tokio::test]
async fn a_request_without_a_method_is_rejected() {
    let mut connection = support::connection();
    let rejected = connection.new_rpc(ShapesRequest::default());
    assert!(
        matches!(rejected, Rpc::Reject { .. }),
        "a request without a body is rejected"
    );
    // A client-streaming method needs the request stream the connection gives
    // `new_rpc_with_requests`; started without one, it is refused.
    let alone = connection.new_rpc(request(shapes_request::Body::Total(Sides { count: 3 })));
    let Rpc::Reject(status) = alone else {
        panic!("total without its request stream is refused");
    };
    assert_eq!(status.code(), StatusCode::Internal);
}

#[tokio::test]
async fn metadata_goes_both_ways_and_the_deadline_reaches_the_handler() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let anonymous = within("whoami", client.whoami(Empty {}))
        .await
        .expect("whoami");
    assert_eq!(anonymous.name, "anonymous");
    let options = CallOptions::new()
        .metadata("user", "ada")
        .timeout(Duration::from_secs(5));
    let reply = within("whoami", client.whoami_with(Empty {}, options))
        .await
        .expect("whoami");
    assert_eq!(reply.get_ref().name, "ada deadline");
    assert_eq!(
        reply.metadata().text("served-to"),
        Some("ada"),
        "the handler's response metadata"
    );
}

#[tokio::test]
async fn an_unanswered_call_ends_at_its_deadline() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let options = CallOptions::new().timeout(Duration::from_millis(50));
    let outcome = within("stall", client.stall_with(Empty {}, options)).await;
    assert_eq!(
        status_code(&outcome),
        Some(StatusCode::DeadlineExceeded),
        "{outcome:?}"
    );
}

/// The generated service with response metadata added, as a server hook would.
struct Stamped(ShapesServer<Polygons>);

struct StampedConnection(ShapesConnection<Polygons>);

impl SocketService for Stamped {
    type Codec = protosocket_prost::ProstCodec<ShapesResponse, ShapesRequest>;
    type ConnectionService = StampedConnection;

    fn codec(&self) -> Self::Codec {
        protosocket_prost::codec()
    }

    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> StampedConnection {
        StampedConnection(self.0.new_connection_service(connection))
    }
}

type BoxedUnary = Pin<Box<dyn Future<Output = ShapesResponse> + Send>>;

// `Rpc::Reject { .. }` matches the variant whether or not it carries a status.
#[allow(clippy::unneeded_struct_pattern)]
impl ConnectionService for StampedConnection {
    type Request = ShapesRequest;
    type Response = ShapesResponse;
    type Unary = BoxedUnary;
    type Streaming = <ShapesConnection<Polygons> as ConnectionService>::Streaming;

    fn new_rpc(&mut self, request: ShapesRequest) -> Rpc<BoxedUnary, Self::Streaming> {
        match self.0.new_rpc(request) {
            Rpc::Unary(call) => Rpc::Unary(Box::pin(async move {
                let mut response = call.await;
                let mut metadata = Metadata::new();
                metadata.insert("served-by", "stamped");
                response.set_metadata(metadata);
                response
            })),
            Rpc::Streaming(stream) => Rpc::Streaming(stream),
            Rpc::Reject { .. } => panic!("the tests send only known methods"),
        }
    }
}

#[tokio::test]
async fn response_metadata_reaches_the_caller() {
    let client = client_of(serve!(Stamped(ShapesServer::new(Polygons::default())))).await;
    let reply = within(
        "name",
        client.name_with(Sides { count: 3 }, CallOptions::new()),
    )
    .await
    .expect("name");
    assert_eq!(reply.metadata().text("served-by"), Some("stamped"));
    let (name, metadata) = reply.into_parts();
    assert_eq!(name.name, "triangle");
    assert_eq!(metadata.len(), 1);
}

#[tokio::test]
async fn a_pool_client_makes_both_kinds_of_call() {
    let endpoint = serve!(ShapesServer::new(Polygons::default()));
    let client = support::pool_of(endpoint);
    let name = within("name", client.name(Sides { count: 4 }))
        .await
        .expect("name");
    assert_eq!(name.name, "square");
    let options = CallOptions::new().timeout(Duration::from_secs(5));
    let corners = within(
        "corners",
        client
            .corners_with(Sides { count: 3 }, options)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(corners.len(), 3);
    assert!(corners.iter().all(Result::is_ok), "{corners:?}");
    let stalled = within(
        "stall",
        client.stall_with(
            Empty {},
            CallOptions::new().timeout(Duration::from_millis(50)),
        ),
    )
    .await;
    assert_eq!(
        status_code(&stalled),
        Some(StatusCode::DeadlineExceeded),
        "{stalled:?}"
    );
}

/// Answers every request with a `whoami` body, whatever it asked.
struct Confused;

struct ConfusedConnection;

impl SocketService for Confused {
    type Codec = protosocket_prost::ProstCodec<ShapesResponse, ShapesRequest>;
    type ConnectionService = ConfusedConnection;

    fn codec(&self) -> Self::Codec {
        protosocket_prost::codec()
    }

    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> ConfusedConnection {
        ConfusedConnection
    }
}

impl ConnectionService for ConfusedConnection {
    type Request = ShapesRequest;
    type Response = ShapesResponse;
    type Unary = std::future::Ready<ShapesResponse>;
    type Streaming = futures::stream::Iter<std::vec::IntoIter<ShapesResponse>>;

    fn new_rpc(&mut self, _: ShapesRequest) -> Rpc<Self::Unary, Self::Streaming> {
        let whoami = ShapesResponse {
            body: Some(shapes_response::Body::Whoami(Name { name: "?".into() })),
            ..Default::default()
        };
        Rpc::Unary(std::future::ready(whoami))
    }
}

#[tokio::test]
async fn a_response_of_another_method_is_an_internal_error() {
    let endpoint = serve!(Confused);
    let raw = support::raw_client_of(endpoint).await;
    let client = ShapesClient::from_client(raw);
    let outcome = within("name", client.name(Sides { count: 3 })).await;
    let error = outcome.expect_err("a whoami body is not name's response");
    assert_eq!(
        protosocket_rpc::derive_support::error_status(&error).map(|status| status.code()),
        Some(StatusCode::Internal),
        "{error:?}"
    );
}
