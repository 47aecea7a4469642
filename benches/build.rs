//! Generates `proto/echo.proto`'s service twice: with protosocket-build into
//! `OUT_DIR/echo.rs` and with tonic-prost-build into `OUT_DIR/tonic/echo.rs`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    protosocket_build::compile_protos(&["proto/echo.proto"], &["proto"])?;
    let tonic_dir =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("tonic");
    std::fs::create_dir_all(&tonic_dir)?;
    let files = protox::compile(["proto/echo.proto"], ["proto"]).map_err(std::io::Error::other)?;
    tonic_prost_build::configure()
        .out_dir(tonic_dir)
        .compile_fds(files)
}
