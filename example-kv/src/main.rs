//! The one-command demo: starts the kv server on an ephemeral port in this
//! process, makes one call of each kind with the generated client, prints each
//! call and its outcome, and shuts the server down.

use std::pin::{pin, Pin};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use example_kv::kv::{
    DeleteRequest, Entry, Event, GetRequest, KvClient, ScanRequest, SetRequest, WatchRequest,
};
use example_kv::{KvService, Store};
use futures::{stream, Stream, StreamExt};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::CallOptions;

/// How long the demo waits for any one step of the watch before giving up.
const WATCH_WAIT: Duration = Duration::from_secs(5);

/// The kv server and a client in one process: sets, gets (one missing, one
/// expired), scans, deletes, bulk-loads while a watch looks on, and prints
/// what each call answered.
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
    let store = Arc::new(Store::default());
    let service = KvService::new(Arc::clone(&store)).served_by("kv-demo");
    let server = example_kv::start_server(cli.host, service)?;
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
        "get session:1 (trace-id demo-1, 1 s deadline): {} ms left, served-by {}",
        live.get_ref().ttl_left_ms,
        live.metadata().text("served-by").unwrap_or("-")
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

    bulk_load_watched(&client, &store).await?;

    server.shutdown().await;
    println!("server shut down");
    Ok(())
}

/// Watches "user:" while a bulk load sets users and a team, and prints what
/// each saw; then a bulk load with an empty key fails.
async fn bulk_load_watched(
    client: &KvClient,
    store: &Store,
) -> Result<(), Box<dyn std::error::Error>> {
    let watch_users = WatchRequest {
        prefix: "user:".into(),
        stop: false,
    };
    // The watch stays open after its one request until it is dropped.
    let mut watch = pin!(client.watch(stream::iter([watch_users]).chain(stream::pending())));
    // Polled until the server has started watching (the store counts it).
    let subscribed = async {
        while store.watchers() == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        () = subscribed => println!("watch user: started"),
        event = watch.next() => return Err(format!("the watch ended early: {event:?}").into()),
        () = tokio::time::sleep(WATCH_WAIT) => return Err("the watch did not start".into()),
    }

    let entries = [
        ("user:4", "barbara"),
        ("team:2", "compilers"),
        ("user:1", "ada lovelace"),
    ]
    .map(|(key, value)| Entry {
        key: key.into(),
        value: value.into(),
    });
    let loaded = client.bulk_load(stream::iter(entries)).await?;
    println!(
        "bulk load user:4, team:2, user:1: loaded {}, replaced {}",
        loaded.loaded, loaded.replaced
    );
    for _ in 0..2 {
        print_event(watch.as_mut(), "").await?;
    }

    let bad = [("user:5", "edsger"), ("", "nobody")].map(|(key, value)| Entry {
        key: key.into(),
        value: value.into(),
    });
    let failed = client.bulk_load(stream::iter(bad)).await;
    println!("bulk load user:5, \"\": {}", outcome(&failed));
    print_event(watch, " (set before the empty key)").await
}

/// Waits for the watch's next event and prints it, followed by `note`.
async fn print_event(
    mut watch: Pin<&mut impl Stream<Item = Result<Event, protosocket_rpc::Error>>>,
    note: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let event = tokio::time::timeout(WATCH_WAIT, watch.next())
        .await
        .map_err(|_| "no watch event")?
        .ok_or("the watch ended")??;
    println!(
        "watch user: -> {} = {:?}{note}",
        event.key,
        String::from_utf8_lossy(&event.value)
    );
    Ok(())
}

/// A call's outcome in a few words.
fn outcome<T>(result: &Result<T, protosocket_rpc::Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => format!("error: {error}"),
    }
}
