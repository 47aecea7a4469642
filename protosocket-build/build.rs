//! Generates the tests' service (`tests/proto/shapes.proto`) with this crate's
//! own code, so the integration tests exercise what a user's build script gets.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "src/lib.rs"]
mod protosocket_build;

fn main() -> std::io::Result<()> {
    protosocket_build::compile_protos(&["tests/proto/shapes.proto"], &["tests/proto"])
}
