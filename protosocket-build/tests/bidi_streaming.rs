//! A generated bidirectional rpc (`Mirror`): responses come back in order while
//! the client sends, the handler's response metadata rides on the first
//! response, a failing status ends the stream, and dropping the stream or its
//! deadline stops the handler's work.

#[macro_use]
mod support;

use std::time::Duration;

use futures::stream::{self, StreamExt};
use protosocket_rpc::{
    CallOptions, ControlCode, Error, Message as _, Status, StatusCode, StreamMetadata as _,
};
use support::shapes::{
    shapes_request, shapes_response, Corner, ShapesRequest, ShapesResponse, ShapesServer, Sides,
};
use support::{client_of, within, Polygons};
use tokio::sync::mpsc;

fn corners(indexes: &[u32]) -> impl futures::Stream<Item = Corner> + Send + 'static {
    stream::iter(indexes.to_vec()).map(|index| Corner { index })
}

fn indexes(items: Vec<Result<Corner, Error>>) -> Vec<u32> {
    items
        .into_iter()
        .map(|corner| corner.expect("a corner").index)
        .collect()
}

#[tokio::test]
async fn responses_follow_the_requests_in_order() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let mirrored = within(
        "mirror",
        client.mirror(corners(&[4, 0, 7, 2])).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(indexes(mirrored), [4, 0, 7, 2]);
    let none = within("mirror", client.mirror(stream::empty()).collect::<Vec<_>>()).await;
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn each_response_comes_while_the_input_is_open() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let (requests, receiver) = mpsc::unbounded_channel();
    let input = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|corner| (corner, receiver))
    });
    let mut mirrored = Box::pin(client.mirror(input));
    for index in [1, 2, 3] {
        requests.send(Corner { index }).expect("queue a request");
        let back = within("a response", mirrored.next())
            .await
            .expect("an item")
            .expect("a corner");
        assert_eq!(back.index, index);
    }
    drop(requests);
    assert!(
        within("the end", mirrored.next()).await.is_none(),
        "the stream ends after the input"
    );
}

#[tokio::test]
async fn the_typed_client_reads_the_streams_metadata_after_its_first_item() {
    let client = client_of(serve!(ShapesServer::new(Polygons::default()))).await;
    let mut mirrored = Box::pin(client.mirror_with(corners(&[4, 5]), CallOptions::new()));
    assert!(mirrored.metadata().is_empty(), "nothing arrived yet");
    let first = within("a response", mirrored.next()).await;
    assert_eq!(first.map(|corner| corner.expect("a corner").index), Some(4));
    assert_eq!(mirrored.metadata().text("mirror"), Some("yes"));
    let second = within("a response", mirrored.next()).await;
    assert_eq!(
        second.map(|corner| corner.expect("a corner").index),
        Some(5)
    );
    assert_eq!(
        mirrored.metadata().text("mirror"),
        Some("yes"),
        "kept from the first item"
    );
}

#[tokio::test]
async fn the_handlers_metadata_rides_on_the_first_response() {
    let endpoint = serve!(ShapesServer::new(Polygons::default()));
    let raw = support::raw_client_of(endpoint).await;
    let body = |index| shapes_request::Body::Mirror(Corner { index });
    let opening = ShapesRequest {
        body: Some(body(0)),
        ..Default::default()
    };
    let (mut sender, responses) = raw.send_bidi(opening);
    for index in [5, 6] {
        let request = ShapesRequest {
            body: Some(body(index)),
            ..Default::default()
        };
        within("send", sender.send(request))
            .await
            .expect("the call is open");
    }
    within("finish", sender.finish()).await;
    let mut responses: Vec<ShapesResponse> = within("the responses", responses.collect::<Vec<_>>())
        .await
        .into_iter()
        .map(|response| response.expect("a response"))
        .collect();
    assert_eq!(responses.len(), 2, "{responses:?}");
    let first = responses[0].take_metadata();
    assert_eq!(first.text("mirror"), Some("yes"));
    assert!(responses[1].take_metadata().is_empty(), "only the first");
    assert!(matches!(
        responses[1].body,
        Some(shapes_response::Body::Mirror(Corner { index: 6 }))
    ));
}

