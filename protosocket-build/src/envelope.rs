//! The envelope messages of each service and the metadata entry of each package,
//! added to the parsed files so prost generates them like any other message.
//!
//! Wire form (the README documents it for other languages):
//!
//! ```text
//! message MetadataEntry { string key = 1; oneof value { string text = 2; bytes binary = 3; } }
//! message <Service>Request {
//!   uint64 id = 1; uint32 code = 2; uint64 timeout_micros = 3; repeated MetadataEntry metadata = 4;
//!   oneof body { <Input0> <method0> = 8; <Input1> <method1> = 9; ... }
//! }
//! message <Service>Response {
//!   uint64 id = 1; uint32 code = 2; uint32 status_code = 3; string status_message = 4;
//!   repeated MetadataEntry metadata = 5;
//!   oneof body { <Output0> <method0> = 8; <Output1> <method1> = 9; ... }
//! }
//! ```

use std::collections::BTreeMap;
use std::io;

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::source_code_info::Location;
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorSet, OneofDescriptorProto,
    ServiceDescriptorProto,
};

/// The tag of a service's first method in the envelopes' `oneof`; method `i`
/// (in declaration order) has tag `FIRST_METHOD_TAG + i`. Tags 1 to 7 are the
/// envelope's own (5 to 7 unused yet), so the first eight methods still have
/// one-byte keys.
pub(crate) const FIRST_METHOD_TAG: i32 = 8;

/// The name of the metadata entry message of each package with a service.
pub(crate) const METADATA_ENTRY: &str = "MetadataEntry";

/// The request envelope's message name for service `service` (its proto name).
pub(crate) fn request_name(service: &str) -> String {
    format!("{service}Request")
}

/// The response envelope's message name for service `service`.
pub(crate) fn response_name(service: &str) -> String {
    format!("{service}Response")
}

/// The name of the type that writes and reads service `service`'s envelopes
/// (not a message, but a Rust type beside them: its name must be free too).
pub(crate) fn codec_name(service: &str) -> String {
    format!("{service}Envelopes")
}

/// The envelope field (and `oneof` variant, in upper camel case) of a method.
pub(crate) fn method_field(method: &str) -> String {
    method.to_snake_case()
}

/// The Rust name prost gives a message or `oneof` variant named `name`.
pub(crate) fn rust_type_name(name: &str) -> String {
    let camel = name.to_upper_camel_case();
    match camel.as_str() {
        "Self" | "Super" | "Crate" => format!("{camel}_"),
        _ => camel,
    }
}

/// The module prost puts a message's nested types (its `oneof`s) in.
pub(crate) fn nested_module(message: &str) -> String {
    message.to_snake_case()
}

/// What was added to one package, to configure prost with.
#[derive(Debug)]
pub(crate) struct Added {
    package: String,
    services: Vec<String>,
}

impl Added {
    /// The attributes of the added messages: the `Message` derive and its field
    /// markers, docs, and `Bytes` for binary metadata.
    pub(crate) fn configure(&self, prost: &mut prost_build::Config) {
        prost.bytes([format!(
            "{}.binary",
            qualified(&self.package, METADATA_ENTRY)
        )]);
        for service in &self.services {
            let request = qualified(&self.package, &request_name(service));
            let response = qualified(&self.package, &response_name(service));
            for envelope in [&request, &response] {
                prost.message_attribute(envelope, "#[derive(::protosocket_rpc::Message)]");
                mark(prost, envelope, "id", "id");
                mark(prost, envelope, "code", "code");
                mark(prost, envelope, "metadata", "metadata");
            }
            mark(prost, &request, "timeout_micros", "timeout");
            mark(prost, &response, "status_code", "status_code");
            mark(prost, &response, "status_message", "status_message");
        }
    }
}

/// Marks field `field` of `message` `#[rpc(role)]`.
fn mark(prost: &mut prost_build::Config, message: &str, field: &str, role: &str) {
    prost.field_attribute(format!("{message}.{field}"), format!("#[rpc({role})]"));
}

/// A fully qualified protobuf name, as prost-build's paths spell it.
fn qualified(package: &str, name: &str) -> String {
    if package.is_empty() {
        format!(".{name}")
    } else {
        format!(".{package}.{name}")
    }
}

