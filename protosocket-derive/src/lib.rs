//! `#[derive(Message)]` for protosocket-rpc: say which fields of a struct hold the
//! id and the control code (and, optionally, a status, metadata and a timeout),
//! and the derive writes the `protosocket_rpc::Message` impl.
//!
//! Use it through `protosocket_rpc::Message` (the `derive` feature, on by
//! default): the trait and the derive share the name, as serde's do. The
//! generated code names `::protosocket_rpc`, so the crate using the derive
//! depends on protosocket-rpc.
//!
//! ```
//! use protosocket_rpc::{ControlCode, Message};
//!
//! #[derive(Debug, Default, Message)]
//! struct Ping {
//!     #[rpc(id)]
//!     id: u64,
//!     #[rpc(code)]
//!     code: u32,
//!     text: String,
//! }
//!
//! let ended = Ping::ended(4);
//! assert_eq!((ended.message_id(), ended.control_code()), (4, ControlCode::End));
//! ```
//!
//! Layout: `attributes` reads the `#[rpc(...)]` markers into the fields they
//! name; `expand` writes the impl.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attributes;
mod expand;

/// Implements `protosocket_rpc::Message` for a struct with named fields.
///
/// Mark the fields with `#[rpc(...)]`:
///
/// | marker | field type | required | what it carries |
/// |---|---|---|---|
/// | `#[rpc(id)]` | `u64` | yes | the rpc's id |
/// | `#[rpc(code)]` | `u32` | yes | the control code's wire value |
/// | `#[rpc(status_code)]` | `u32` | with `status_message` | a failed call's status code (0: none) |
/// | `#[rpc(status_message)]` | `String` | with `status_code` | a failed call's status message |
/// | `#[rpc(metadata)]` | `Metadata`, or a `Vec` of entries implementing `MetadataEntry` | no | the metadata |
/// | `#[rpc(timeout)]` | `u64` microseconds (0: none), or `Option<Duration>` | no | the time the caller gives the call |
///
/// The struct must implement `Default`: control messages (`Cancel`, `End`, a
/// status) are a default value with the id and the code set.
///
/// ```
/// use std::time::Duration;
///
/// use protosocket_rpc::{ControlCode, Message, Metadata, Status, StatusCode};
///
/// #[derive(Debug, Default, Message)]
/// struct Reply {
///     #[rpc(id)]
///     id: u64,
///     #[rpc(code)]
///     code: u32,
///     #[rpc(status_code)]
///     status: u32,
///     #[rpc(status_message)]
///     reason: String,
///     #[rpc(metadata)]
///     metadata: Metadata,
///     #[rpc(timeout)]
///     timeout: Option<Duration>,
///     body: Vec<u8>,
/// }
///
/// let mut failed = Reply::with_status(3, Status::not_found("no such key"));
/// assert_eq!(failed.control_code(), ControlCode::Status);
/// assert_eq!(failed.take_status(), Some(Status::not_found("no such key")));
/// ```
///
/// Both the id and the code must be marked:
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct NoCode {
///     #[rpc(id)]
///     id: u64,
///     code: u32,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct NoId {
///     id: u64,
///     #[rpc(code)]
///     code: u32,
/// }
/// ```
///
/// A marker the derive does not know is an error, not ignored:
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct Typo {
///     #[rpc(id)]
///     id: u64,
///     #[rpc(code)]
///     code: u32,
///     #[rpc(deadline)]
///     deadline: u64,
/// }
/// ```
///
/// So is a marker on two fields, and a status code without its message:
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct TwoIds {
///     #[rpc(id)]
///     id: u64,
///     #[rpc(id)]
///     other: u64,
///     #[rpc(code)]
///     code: u32,
/// }
/// ```
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct HalfStatus {
///     #[rpc(id)]
///     id: u64,
///     #[rpc(code)]
///     code: u32,
///     #[rpc(status_code)]
///     status: u32,
/// }
/// ```
///
/// Only structs with named fields can derive it:
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct Tuple(#[rpc(id)] u64, #[rpc(code)] u32);
/// ```
///
/// ```compile_fail
/// #[derive(protosocket_rpc::Message)]
/// enum Either {
///     A,
/// }
/// ```
///
/// A field of the wrong type is a type error at that field:
///
/// ```compile_fail
/// #[derive(Default, protosocket_rpc::Message)]
/// struct WrongType {
///     #[rpc(id)]
///     id: u32,
///     #[rpc(code)]
///     code: u32,
/// }
/// ```
#[proc_macro_derive(Message, attributes(rpc))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    attributes::Fields::read(&input)
        .map(|fields| expand::message_impl(&input, &fields))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
