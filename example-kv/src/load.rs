//! `example-kv load`: callers making sets, gets and scans through a pool over
//! several servers until told to stop, then the count of calls made and failed.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use example_kv::deploy;
use example_kv::kv::{GetRequest, KvClient, ScanRequest, SetRequest};
use futures::StreamExt;
use protosocket::{Connect, Endpoint};
use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
use protosocket_rpc::StatusCode;
use protosocket_server::StopSignals;

use crate::tls_files::ClientTls;

/// Makes calls through a pool of connections to `--endpoints` until
/// `--seconds` have passed or SIGTERM or Ctrl-C, then prints
/// `calls made N, failed M`; exit 0 only when none failed and some were made.
/// A caller whose call failed waits 10 ms before its next one.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// The servers, comma-separated (`kv-a.test:7000,kv-b.test:7000`); host
    /// names are resolved again on every reconnect.
    #[arg(long, value_delimiter = ',', required = true)]
    endpoints: Vec<Endpoint>,
    #[command(flatten)]
    tls: ClientTls,
    /// The token each connection shows once.
    #[arg(long, env = "KV_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Callers making calls at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The pool's connections, spread over the endpoints in turn.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// How long to run; without it, until SIGTERM or Ctrl-C.
    #[arg(long)]
    seconds: Option<f64>,
}

/// How long one call may take before it counts as failed.
const CALL_DEADLINE: Duration = Duration::from_secs(5);
/// How long a caller waits after a failed call (the pool's shortest backoff).
const FAILED_CALL_PAUSE: Duration = Duration::from_millis(10);
/// Failures whose errors are printed.
const FAILURES_SHOWN: usize = 5;
/// Every how many calls a caller scans instead.
const SCAN_EVERY: u64 = 10;

/// What the callers saw.
#[derive(Debug, Default)]
struct Tally {
    made: AtomicU64,
    failed: AtomicU64,
    ready: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl Tally {
    /// Counts a call; `what` names it if it failed. Whether it succeeded.
    fn record<T>(
        &self,
        what: impl FnOnce() -> String,
        result: Result<T, protosocket_rpc::Error>,
    ) -> bool {
        self.made.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(_) => {
                if !self.ready.swap(true, Ordering::Relaxed) {
                    println!("ready");
                    let _ = std::io::stdout().flush();
                }
                true
            }
            Err(error) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
                if failures.len() < FAILURES_SHOWN {
                    failures.push(format!("{}: {error}", what()));
                }
                false
            }
        }
    }
}

/// Runs the load and reports it; `Ok(true)` when no call failed and some were
/// made.
pub(crate) async fn load(args: LoadArgs) -> Result<bool, Box<dyn std::error::Error>> {
    let mut stop = StopSignals::install()?;
    let mut config = RpcClientConfig::default().default_deadline(Some(CALL_DEADLINE));
    if let Some(token) = &args.token {
        config = config.credentials(Some(deploy::credentials(token)));
    }
    let pool = PoolConfig::default()
        .connections(args.connections.max(1))
        .min_backoff(FAILED_CALL_PAUSE)
        .max_backoff(Duration::from_millis(250));
    let run = async {
        match args.seconds {
            Some(seconds) => {
                tokio::time::sleep(Duration::try_from_secs_f64(seconds)?).await;
                Ok("time is up".to_owned())
            }
            None => Ok::<_, Box<dyn std::error::Error>>(stop.recv().await.to_string()),
        }
    };
    let endpoints = args.endpoints;
    let tally = match args.tls.connector()? {
        Some(connector) => {
            let pool = RpcPool::with_connector(endpoints, connector, KvClient::codec, config, pool);
            callers(KvClient::from_pool(pool), args.concurrency, run).await?
        }
        None => {
            callers(
                KvClient::pool(endpoints, config, pool),
                args.concurrency,
                run,
            )
            .await?
        }
    };
    let failures = tally
        .failures
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    for failure in &failures {
        eprintln!("failed: {failure}");
    }
    let (made, failed) = (tally.made.into_inner(), tally.failed.into_inner());
    println!("calls made {made}, failed {failed}");
    Ok(failed == 0 && made > 0)
}

/// `concurrency` callers through `client` until `run` ends.
async fn callers<K>(
    client: KvClient<K>,
    concurrency: usize,
    run: impl std::future::Future<Output = Result<String, Box<dyn std::error::Error>>>,
) -> Result<Tally, Box<dyn std::error::Error>>
where
    K: Connect + Send + Sync + 'static,
{
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|caller| {
            let calls = caller_loop(
                client.clone(),
                caller,
                Arc::clone(&tally),
                Arc::clone(&stop),
            );
            tokio::spawn(calls)
        })
        .collect();
    let why = run.await?;
    eprintln!("stopping: {why}");
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    Ok(Arc::into_inner(tally).ok_or("a caller still holds the tally")?)
}

/// One caller: sets a key, reads one back, and every tenth call scans its
/// keys, until `stop`. Each server keeps a store of its own, so a get that
/// reaches another server than the set did may find nothing: NOT_FOUND is an
/// answer, and counts as a call that worked.
async fn caller_loop<K>(
    client: KvClient<K>,
    caller: usize,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) where
    K: Connect + Send + Sync + 'static,
{
    let prefix = format!("load:{caller}:");
    for i in 1u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let what = || format!("caller {caller} call {i}");
        let key = format!("{prefix}{}", i % 64);
        let succeeded = match i % SCAN_EVERY {
            0 => {
                let scan = client.scan(ScanRequest {
                    prefix: prefix.clone(),
                    limit: 8,
                });
                let entries: Vec<_> = scan.collect().await;
                let result = entries.into_iter().collect::<Result<Vec<_>, _>>();
                tally.record(what, result)
            }
            n if n % 2 == 1 => {
                let set = SetRequest {
                    key,
                    value: i.to_le_bytes().to_vec(),
                    ttl_ms: 0,
                };
                tally.record(what, client.set(set).await)
            }
            _ => {
                let got = match client.get(GetRequest { key }).await {
                    Err(error) if error.status_code() == StatusCode::NotFound => Ok(()),
                    other => other.map(drop),
                };
                tally.record(what, got)
            }
        };
        if !succeeded {
            // A pool with every server down fails each call at once: without
            // a pause, the callers would spin a core making failed calls.
            tokio::time::sleep(FAILED_CALL_PAUSE).await;
        }
    }
}
