//! Health: whether a server is serving, per service name, for load balancers
//! and for the [`RpcPool`](crate::client::RpcPool).
//!
//! The server answers health checks itself, from its [`HealthReporter`]; the
//! service never sees them. A check is the control code
//! [`Health`](crate::ControlCode::Health) on a request of its own id, with the
//! service name in the metadata key [`SERVICE_KEY`]; the answer is `Health`
//! with the same id and the status in the metadata key [`STATUS_KEY`]. An
//! upstream 2.x server reads the check as a `Cancel` for an rpc it does not
//! have and ignores it, so the check ends by its deadline; an upstream client
//! never sends one. Checks need a message type that carries metadata: without
//! it the name and the answer are lost, and the status reads
//! [`Unknown`](HealthStatus::Unknown).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::lock::lock;

/// The metadata key of a health check's service name.
pub const SERVICE_KEY: &str = "health-service";
/// The metadata key of a health answer's status.
pub const STATUS_KEY: &str = "health-status";

/// Whether a service is serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    /// The server knows no such service (or could not say).
    Unknown,
    /// Calls are welcome.
    Serving,
    /// Send calls elsewhere: the service is down, or the server is shutting
    /// down.
    NotServing,
}

impl HealthStatus {
    /// The name on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Unknown => "UNKNOWN",
            HealthStatus::Serving => "SERVING",
            HealthStatus::NotServing => "NOT_SERVING",
        }
    }

    /// Reads a name from the wire; anything else is `Unknown`.
    ///
    /// ```
    /// use protosocket_rpc::health::HealthStatus;
    ///
    /// assert_eq!(HealthStatus::from_name("SERVING"), HealthStatus::Serving);
    /// assert_eq!(HealthStatus::from_name("maybe"), HealthStatus::Unknown);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        match name {
            "SERVING" => HealthStatus::Serving,
            "NOT_SERVING" => HealthStatus::NotServing,
            _ => HealthStatus::Unknown,
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sets the health a server reports, per service name; the empty name is the
/// whole server, which starts [`Serving`](HealthStatus::Serving). Other names
/// are [`Unknown`](HealthStatus::Unknown) until set.
///
/// Clones share one table; it is `Send + Sync`. Give a clone to
/// [`RpcServerConfig::health_reporter`](crate::server::RpcServerConfig::health_reporter)
/// and keep one to flip. A graceful shutdown sets the whole server
/// [`NotServing`](HealthStatus::NotServing) first, and while it lasts every
/// service reports `NotServing`.
///
/// ```
/// use protosocket_rpc::health::{HealthReporter, HealthStatus};
///
/// let health = HealthReporter::new();
/// assert_eq!(health.status(""), HealthStatus::Serving);
/// assert_eq!(health.status("kv"), HealthStatus::Unknown);
/// health.set("kv", HealthStatus::Serving);
/// health.set("", HealthStatus::NotServing);
/// assert_eq!(health.status("kv"), HealthStatus::NotServing);
/// ```
#[derive(Clone)]
pub struct HealthReporter {
    services: Arc<Mutex<HashMap<String, HealthStatus>>>,
}

impl HealthReporter {
    /// A table where the whole server is serving and no service is named.
    #[must_use]
    pub fn new() -> Self {
        let services = HashMap::from([(String::new(), HealthStatus::Serving)]);
        Self {
            services: Arc::new(Mutex::new(services)),
        }
    }

    /// Sets `service`'s status (`""` for the whole server).
    pub fn set(&self, service: &str, status: HealthStatus) {
        lock(&self.services).insert(service.to_string(), status);
    }

    /// `service`'s status: `NotServing` for every service while the whole
    /// server is not serving, `Unknown` for a name never set.
    #[must_use]
    pub fn status(&self, service: &str) -> HealthStatus {
        let services = lock(&self.services);
        if services.get("") == Some(&HealthStatus::NotServing) {
            return HealthStatus::NotServing;
        }
        services
            .get(service)
            .copied()
            .unwrap_or(HealthStatus::Unknown)
    }
}

impl Default for HealthReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HealthReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthReporter")
            .field("services", &*lock(&self.services))
            .finish()
    }
}
