//! `HELLO 3` switches the connection to RESP3: the HELLO reply itself is a map,
//! nulls are `_`, `CONFIG GET` is a map, `INFO` a verbatim string; replies
//! queued before the switch stay RESP2. `HELLO 2` switches back.

mod support;

use support::{query, Server};

#[tokio::test]
async fn hello_3_switches_reply_types() {
    let server = Server::start();
    let mut raw = server.raw().await;
    assert_eq!(raw.ask(&["GET", "none"]).await, "$-1\r\n");
    let hello = raw.ask(&["HELLO", "3"]).await;
    let id = raw.ask(&["CLIENT", "ID"]).await;
    let id = id.trim_start_matches(':').trim_end();
    assert_eq!(
        hello,
        format!(
            "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n\
             $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
             $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
        )
    );
    assert_eq!(raw.ask(&["GET", "none"]).await, "_\r\n");
    assert_eq!(raw.ask(&["MGET", "none"]).await, "*1\r\n_\r\n");
    assert_eq!(
        raw.ask(&["CONFIG", "GET", "save"]).await,
        "%1\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
    assert_eq!(
        raw.ask(&["INFO", "keyspace"]).await,
        "=16\r\ntxt:# Keyspace\r\n\r\n"
    );
    assert!(raw.ask(&["HELLO", "2"]).await.starts_with("*14\r\n"));
    assert_eq!(raw.ask(&["GET", "none"]).await, "$-1\r\n");
    server.stop().await;
}

#[tokio::test]
async fn replies_queued_before_hello_keep_their_protocol() {
    let server = Server::start();
    let mut raw = server.raw().await;
    raw.send_bytes(b"GET none\r\nHELLO 3\r\nGET none\r\n").await;
    assert_eq!(raw.reply().await, "$-1\r\n");
    assert!(raw.reply().await.starts_with("%7\r\n"));
    assert_eq!(raw.reply().await, "_\r\n");
    server.stop().await;
}

#[tokio::test]
async fn the_redis_crate_speaks_resp3() {
    let server = Server::start();
    let url = server.url("", "?protocol=resp3");
    let mut c = server.client_at(&url).await.expect("connect");
    assert_eq!(
        query::<redis::Value>(&mut c, &["GET", "none"])
            .await
            .unwrap(),
        redis::Value::Nil
    );
    let config: redis::Value = query(&mut c, &["CONFIG", "GET", "appendonly"])
        .await
        .unwrap();
    assert_eq!(
        config,
        redis::Value::Map(vec![(
            redis::Value::BulkString(b"appendonly".to_vec()),
            redis::Value::BulkString(b"no".to_vec())
        )])
    );
    let info: String = query(&mut c, &["INFO", "server"]).await.unwrap();
    assert!(
        info.starts_with("# Server\r\nredis_version:7.0.0\r\n"),
        "{info}"
    );
    server.stop().await;
}