/// Adds the envelopes of every service, and one metadata entry message per
/// package that has a service, to `files`.
///
/// # Errors
///
/// `InvalidInput` naming the service: a service without methods, or a message name the
/// envelopes need already taken in the package.
pub(crate) fn add_envelopes(files: &mut FileDescriptorSet) -> io::Result<Vec<Added>> {
    let mut taken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files.file {
        let names = taken.entry(file.package().to_owned()).or_default();
        names.extend(file.message_type.iter().map(|m| m.name().to_owned()));
    }
    let mut added: BTreeMap<String, Added> = BTreeMap::new();
    for file in &mut files.file {
        let package = file.package().to_owned();
        let mut messages: Vec<(DescriptorProto, Docs)> = Vec::new();
        if !file.service.is_empty() && file.syntax() != "proto3" {
            return Err(invalid(format!(
                "protosocket-build: {} declares a service but is not proto3; the envelopes need proto3's plain scalar fields",
                file.name()
            )));
        }
        for service in &file.service {
            check_service(&package, service)?;
            let names = taken.entry(package.clone()).or_default();
            let mut new = vec![
                request_name(service.name()),
                response_name(service.name()),
                codec_name(service.name()),
            ];
            if !added.contains_key(&package) {
                new.push(METADATA_ENTRY.to_owned());
            }
            for name in &new {
                if names.contains(name) {
                    return Err(invalid(format!(
                        "protosocket-build: service {} needs the name {}, which package \"{package}\" already has; rename one of them",
                        qualified(&package, service.name()).trim_start_matches('.'),
                        name
                    )));
                }
            }
            names.extend(new.iter().cloned());
            let entry = qualified(&package, METADATA_ENTRY);
            let envelopes = added.entry(package.clone()).or_insert_with(|| {
                messages.push((metadata_entry(), metadata_entry_docs));
                Added {
                    package: package.clone(),
                    services: Vec::new(),
                }
            });
            envelopes.services.push(service.name().to_owned());
            messages.push((request_envelope(service, &entry), request_docs));
            messages.push((response_envelope(service, &entry), response_docs));
        }
        let first = file.message_type.len();
        for (offset, (message, docs)) in messages.into_iter().enumerate() {
            if let Some(info) = file.source_code_info.as_mut() {
                let index = i32::try_from(first + offset).unwrap_or(i32::MAX);
                info.location.extend(locations(&message, index, docs));
            }
            file.message_type.push(message);
        }
        // prost-build looks locations up by binary search on their path.
        if let Some(info) = file.source_code_info.as_mut() {
            info.location.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
    Ok(added.into_values().collect())
}

/// The doc comment of an added message (`None`), or of one of its fields or
/// its `oneof` (by name).
type Docs = fn(Option<&str>) -> String;

fn metadata_entry_docs(part: Option<&str>) -> String {
    match part {
        None => "One metadata entry of an envelope: a key and a text or binary value.",
        Some("key") => "The key; lower case by convention.",
        Some("text") => "A text value.",
        Some("binary") => "A binary value.",
        Some(_) => "The value.",
    }
    .to_owned()
}

fn request_docs(part: Option<&str>) -> String {
    match part {
        None => "A request envelope: the rpc's id and control code, the time the caller gives \
                 the call, metadata and the method called."
            .to_owned(),
        Some("id") => {
            "The rpc's id, set by the client; unique per connection while in flight.".to_owned()
        }
        Some("code") => "The control code (`protosocket_rpc::ControlCode`).".to_owned(),
        Some("timeout_micros") => {
            "The time the caller gives the call, in microseconds from when the \
                                   server reads it; 0 for none."
                .to_owned()
        }
        Some("metadata") => "Metadata entries.".to_owned(),
        Some("body") => {
            "The method called and its request; `None` in a control message.".to_owned()
        }
        Some(method) => format!("A call of `{method}`."),
    }
}

fn response_docs(part: Option<&str>) -> String {
    match part {
        None => "A response envelope: the rpc's id and control code, a failed call's status, \
                 metadata and the method's response."
            .to_owned(),
        Some("id") => "The id of the request answered.".to_owned(),
        Some("code") => {
            "The control code (`protosocket_rpc::ControlCode`); `Status` for a failed call."
                .to_owned()
        }
        Some("status_code") => {
            "A failed call's status code (`protosocket_rpc::StatusCode`); 0 for none.".to_owned()
        }
        Some("status_message") => "A failed call's status message.".to_owned(),
        Some("metadata") => "Metadata entries.".to_owned(),
        Some("body") => {
            "The method's response; `None` in a control message or a failure.".to_owned()
        }
        Some(method) => format!("A response (or stream item) of `{method}`."),
    }
}

/// Source locations carrying the doc comments of `message`, the `index`th of
/// its file: prost-build needs one for every element of a file that has
/// source info, and writes their comments as docs.
fn locations(message: &DescriptorProto, index: i32, docs: Docs) -> Vec<Location> {
    let location = |path: Vec<i32>, doc: String| Location {
        path,
        span: vec![0, 0, 0],
        leading_comments: Some(format!(" {doc}\n")),
        ..Default::default()
    };
    let mut all = vec![location(vec![4, index], docs(None))];
    for (field, at) in message.field.iter().zip(0..) {
        all.push(location(vec![4, index, 2, at], docs(Some(field.name()))));
    }
    for (oneof, at) in message.oneof_decl.iter().zip(0..) {
        all.push(location(vec![4, index, 8, at], docs(Some(oneof.name()))));
    }
    all
}

/// Refuses what protosocket-rpc cannot serve yet, naming it.
fn check_service(package: &str, service: &ServiceDescriptorProto) -> io::Result<()> {
    let name = qualified(package, service.name());
    let name = name.trim_start_matches('.');
    if service.method.is_empty() {
        return Err(invalid(format!(
            "protosocket-build: service {name} has no methods; an envelope needs at least one"
        )));
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn metadata_entry() -> DescriptorProto {
    DescriptorProto {
        name: Some(METADATA_ENTRY.to_owned()),
        field: vec![
            scalar("key", 1, Type::String),
            FieldDescriptorProto {
                oneof_index: Some(0),
                ..scalar("text", 2, Type::String)
            },
            FieldDescriptorProto {
                oneof_index: Some(0),
                ..scalar("binary", 3, Type::Bytes)
            },
        ],
        oneof_decl: vec![oneof("value")],
        ..Default::default()
    }
}

fn request_envelope(service: &ServiceDescriptorProto, entry: &str) -> DescriptorProto {
    let mut field = vec![
        scalar("id", 1, Type::Uint64),
        scalar("code", 2, Type::Uint32),
        scalar("timeout_micros", 3, Type::Uint64),
        repeated_message("metadata", 4, entry),
    ];
    field.extend(method_fields(service, |m| m.input_type()));
    envelope(request_name(service.name()), field)
}

fn response_envelope(service: &ServiceDescriptorProto, entry: &str) -> DescriptorProto {
    let mut field = vec![
        scalar("id", 1, Type::Uint64),
        scalar("code", 2, Type::Uint32),
        scalar("status_code", 3, Type::Uint32),
        scalar("status_message", 4, Type::String),
        repeated_message("metadata", 5, entry),
    ];
    field.extend(method_fields(service, |m| m.output_type()));
    envelope(response_name(service.name()), field)
}

fn envelope(name: String, field: Vec<FieldDescriptorProto>) -> DescriptorProto {
    DescriptorProto {
        name: Some(name),
        field,
        oneof_decl: vec![oneof("body")],
        ..Default::default()
    }
}

/// One `oneof body` field per method, of the type `message_type` picks.
fn method_fields<'a>(
    service: &'a ServiceDescriptorProto,
    message_type: impl Fn(&'a prost_types::MethodDescriptorProto) -> &'a str + 'a,
) -> impl Iterator<Item = FieldDescriptorProto> + 'a {
    service
        .method
        .iter()
        .zip(FIRST_METHOD_TAG..)
        .map(move |(method, tag)| FieldDescriptorProto {
            name: Some(method_field(method.name())),
            number: Some(tag),
            label: Some(Label::Optional as i32),
            r#type: Some(Type::Message as i32),
            type_name: Some(message_type(method).to_owned()),
            oneof_index: Some(0),
            ..Default::default()
        })
}

fn scalar(name: &str, number: i32, kind: Type) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.to_owned()),
        number: Some(number),
        label: Some(Label::Optional as i32),
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

fn repeated_message(name: &str, number: i32, type_name: &str) -> FieldDescriptorProto {
    FieldDescriptorProto {
        label: Some(Label::Repeated as i32),
        type_name: Some(type_name.to_owned()),
        ..scalar(name, number, Type::Message)
    }
}

fn oneof(name: &str) -> OneofDescriptorProto {
    OneofDescriptorProto {
        name: Some(name.to_owned()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use prost_types::{FileDescriptorProto, MethodDescriptorProto};

    use super::*;

    fn method(name: &str, client_streaming: bool, server_streaming: bool) -> MethodDescriptorProto {
        MethodDescriptorProto {
            name: Some(name.to_owned()),
            input_type: Some(".kv.In".to_owned()),
            output_type: Some(".kv.Out".to_owned()),
            client_streaming: Some(client_streaming),
            server_streaming: Some(server_streaming),
            ..Default::default()
        }
    }

    fn files(methods: Vec<MethodDescriptorProto>, messages: &[&str]) -> FileDescriptorSet {
        FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("kv.proto".to_owned()),
                package: Some("kv".to_owned()),
                syntax: Some("proto3".to_owned()),
                message_type: messages
                    .iter()
                    .map(|name| DescriptorProto {
                        name: Some((*name).to_owned()),
                        ..Default::default()
                    })
                    .collect(),
                service: vec![ServiceDescriptorProto {
                    name: Some("Kv".to_owned()),
                    method: methods,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn error(mut files: FileDescriptorSet) -> String {
        add_envelopes(&mut files).expect_err("refused").to_string()
    }

    #[test]
    fn envelopes_carry_the_fixed_fields_then_one_variant_per_method() {
        let mut files = files(
            vec![method("Get", false, false), method("ScanAll", false, true)],
            &["In", "Out"],
        );
        let added = add_envelopes(&mut files).expect("envelopes");
        assert_eq!(added.len(), 1);
        let names: Vec<&str> = files.file[0]
            .message_type
            .iter()
            .map(|m| m.name())
            .collect();
        assert_eq!(
            names,
            ["In", "Out", "MetadataEntry", "KvRequest", "KvResponse"]
        );
        let fields = |message: &DescriptorProto| -> Vec<(String, i32)> {
            message
                .field
                .iter()
                .map(|field| (field.name().to_owned(), field.number()))
                .collect()
        };
        let request = &files.file[0].message_type[3];
        let owned = |pairs: &[(&str, i32)]| -> Vec<(String, i32)> {
            pairs
                .iter()
                .map(|(name, tag)| ((*name).to_owned(), *tag))
                .collect()
        };
        assert_eq!(
            fields(request),
            owned(&[
                ("id", 1),
                ("code", 2),
                ("timeout_micros", 3),
                ("metadata", 4),
                ("get", 8),
                ("scan_all", 9)
            ])
        );
        assert_eq!(request.field[4].type_name(), ".kv.In");
        assert_eq!(request.field[4].oneof_index, Some(0));
        let response = &files.file[0].message_type[4];
        assert_eq!(
            fields(response),
            owned(&[
                ("id", 1),
                ("code", 2),
                ("status_code", 3),
                ("status_message", 4),
                ("metadata", 5),
                ("get", 8),
                ("scan_all", 9),
            ])
        );
        assert_eq!(response.field[6].type_name(), ".kv.Out");
    }

    #[test]
    fn every_kind_of_rpc_gets_its_variant() {
        let mut files = files(
            vec![
                method("Get", false, false),
                method("Load", true, false),
                method("Watch", true, true),
            ],
            &["In", "Out"],
        );
        add_envelopes(&mut files).expect("envelopes");
        let request = &files.file[0].message_type[3];
        let tags: Vec<(&str, i32)> = request.field[4..]
            .iter()
            .map(|field| (field.name(), field.number()))
            .collect();
        assert_eq!(tags, [("get", 8), ("load", 9), ("watch", 10)]);
    }

    #[test]
    fn a_taken_envelope_name_or_an_empty_service_is_refused() {
        let taken = error(files(vec![method("Get", false, false)], &["KvResponse"]));
        assert!(taken.contains("needs the name KvResponse"), "{taken}");
        let empty = error(files(Vec::new(), &[]));
        assert!(empty.contains("kv.Kv has no methods"), "{empty}");
    }

    #[test]
    fn a_proto2_file_with_a_service_is_refused() {
        let mut proto2 = files(vec![method("Get", false, false)], &[]);
        proto2.file[0].syntax = Some("proto2".to_owned());
        assert!(error(proto2).contains("is not proto3"));
    }
}
