//! Every command, through the `redis` crate (a client written by others), on
//! both stores.

mod support;

use example_resp::{RespConfig, StoreKind};
use redis::Value;
use support::{query, Server};

async fn every_command(kind: StoreKind) {
    let server = Server::start_with(RespConfig::default(), kind);
    let mut c = server.client().await;

    assert_eq!(query::<String>(&mut c, &["PING"]).await.unwrap(), "PONG");
    assert_eq!(
        query::<String>(&mut c, &["PING", "hi"]).await.unwrap(),
        "hi"
    );
    assert_eq!(
        query::<String>(&mut c, &["ECHO", "a b"]).await.unwrap(),
        "a b"
    );

    // SET and GET, with a binary value.
    let binary = [0u8, 13, 10, 255];
    let mut set = redis::cmd("SET");
    set.arg("bin").arg(&binary[..]);
    let () = support::bounded("set", set.query_async(&mut c))
        .await
        .unwrap();
    let got: Vec<u8> = query(&mut c, &["GET", "bin"]).await.unwrap();
    assert_eq!(got, binary);
    assert_eq!(
        query::<Value>(&mut c, &["GET", "missing"]).await.unwrap(),
        Value::Nil
    );

    // SET options.
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "1", "NX"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "2", "NX"])
            .await
            .unwrap(),
        Value::Nil
    );
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "3", "XX"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert_eq!(
        query::<Value>(&mut c, &["SET", "new", "3", "XX"])
            .await
            .unwrap(),
        Value::Nil
    );
    assert_eq!(
        query::<String>(&mut c, &["SET", "k", "4", "GET"])
            .await
            .unwrap(),
        "3"
    );
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "5", "EX", "100"])
            .await
            .unwrap(),
        Value::Okay
    );
    let ttl: i64 = query(&mut c, &["TTL", "k"]).await.unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "6", "KEEPTTL"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert!(query::<i64>(&mut c, &["TTL", "k"]).await.unwrap() > 0);
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "7", "PX", "100000"])
            .await
            .unwrap(),
        Value::Okay
    );
    let pttl: i64 = query(&mut c, &["PTTL", "k"]).await.unwrap();
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(
        query::<Value>(&mut c, &["SET", "k", "8"]).await.unwrap(),
        Value::Okay
    );
    assert_eq!(
        query::<i64>(&mut c, &["TTL", "k"]).await.unwrap(),
        -1,
        "SET clears the TTL"
    );

    // Counters.
    assert_eq!(query::<i64>(&mut c, &["INCR", "n"]).await.unwrap(), 1);
    assert_eq!(
        query::<i64>(&mut c, &["INCRBY", "n", "41"]).await.unwrap(),
        42
    );
    assert_eq!(query::<i64>(&mut c, &["DECR", "n"]).await.unwrap(), 41);
    assert_eq!(
        query::<i64>(&mut c, &["DECRBY", "n", "-9"]).await.unwrap(),
        50
    );
    assert_eq!(query::<String>(&mut c, &["GET", "n"]).await.unwrap(), "50");
    assert_eq!(
        query::<i64>(&mut c, &["INCR", "k"]).await.unwrap(),
        9,
        "a numeric string counts"
    );

    // MSET, MGET.
    assert_eq!(
        query::<Value>(&mut c, &["MSET", "a", "1", "b", "2"])
            .await
            .unwrap(),
        Value::Okay
    );
    let values: Vec<Option<String>> = query(&mut c, &["MGET", "a", "b", "none"]).await.unwrap();
    assert_eq!(values, vec![Some("1".into()), Some("2".into()), None]);

    // DEL, EXISTS.
    assert_eq!(
        query::<i64>(&mut c, &["EXISTS", "a", "b", "a", "none"])
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        query::<i64>(&mut c, &["DEL", "a", "none"]).await.unwrap(),
        1
    );
    assert_eq!(query::<i64>(&mut c, &["EXISTS", "a"]).await.unwrap(), 0);

    // EXPIRE, TTL, PEXPIRE, PTTL.
    assert_eq!(query::<i64>(&mut c, &["TTL", "none"]).await.unwrap(), -2);
    assert_eq!(
        query::<i64>(&mut c, &["EXPIRE", "none", "10"])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        query::<i64>(&mut c, &["EXPIRE", "b", "10"]).await.unwrap(),
        1
    );
    assert_eq!(query::<i64>(&mut c, &["TTL", "b"]).await.unwrap(), 10);
    assert_eq!(
        query::<i64>(&mut c, &["EXPIRE", "b", "20", "NX"])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        query::<i64>(&mut c, &["EXPIRE", "b", "20", "GT"])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        query::<i64>(&mut c, &["EXPIRE", "b", "5", "GT"])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        query::<i64>(&mut c, &["PEXPIRE", "b", "5000", "LT"])
            .await
            .unwrap(),
        1
    );
    let pttl: i64 = query(&mut c, &["PTTL", "b"]).await.unwrap();
    assert!((4_000..=5_000).contains(&pttl), "{pttl}");
    assert_eq!(
        query::<i64>(&mut c, &["EXPIRE", "b", "0"]).await.unwrap(),
        1
    );
    assert_eq!(
        query::<i64>(&mut c, &["EXISTS", "b"]).await.unwrap(),
        0,
        "a past time deletes"
    );

    // Lists.
    assert_eq!(
        query::<i64>(&mut c, &["RPUSH", "l", "b", "c"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(query::<i64>(&mut c, &["LPUSH", "l", "a"]).await.unwrap(), 3);
    assert_eq!(query::<i64>(&mut c, &["LLEN", "l"]).await.unwrap(), 3);
    let all: Vec<String> = query(&mut c, &["LRANGE", "l", "0", "-1"]).await.unwrap();
    assert_eq!(all, ["a", "b", "c"]);
    let tail: Vec<String> = query(&mut c, &["LRANGE", "l", "-2", "10"]).await.unwrap();
    assert_eq!(tail, ["b", "c"]);
    assert_eq!(query::<String>(&mut c, &["LPOP", "l"]).await.unwrap(), "a");
    assert_eq!(query::<String>(&mut c, &["RPOP", "l"]).await.unwrap(), "c");
    assert_eq!(query::<String>(&mut c, &["RPOP", "l"]).await.unwrap(), "b");
    assert_eq!(
        query::<i64>(&mut c, &["EXISTS", "l"]).await.unwrap(),
        0,
        "an emptied list goes"
    );
    assert_eq!(
        query::<Value>(&mut c, &["LPOP", "l"]).await.unwrap(),
        Value::Nil
    );

    // DBSIZE, FLUSHALL, SELECT.
    assert_eq!(
        query::<i64>(&mut c, &["DBSIZE"]).await.unwrap(),
        3,
        "bin, k, n"
    );
    assert_eq!(
        query::<Value>(&mut c, &["FLUSHALL"]).await.unwrap(),
        Value::Okay
    );
    assert_eq!(query::<i64>(&mut c, &["DBSIZE"]).await.unwrap(), 0);
    assert_eq!(
        query::<Value>(&mut c, &["FLUSHALL", "ASYNC"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert_eq!(
        query::<Value>(&mut c, &["SELECT", "0"]).await.unwrap(),
        Value::Okay
    );

    // CLIENT.
    let id: i64 = query(&mut c, &["CLIENT", "ID"]).await.unwrap();
    assert!(id > 0);
    assert_eq!(
        query::<Value>(&mut c, &["CLIENT", "GETNAME"])
            .await
            .unwrap(),
        Value::Nil
    );
    assert_eq!(
        query::<Value>(&mut c, &["CLIENT", "SETNAME", "me"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert_eq!(
        query::<String>(&mut c, &["CLIENT", "GETNAME"])
            .await
            .unwrap(),
        "me"
    );

    // CONFIG GET, as redis-benchmark asks.
    let save: Vec<String> = query(&mut c, &["CONFIG", "GET", "save"]).await.unwrap();
    assert_eq!(save, ["save", ""]);
    let appendonly: Vec<String> = query(&mut c, &["CONFIG", "GET", "appendonly"])
        .await
        .unwrap();
    assert_eq!(appendonly, ["appendonly", "no"]);
    let none: Vec<String> = query(&mut c, &["CONFIG", "GET", "maxmemory"])
        .await
        .unwrap();
    assert!(none.is_empty());

    // COMMAND.
    let count: i64 = query(&mut c, &["COMMAND", "COUNT"]).await.unwrap();
    assert_eq!(count as usize, example_resp::COMMANDS.len());
    let Value::Array(all) = query::<Value>(&mut c, &["COMMAND"]).await.unwrap() else {
        panic!("COMMAND is an array");
    };
    assert_eq!(all.len(), count as usize);
    let Value::Array(info) = query::<Value>(&mut c, &["COMMAND", "INFO", "get", "nope"])
        .await
        .unwrap()
    else {
        panic!("COMMAND INFO is an array");
    };
    assert_eq!(info[1], Value::Nil);
    let Value::Array(get) = &info[0] else {
        panic!("an entry is an array")
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    let docs: Value = query(&mut c, &["COMMAND", "DOCS", "set"]).await.unwrap();
    assert!(
        matches!(docs, Value::Array(ref items) if items.len() == 2),
        "{docs:?}"
    );

    // INFO.
    let info: String = query(&mut c, &["INFO"]).await.unwrap();
    assert!(
        info.contains("# Server\r\nredis_version:7.0.0\r\n"),
        "{info}"
    );
    assert!(info.contains("connected_clients:1\r\n"), "{info}");
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", server.address.port())),
        "{info}"
    );
    let _: () = query(&mut c, &["SET", "x", "1", "EX", "100"])
        .await
        .unwrap();
    let keyspace: String = query(&mut c, &["INFO", "keyspace"]).await.unwrap();
    assert_eq!(keyspace, "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n");

    drop(c);
    server.stop().await;
}

#[tokio::test]
async fn every_command_on_the_klock_store() {
    every_command(StoreKind::Klock).await;
}

#[tokio::test]
async fn every_command_on_the_sharded_store() {
    every_command(StoreKind::Sharded).await;
}

#[tokio::test]
async fn quit_answers_then_closes() {
    let server = Server::start();
    let mut raw = server.raw().await;
    raw.send_bytes(b"PING\r\nQUIT\r\nPING\r\n").await;
    assert_eq!(raw.reply().await, "+PONG\r\n");
    assert_eq!(raw.reply().await, "+OK\r\n");
    raw.expect_eof().await;
    server.stop().await;
}

#[tokio::test]
async fn inline_commands_with_quotes() {
    let server = Server::start();
    let mut raw = server.raw().await;
    raw.send_bytes(b"set 'a key' \"x\\ty\"\r\n\r\nget 'a key'\n")
        .await;
    assert_eq!(raw.reply().await, "+OK\r\n");
    assert_eq!(raw.reply().await, "$3\r\nx\ty\r\n");
    server.stop().await;
}
