//! What a handler knows of its call besides the request: its id, its deadline and
//! the metadata the client sent; and the metadata it answers with.

use std::time::{Duration, Instant};

use crate::message::Message;
use crate::metadata::Metadata;
use crate::server::auth::AuthContext;

/// One call's id, deadline and request metadata, and the metadata of its
/// response.
///
/// A handler of a generated service is lent the context for its call
/// (`&mut CallContext`) and may put metadata on its response with
/// [`set_response_metadata`](Self::set_response_metadata) or
/// [`response_metadata_mut`](Self::response_metadata_mut): the generated glue
/// moves it into the response (the first one of a stream). Empty response
/// metadata costs nothing: no allocation, nothing on the wire.
///
/// [`from_request`](Self::from_request) takes them from a request as it arrives:
/// the deadline is the time the client gave the call
/// ([`Message::timeout`]) counted from then, so the two hosts' clocks need not
/// agree.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    id: u64,
    deadline: Option<Instant>,
    metadata: Metadata,
    response_metadata: Metadata,
    /// The connection's auth context, when the server authenticates.
    auth: Option<AuthContext>,
}

impl CallContext {
    /// A context for call `id` with `deadline` and `metadata`.
    #[must_use]
    pub fn new(id: u64, deadline: Option<Instant>, metadata: Metadata) -> Self {
        Self {
            id,
            deadline,
            metadata,
            response_metadata: Metadata::new(),
            auth: None,
        }
    }

    /// The connection's auth context as a `T`: what the server's
    /// [`AuthHook`](crate::server::AuthHook) returned for this connection.
    /// `None` when the server does not authenticate, or the context is not a
    /// `T`.
    #[must_use]
    pub fn auth<T: std::any::Any>(&self) -> Option<&T> {
        self.auth.as_deref()?.downcast_ref()
    }

    /// The connection's auth context, untyped.
    #[must_use]
    pub fn auth_context(&self) -> Option<&AuthContext> {
        self.auth.as_ref()
    }

    /// Sets the auth context (the connection does, for every call).
    pub fn set_auth_context(&mut self, auth: Option<AuthContext>) {
        self.auth = auth;
    }

    /// The context of `request`, read now: its id, its timeout counted from now,
    /// and its metadata (taken out of the request).
    #[must_use]
    pub fn from_request(request: &mut impl Message) -> Self {
        let deadline = request.timeout().map(deadline_after);
        Self::new(request.message_id(), deadline, request.take_metadata())
    }

    /// The call's id on its connection.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// When the client stops waiting for the call, if it gave a deadline.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The time left until the deadline (zero once it passed), if there is one.
    #[must_use]
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// The metadata of the request.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata of the request, to edit (a hook adding what it learnt).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The metadata of the request, owned.
    #[must_use]
    pub fn into_metadata(self) -> Metadata {
        self.metadata
    }

    /// The metadata the response will carry, so far.
    #[must_use]
    pub fn response_metadata(&self) -> &Metadata {
        &self.response_metadata
    }

    /// The metadata the response will carry, to add to.
    pub fn response_metadata_mut(&mut self) -> &mut Metadata {
        &mut self.response_metadata
    }

    /// Sends `metadata` with the response (replacing what was set before).
    pub fn set_response_metadata(&mut self, metadata: Metadata) {
        self.response_metadata = metadata;
    }

    /// The response metadata, taken out (what the glue puts on the response).
    pub fn take_response_metadata(&mut self) -> Metadata {
        std::mem::take(&mut self.response_metadata)
    }
}

/// The deadline of a call given `timeout` from now.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(far_future)
}

/// An instant later than any deadline a call can reach (a timeout too large to
/// add to now is no deadline in practice).
fn far_future() -> Instant {
    // About 30 years: past any process's life, and small enough to add to now.
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}
