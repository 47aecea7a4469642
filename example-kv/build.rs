//! Generates the `kv` package: its messages, the `Kv` server trait and glue,
//! and `KvClient`.

fn main() -> std::io::Result<()> {
    protosocket_build::compile_protos(&["proto/kv.proto"], &["proto"])
}