/// On the wire, as any protobuf client would speak it: a `Mirror` call with no
/// requests answers `End` alone, which carries the handler's metadata.
#[tokio::test]
async fn without_responses_the_metadata_rides_on_the_end() {
    use prost::Message as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let endpoint = serve!(ShapesServer::new(Polygons::default()));
    let address = endpoint.tcp_address().expect("a tcp server");
    let mut stream = within("connect", tokio::net::TcpStream::connect(address))
        .await
        .expect("connect");
    let opening = ShapesRequest {
        id: 1,
        body: Some(shapes_request::Body::Mirror(Corner::default())),
        ..Default::default()
    };
    let end = ShapesRequest::ended(1);
    let mut bytes = opening.encode_length_delimited_to_vec();
    bytes.extend(end.encode_length_delimited_to_vec());
    within("write", stream.write_all(&bytes))
        .await
        .expect("write the call");
    let mut received = Vec::new();
    let mut end = loop {
        let mut frames = received.as_slice();
        let mut last = None;
        while let Ok(response) = ShapesResponse::decode_length_delimited(&mut frames) {
            last = Some(response);
        }
        if let Some(response) =
            last.filter(|response| response.control_code() != ControlCode::Credit)
        {
            break response;
        }
        let mut chunk = [0; 512];
        let read = within("read", stream.read(&mut chunk)).await.expect("read");
        assert!(
            read > 0,
            "the server closed the connection without answering"
        );
        received.extend_from_slice(&chunk[..read]);
    };
    assert_eq!(end.id, 1);
    assert_eq!(end.control_code(), ControlCode::End, "{end:?}");
    assert!(end.body.is_none());
    assert_eq!(end.take_metadata().text("mirror"), Some("yes"));
}

#[tokio::test]
async fn a_request_of_another_method_ends_the_stream_with_invalid_argument() {
    let endpoint = serve!(ShapesServer::new(Polygons::default()));
    let raw = support::raw_client_of(endpoint).await;
    let request = |body| ShapesRequest {
        body: Some(body),
        ..Default::default()
    };
    let (mut sender, responses) =
        raw.send_bidi(request(shapes_request::Body::Mirror(Corner::default())));
    for body in [
        shapes_request::Body::Mirror(Corner { index: 1 }),
        shapes_request::Body::Total(Sides { count: 3 }),
    ] {
        within("send", sender.send(request(body)))
            .await
            .expect("the call is open");
    }
    let responses: Vec<_> = within("the responses", responses.collect::<Vec<_>>()).await;
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert!(responses[0].is_ok(), "{responses:?}");
    let Err(Error::Status(status)) = &responses[1] else {
        panic!("a status: {responses:?}");
    };
    assert_eq!(status.code(), StatusCode::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn a_failing_status_is_the_last_item() {
    let (service, mut events) = Polygons::watched();
    let client = client_of(serve!(ShapesServer::new(service))).await;
    let endless = corners(&[1, 13, 2]).chain(stream::pending());
    let items = within("mirror", client.mirror(endless).collect::<Vec<_>>()).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().expect("a corner").index, 1);
    let Err(Error::Status(status)) = &items[1] else {
        panic!("a status: {items:?}");
    };
    assert_eq!(status, &Status::invalid_argument("corner 13 is unlucky"));
    assert_eq!(
        within("the handler's drop", events.recv()).await,
        Some("mirror dropped")
    );
}

#[tokio::test]
async fn dropping_the_stream_stops_the_handler() {
    let (service, mut events) = Polygons::watched();
    let client = client_of(serve!(ShapesServer::new(service))).await;
    let mut mirrored = Box::pin(client.mirror(corners(&[3]).chain(stream::pending())));
    let back = within("a response", mirrored.next())
        .await
        .expect("an item")
        .expect("a corner");
    assert_eq!(back.index, 3);
    drop(mirrored);
    assert_eq!(
        within("the handler's drop", events.recv()).await,
        Some("mirror dropped")
    );
}

#[tokio::test]
async fn the_deadline_ends_the_stream() {
    let (service, mut events) = Polygons::watched();
    let client = client_of(serve!(ShapesServer::new(service))).await;
    let options = CallOptions::new().timeout(Duration::from_millis(50));
    let items = within(
        "mirror",
        client
            .mirror_with(stream::pending(), options)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        matches!(&items[0], Err(Error::Status(status)) if status.code() == StatusCode::DeadlineExceeded),
        "{items:?}"
    );
    assert_eq!(
        within("the handler's drop", events.recv()).await,
        Some("mirror dropped")
    );
}

#[tokio::test]
async fn a_pool_client_makes_the_call() {
    let endpoint = serve!(ShapesServer::new(Polygons::default()));
    let client = support::pool_of(endpoint);
    let mirrored = within(
        "mirror",
        client.mirror(corners(&[2, 1])).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(indexes(mirrored), [2, 1]);
    let options = CallOptions::new().timeout(Duration::from_secs(5));
    let mirrored = within(
        "mirror",
        client
            .mirror_with(corners(&[9]), options)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(indexes(mirrored), [9]);
}
