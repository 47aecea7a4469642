//! Errors worded exactly as Redis 7.0 words them, where clients rely on them;
//! none of them costs the connection.

mod support;

use support::{query, Server};

#[tokio::test]
async fn error_replies_match_redis() {
    let server = Server::start();
    let mut raw = server.raw().await;
    let cases: &[(&[&str], &str)] = &[
        (
            &["foo", "a", "b"],
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
        ),
        (
            &["GET"],
            "-ERR wrong number of arguments for 'get' command\r\n",
        ),
        (
            &["SET", "k"],
            "-ERR wrong number of arguments for 'set' command\r\n",
        ),
        (
            &["MSET", "a"],
            "-ERR wrong number of arguments for 'mset' command\r\n",
        ),
        (
            &["MSET", "a", "1", "b"],
            "-ERR wrong number of arguments for 'mset' command\r\n",
        ),
        (&["SET", "k", "v", "NX", "XX"], "-ERR syntax error\r\n"),
        (&["SET", "k", "v", "EX"], "-ERR syntax error\r\n"),
        (
            &["SET", "k", "v", "EX", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["SET", "k", "v", "EX", "0"],
            "-ERR invalid expire time in 'set' command\r\n",
        ),
        (
            &["SET", "k", "v", "EX", "1", "PX", "1"],
            "-ERR syntax error\r\n",
        ),
        (&["SET", "str", "abc"], "+OK\r\n"),
        (
            &["INCR", "str"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["INCRBY", "n", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["SET", "max", "9223372036854775807"], "+OK\r\n"),
        (
            &["INCR", "max"],
            "-ERR increment or decrement would overflow\r\n",
        ),
        (
            &["DECRBY", "n", "-9223372036854775808"],
            "-ERR decrement would overflow\r\n",
        ),
        (
            &["EXPIRE", "str", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["EXPIRE", "str", "9223372036854775807"],
            "-ERR invalid expire time in 'expire' command\r\n",
        ),
        (
            &["EXPIRE", "str", "1", "NX", "XX"],
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
        ),
        (&["RPUSH", "list", "a"], ":1\r\n"),
        (
            &["GET", "list"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["INCR", "list"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LPUSH", "str", "a"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["SELECT", "1"], "-ERR DB index is out of range\r\n"),
        (
            &["SELECT", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["CLIENT", "SETNAME", "a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        (
            &["CLIENT", "SETNAME"],
            "-ERR wrong number of arguments for 'client|setname' command\r\n",
        ),
        (
            &["CLIENT", "foo"],
            "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n",
        ),
        (
            &["CONFIG", "foo"],
            "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n",
        ),
        (
            &["CONFIG", "SET", "x", "y"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'x'\r\n",
        ),
        (
            &["COMMAND", "foo"],
            "-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n",
        ),
        (&["HELLO", "4"], "-NOPROTO unsupported protocol version\r\n"),
        (
            &["HELLO", "x"],
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        (&["AUTH", "a", "b", "c"], "-ERR syntax error\r\n"),
        (&["PING"], "+PONG\r\n"),
    ];
    for (command, expected) in cases {
        assert_eq!(raw.ask(command).await, *expected, "{command:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_redis_crate_sees_the_error_kinds() {
    let server = Server::start();
    let mut c = server.client().await;
    let _: () = query(&mut c, &["RPUSH", "l", "a"])
        .await
        .map(|_: i64| ())
        .unwrap();
    let error = query::<String>(&mut c, &["GET", "l"]).await.unwrap_err();
    assert_eq!(error.code(), Some("WRONGTYPE"), "{error}");
    let error = query::<String>(&mut c, &["NOPE"]).await.unwrap_err();
    assert_eq!(error.kind(), redis::ErrorKind::ResponseError, "{error}");
    assert!(
        error.to_string().contains("unknown command 'NOPE'"),
        "{error}"
    );
    assert_eq!(query::<String>(&mut c, &["PING"]).await.unwrap(), "PONG");
    server.stop().await;
}
