//! 1,000 connections at once, each doing a few commands through the `redis`
//! crate on a shared store across two runtime workers; every one is answered
//! and every counter update lands.

mod support;

use support::{bounded, query, Server};

const CONNECTIONS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_each_doing_a_few_commands() {
    let server = Server::start();
    let url = server.url("", "");
    // Every connection is opened before any of them runs a command, so all
    // 1,000 are open at once.
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let client = redis::Client::open(url.as_str()).expect("url");
        connections.push(
            bounded("connect", client.get_multiplexed_async_connection())
                .await
                .expect("connect"),
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut c) in connections.into_iter().enumerate() {
        tasks.spawn(async move {
            let key = format!("key{i}");
            let _: () = query(&mut c, &["SET", &key, &i.to_string()]).await.unwrap();
            let value: String = query(&mut c, &["GET", &key]).await.unwrap();
            assert_eq!(value, i.to_string());
            let _: i64 = query(&mut c, &["INCR", "shared"]).await.unwrap();
            let _: i64 = query(&mut c, &["DEL", &key]).await.unwrap();
            c
        });
    }
    let mut open = Vec::with_capacity(CONNECTIONS);
    while let Some(done) = bounded("a connection's commands", tasks.join_next()).await {
        open.push(done.expect("connection task"));
    }
    let mut c = server.client().await;
    assert_eq!(
        query::<i64>(&mut c, &["GET", "shared"]).await.unwrap(),
        CONNECTIONS as i64
    );
    assert_eq!(query::<i64>(&mut c, &["DBSIZE"]).await.unwrap(), 1);
    let info: String = query(&mut c, &["INFO", "clients"]).await.unwrap();
    assert_eq!(
        info,
        format!("# Clients\r\nconnected_clients:{}\r\n", CONNECTIONS + 1)
    );
    drop(open);
    server.stop().await;
}
