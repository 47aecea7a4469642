//! With a password set, every command but AUTH, HELLO and QUIT is refused until
//! the connection authenticates, once; a wrong password is refused as Redis 7
//! words it.

mod support;

use example_resp::{RespConfig, StoreKind};
use support::{query, Server};

const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

fn protected() -> Server {
    Server::start_with(
        RespConfig::default().requirepass(Some("s3cret")),
        StoreKind::Sharded,
    )
}

#[tokio::test]
async fn commands_before_auth_are_refused() {
    let server = protected();
    let mut raw = server.raw().await;
    assert_eq!(raw.ask(&["GET", "k"]).await, NOAUTH);
    assert_eq!(raw.ask(&["PING"]).await, NOAUTH);
    // Unknown commands and wrong arity are reported first, as Redis does.
    assert_eq!(
        raw.ask(&["NOPE"]).await,
        "-ERR unknown command 'NOPE', with args beginning with: \r\n"
    );
    assert_eq!(
        raw.ask(&["GET"]).await,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_then_right_password() {
    let server = protected();
    let mut raw = server.raw().await;
    assert_eq!(raw.ask(&["AUTH", "nope"]).await, WRONGPASS);
    assert_eq!(raw.ask(&["AUTH", "default", "nope"]).await, WRONGPASS);
    assert_eq!(raw.ask(&["AUTH", "someone", "s3cret"]).await, WRONGPASS);
    assert_eq!(raw.ask(&["GET", "k"]).await, NOAUTH);
    assert_eq!(raw.ask(&["AUTH", "s3cret"]).await, "+OK\r\n");
    assert_eq!(raw.ask(&["GET", "k"]).await, "$-1\r\n");
    // Once per connection: another one starts unauthenticated.
    let mut other = server.raw().await;
    assert_eq!(other.ask(&["GET", "k"]).await, NOAUTH);
    assert_eq!(other.ask(&["AUTH", "default", "s3cret"]).await, "+OK\r\n");
    assert_eq!(other.ask(&["GET", "k"]).await, "$-1\r\n");
    server.stop().await;
}

#[tokio::test]
async fn hello_with_auth() {
    let server = protected();
    let mut raw = server.raw().await;
    assert!(raw
        .ask(&["HELLO", "3"])
        .await
        .starts_with("-NOAUTH HELLO must be called with the client already authenticated"));
    assert_eq!(
        raw.ask(&["HELLO", "3", "AUTH", "default", "wrong"]).await,
        WRONGPASS
    );
    let reply = raw.ask(&["HELLO", "3", "AUTH", "default", "s3cret"]).await;
    assert!(reply.starts_with("%7\r\n"), "{reply}");
    assert_eq!(raw.ask(&["GET", "k"]).await, "_\r\n");
    server.stop().await;
}

#[tokio::test]
async fn the_redis_crate_authenticates_with_resp2_and_resp3() {
    let server = protected();
    let url = server.url("default:s3cret@", "");
    let mut c = server.client_at(&url).await.expect("connect with AUTH");
    let _: () = query(&mut c, &["SET", "k", "v"]).await.unwrap();
    let url = server.url("default:s3cret@", "?protocol=resp3");
    let mut c = server
        .client_at(&url)
        .await
        .expect("connect with HELLO 3 AUTH");
    assert_eq!(query::<String>(&mut c, &["GET", "k"]).await.unwrap(), "v");
    let wrong = server.url("default:nope@", "");
    let Err(error) = server.client_at(&wrong).await else {
        panic!("a wrong password connected");
    };
    assert_eq!(
        error.kind(),
        redis::ErrorKind::AuthenticationFailed,
        "{error}"
    );
    server.stop().await;
}

#[tokio::test]
async fn auth_without_a_password_configured() {
    let server = Server::start();
    let mut raw = server.raw().await;
    assert!(raw
        .ask(&["AUTH", "x"])
        .await
        .starts_with("-ERR AUTH <password> called without any password configured"));
    assert_eq!(raw.ask(&["AUTH", "default", "any"]).await, "+OK\r\n");
    server.stop().await;
}
