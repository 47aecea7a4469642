//! `#[derive(Message)]`: every method of the trait, on a struct with every
//! optional field, and on one with only an id and a code.

use std::time::Duration;

use protosocket_rpc::derive_support::MetadataEntry;
use protosocket_rpc::{ControlCode, Message, Metadata, MetadataValue, Status, StatusCode};

#[derive(Debug, Default, PartialEq, Message)]
struct Full {
    text: String,
    #[rpc(code)]
    code: u32,
    #[rpc(id)]
    id: u64,
    #[rpc(status_code)]
    status: u32,
    #[rpc(status_message)]
    reason: String,
    #[rpc(metadata)]
    metadata: Metadata,
    #[rpc(timeout)]
    timeout: Option<Duration>,
}

/// An entry as protosocket-build generates them (there a prost message).
#[derive(Debug, Default, PartialEq)]
struct Entry {
    key: String,
    value: Option<MetadataValue>,
}

impl MetadataEntry for Entry {
    fn from_pair(key: String, value: MetadataValue) -> Self {
        Entry {
            key,
            value: Some(value),
        }
    }

    fn into_pair(self) -> Option<(String, MetadataValue)> {
        Some((self.key, self.value?))
    }
}

/// The field types of a generated envelope: entries, and microseconds.
#[derive(Debug, Default, Message)]
struct Envelope {
    #[rpc(id)]
    id: u64,
    #[rpc(code)]
    code: u32,
    #[rpc(metadata)]
    metadata: Vec<Entry>,
    #[rpc(timeout)]
    timeout_micros: u64,
}

#[derive(Debug, Default, Message)]
struct Bare<T: Default> {
    #[rpc(id)]
    id: u64,
    #[rpc(code)]
    code: u32,
    payload: T,
}

#[test]
fn id_and_code_read_and_write_their_fields() {
    let mut message = Full {
        text: "hi".into(),
        ..Default::default()
    };
    message.set_message_id(42);
    assert_eq!(message.id, 42);
    assert_eq!(message.message_id(), 42);
    assert_eq!(message.control_code(), ControlCode::Normal);
    message.code = 2;
    assert_eq!(message.control_code(), ControlCode::End);
    message.code = 99;
    assert_eq!(
        message.control_code(),
        ControlCode::Cancel,
        "unknown codes read as Cancel"
    );
}

#[test]
fn control_messages_are_defaults_with_an_id_and_a_code() {
    let cancelled = Full::cancelled(3);
    assert_eq!(
        (cancelled.id, cancelled.code),
        (3, ControlCode::Cancel.as_u32())
    );
    assert_eq!(cancelled.text, "");
    let ended = Full::ended(4);
    assert_eq!((ended.id, ended.control_code()), (4, ControlCode::End));
    for code in [
        ControlCode::Failed,
        ControlCode::Unavailable,
        ControlCode::Ping,
        ControlCode::Status,
    ] {
        assert_eq!(
            Full::control(5, code).control_code(),
            code,
            "control carries {code:?}"
        );
    }
}

#[test]
fn a_status_round_trips() {
    let mut failed = Full::with_status(6, Status::not_found("no key \"a\""));
    assert_eq!(failed.message_id(), 6);
    assert_eq!(failed.control_code(), ControlCode::Status);
    assert_eq!(failed.status, StatusCode::NotFound.as_u32());
    assert_eq!(
        failed.take_status(),
        Some(Status::not_found("no key \"a\""))
    );
    assert_eq!(failed.status, 0, "taken out");
    assert_eq!(
        Full::default().take_status(),
        None,
        "a normal message has none"
    );
    let mut unknown = Full::control(7, ControlCode::Status);
    assert_eq!(
        unknown.take_status().map(|status| status.code()),
        Some(StatusCode::Unknown)
    );
}

#[test]
fn metadata_and_timeout_round_trip() {
    let mut message = Full::default();
    let mut metadata = Metadata::new();
    metadata.insert("trace-id", "abc");
    metadata.insert("token", vec![1, 2]);
    message.set_metadata(metadata.clone());
    message.set_timeout(Some(Duration::from_millis(1500)));
    assert_eq!(message.timeout(), Some(Duration::from_millis(1500)));
    assert_eq!(message.take_metadata(), metadata);
    assert!(message.take_metadata().is_empty(), "taken out");

    let mut envelope = Envelope::default();
    assert_eq!(envelope.timeout(), None, "0 is no timeout");
    envelope.set_timeout(Some(Duration::from_micros(2500)));
    assert_eq!(envelope.timeout_micros, 2500);
    envelope.set_timeout(Some(Duration::from_nanos(10)));
    assert_eq!(
        envelope.timeout_micros, 1,
        "under a microsecond is still a timeout"
    );
    envelope.set_timeout(None);
    assert_eq!(envelope.timeout(), None);
    envelope.set_metadata(metadata.clone());
    assert_eq!(envelope.metadata.len(), 2);
    assert_eq!(envelope.metadata[0].key, "trace-id");
    envelope.metadata.push(Entry {
        key: "empty".into(),
        value: None,
    });
    assert_eq!(
        envelope.take_metadata(),
        metadata,
        "entries without a value are skipped"
    );
    assert!(envelope.metadata.is_empty());
}

#[test]
fn a_message_without_optional_fields_keeps_the_defaults() {
    let mut bare: Bare<Vec<u8>> = Bare::with_status(8, Status::internal("boom"));
    assert_eq!(bare.message_id(), 8);
    assert_eq!(
        bare.control_code(),
        ControlCode::Failed,
        "the closest control code"
    );
    assert_eq!(bare.take_status(), None);
    bare.set_metadata([("a", "b")].into_iter().collect());
    assert!(bare.take_metadata().is_empty(), "nowhere to keep metadata");
    bare.set_timeout(Some(Duration::from_secs(1)));
    assert_eq!(bare.timeout(), None);
    assert!(
        bare.payload.is_empty(),
        "control messages keep the other fields' defaults"
    );
}
