//! Generates the `kv` package of example-kv's `proto/kv.proto` with tonic:
//! its messages, the `Kv` server trait with `KvServer`, and `KvClient`.

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=../proto/kv.proto");
    let files =
        protox::compile(["../proto/kv.proto"], ["../proto"]).map_err(std::io::Error::other)?;
    tonic_prost_build::compile_fds(files)
}
