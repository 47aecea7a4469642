//! The one-command demo: starts the kv server on an ephemeral port in this
//! process, makes one call of each kind with the generated client, prints each
//! call and its outcome, and shuts the server down.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use example_kv::kv::{DeleteRequest, GetRequest, KvClient, ScanRequest, SetRequest};
use example_kv::KvService;
use futures::StreamExt;
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::CallOptions;

/// The kv server and a client in one process: sets, gets (one missing, one
/// expired), scans, deletes, and prints what each call answered.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Where the server listens (port 0: any free port).
    #[arg(long, env = "HOST", default_value = "127.0.0.1:0")]
    host: protosocket::Endpoint,
    /// The lifetime of the demo's expiring key, in milliseconds.
    #[arg(long, default_value_t = 200)]
    ttl_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let server = example_kv::start_server(cli.host, KvService::default())?;
    println!("kv server on {} in this process", server.local_endpoint());
    let client = KvClient::connect(server.local_endpoint(), &RpcClientConfig::default()).await?;

    for (key, value) in [
        ("user:1", "ada"),
        ("user:2", "grace"),
        ("user:3", "linus"),
        ("team:1", "kernel"),
    ] {
        let set = client
            .set(SetRequest {
                key: key.into(),
                value: value.into(),
                ttl_ms: 0,
            })
            .await?;
        println!("set {key} = {value:?}: replaced {}", set.replaced);
    }
    let session = SetRequest {
        key: "session:1".into(),
        value: b"token".to_vec(),
        ttl_ms: cli.ttl_ms,
    };
    client.set(session).await?;
    println!("set session:1 for {} ms", cli.ttl_ms);

    let got = client
        .get(GetRequest {
            key: "user:1".into(),
        })
        .await?;
    println!("get user:1 = {:?}", String::from_utf8_lossy(&got.value));
    let missing = client
        .get(GetRequest {
            key: "user:9".into(),
        })
        .await;
    println!("get user:9: {}", outcome(&missing));
    let empty = client.get(GetRequest { key: String::new() }).await;
    println!("get \"\": {}", outcome(&empty));

    let mut users = std::pin::pin!(client.scan(ScanRequest {
        prefix: "user:".into(),
        limit: 0
    }));
    while let Some(entry) = users.next().await {
        let entry = entry?;
        println!(
            "scan user: -> {} = {:?}",
            entry.key,
            String::from_utf8_lossy(&entry.value)
        );
    }

    let deleted = client
        .delete(DeleteRequest {
            key: "user:2".into(),
        })
        .await?;
    println!("delete user:2: deleted {}", deleted.deleted);
    let gone = client
        .get(GetRequest {
            key: "user:2".into(),
        })
        .await;
    println!("get user:2: {}", outcome(&gone));

    let options = CallOptions::new()
        .metadata("trace-id", "demo-1")
        .timeout(Duration::from_secs(1));
    let live = client
        .get_with(
            GetRequest {
                key: "session:1".into(),
            },
            options,
        )
        .await?;
    println!(
        "get session:1 (trace-id demo-1, 1 s deadline): {} ms left",
        live.get_ref().ttl_left_ms
    );
    tokio::time::sleep(Duration::from_millis(cli.ttl_ms)).await;
    let expired = client
        .get(GetRequest {
            key: "session:1".into(),
        })
        .await;
    println!(
        "get session:1 after {} ms: {}",
        cli.ttl_ms,
        outcome(&expired)
    );

    server.shutdown().await;
    println!("server shut down");
    Ok(())
}

/// A call's outcome in a few words.
fn outcome<T>(result: &Result<T, protosocket_rpc::Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => format!("error: {error}"),
    }
}
