//! Criterion benches for the protosocket workspace.
//!
//! Each component is measured against the crate a user would otherwise pick, in the
//! same run. The benches live in `benches/`; run them with
//! `cargo bench -p benches --bench <name>`.
//!
//! Layout:
//! - `benches/channel.rs`: spillway against tokio mpsc, flume, crossbeam-channel and kanal.
//! - `benches/mutex.rs`: k-lock against std and parking_lot.
