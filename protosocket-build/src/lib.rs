//! Generates protosocket-rpc services from `.proto` files, from a build script.
//!
//! For each `service` in the files it writes, beside the messages prost
//! generates: a request and a response envelope (prost messages with the id and
//! control code of every protosocket-rpc message, metadata, a timeout or a
//! status, and a `oneof` with one variant per method), a server trait with one
//! method per rpc, the glue that serves it (`XxxServer<T>`, a
//! [`SocketService`](https://docs.rs/protosocket-rpc)) and a typed client
//! (`XxxClient`) over one connection or a pool. The `.proto` files are parsed by
//! [protox](https://docs.rs/protox), in Rust: no `protoc` is needed.
//!
//! In `build.rs`:
//!
//! ```no_run
//! fn main() -> std::io::Result<()> {
//!     protosocket_build::compile_protos(&["proto/kv.proto"], &["proto"])
//! }
//! ```
//!
//! and in the crate, for the package `kv`:
//!
//! ```ignore
//! pub mod kv {
//!     include!(concat!(env!("OUT_DIR"), "/kv.rs"));
//! }
//! ```
//!
//! The generated code names `::prost`, `::protosocket_rpc` and
//! `::protosocket_prost`: the crate depends on all three. The envelope's wire
//! form, how methods map to its tags and what the generated items look like are
//! in the crate's README.
//!
//! Every kind of rpc is generated: unary, server streaming, client streaming and
//! bidirectional. Handlers are lent their call's context
//! (`&mut protosocket_rpc::server::CallContext`), read its deadline and request
//! metadata, and may set the response's metadata; client-streaming and
//! bidirectional handlers read their inputs from a `protosocket_rpc::Requests`,
//! and their client methods take a `Stream` of inputs.
//!
//! Layout:
//! - `envelope`: the envelope and metadata entry messages added to each package
//!   with a service, and the checks on the services;
//! - `generator`: the server trait, its glue and the client, written through
//!   prost-build's service generator hook.

use std::io;
use std::path::{Path, PathBuf};

mod body;
mod envelope;
mod generator;

/// Compiles `protos` (found under `includes`) into Rust in `OUT_DIR`: prost
/// messages, and for each service its envelopes, server trait, server glue and
/// client. Cargo is told to rerun the build script when the files change.
///
/// # Errors
///
/// A file that does not parse or resolve (the error names the file and line), a
/// service without methods, a message name the envelopes need already taken, a
/// file with a service that is not proto3, or an i/o error writing the output.
pub fn compile_protos(
    protos: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> io::Result<()> {
    Builder::new().compile_protos(protos, includes)
}

/// Options of the generation, for what [`compile_protos`] does by default.
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `prost_config` | `prost_build::Config::new()` | prost's own options (extra derives, `bytes` fields, ...); the builder adds its attributes and service generator to it |
/// | `out_dir` | `OUT_DIR` | where the `.rs` files are written |
/// | `build_server` | true | generate the server trait and `XxxServer` |
/// | `build_client` | true | generate `XxxClient` |
/// | `emit_rerun_if_changed` | true | print `cargo:rerun-if-changed` for the inputs |
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// protosocket_build::Builder::new()
///     .build_client(false)
///     .compile_protos(&["proto/kv.proto"], &["proto"])
/// # }
/// ```
#[derive(Debug)]
pub struct Builder {
    prost: prost_build::Config,
    out_dir: Option<PathBuf>,
    server: bool,
    client: bool,
    rerun: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// The defaults in the table above.
    #[must_use]
    pub fn new() -> Self {
        Self {
            prost: prost_build::Config::new(),
            out_dir: None,
            server: true,
            client: true,
            rerun: true,
        }
    }

    /// prost-build's configuration, taken whole; its `out_dir` is overridden by
    /// [`out_dir`](Self::out_dir) when that is set, and its service generator is
    /// replaced.
    #[must_use]
    pub fn prost_config(mut self, config: prost_build::Config) -> Self {
        self.prost = config;
        self
    }

    /// Where the generated files go, instead of `OUT_DIR`.
    #[must_use]
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether to generate the server trait and its glue.
    #[must_use]
    pub fn build_server(mut self, enable: bool) -> Self {
        self.server = enable;
        self
    }

    /// Whether to generate the typed client.
    #[must_use]
    pub fn build_client(mut self, enable: bool) -> Self {
        self.client = enable;
        self
    }

    /// Whether to print `cargo:rerun-if-changed` lines for the inputs.
    #[must_use]
    pub fn emit_rerun_if_changed(mut self, enable: bool) -> Self {
        self.rerun = enable;
        self
    }

    /// Parses `protos` (found under `includes`) and generates their code.
    ///
    /// # Errors
    ///
    /// As [`compile_protos`].
    pub fn compile_protos(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<()> {
        if self.rerun {
            for path in protos.iter().map(AsRef::as_ref) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            for path in includes.iter().map(AsRef::as_ref) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let files = protox::compile(protos, includes).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("protosocket-build: {error}"),
            )
        })?;
        self.compile_fds(files)
    }

    /// Generates the code of an already parsed set of files (from `protox` or
    /// `protoc --descriptor_set_out --include_imports`).
    ///
    /// # Errors
    ///
    /// As [`compile_protos`], past the parsing.
    pub fn compile_fds(self, mut files: prost_types::FileDescriptorSet) -> io::Result<()> {
        let bodies = body::Bodies::of(&files);
        let envelopes = envelope::add_envelopes(&mut files)?;
        let mut prost = self.prost;
        if let Some(dir) = self.out_dir {
            prost.out_dir(dir);
        }
        for added in &envelopes {
            added.configure(&mut prost);
        }
        prost.service_generator(Box::new(generator::Generator::new(
            self.server,
            self.client,
            bodies,
        )));
        prost.compile_fds(files)
    }
}
