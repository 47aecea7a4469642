//! A Redis-protocol server on protosocket-server, for clients nobody here wrote:
//! redis-cli, redis-benchmark, and the client libraries of any language. It
//! speaks RESP2, and RESP3 after `HELLO 3`; it reads arrays of bulk strings and
//! inline commands (what `nc` sends), pipelined to any depth, and answers in
//! request order.
//!
//! Commands: `PING`, `ECHO`, `GET`, `SET` (`EX`, `PX`, `EXAT`, `PXAT`, `NX`,
//! `XX`, `KEEPTTL`, `GET`), `DEL`, `EXISTS`, `INCR`, `INCRBY`, `DECR`, `DECRBY`,
//! `MGET`, `MSET`, `EXPIRE`, `PEXPIRE`, `TTL`, `PTTL`, `LPUSH`, `RPUSH`, `LPOP`,
//! `RPOP`, `LLEN`, `LRANGE`, `DBSIZE`, `FLUSHALL`, `SELECT 0`, `AUTH`, `HELLO`,
//! `CLIENT ID|GETNAME|SETNAME|SETINFO`, `CONFIG GET`, `COMMAND`
//! (`COUNT`, `LIST`, `INFO`, `DOCS`), `INFO`, `QUIT`. Errors are worded as Redis
//! 7.0 words them.
//!
//! The keyspace is shared by every connection on every runtime worker, behind
//! the [`Store`] trait: [`KlockStore`] (one map, one `k_lock::Mutex`) or
//! [`ShardedStore`] (maps under several mutexes). Keys expire lazily when
//! touched and by a periodic, bounded sweep.
//!
//! ```
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # runtime.block_on(async {
//! use std::sync::Arc;
//! use example_resp::{RespConfig, ShardedStore};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let store = Arc::new(ShardedStore::default());
//! let server = RespConfig::default().bind("127.0.0.1:0".parse().unwrap(), store)?;
//! let address = server.local_addr()?;
//! let shutdown = server.shutdown_handle();
//! tokio::spawn(server);
//!
//! let mut client = tokio::net::TcpStream::connect(address).await?;
//! client.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n").await?;
//! let mut answer = [0; 12];
//! client.read_exact(&mut answer).await?;
//! assert_eq!(&answer, b"+OK\r\n$1\r\nv\r\n");
//!
//! shutdown.shutdown_and_wait().await;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! Layout:
//! - `codec`: [`RespDecoder`] (requests, [`Arg`], [`Limits`]); `inline`: splitting inline
//!   commands.
//! - `reply`: [`Reply`], [`Frame`], [`RespSerializer`] (RESP2 and RESP3).
//! - `table`: [`COMMANDS`], each command's arity, flags and summary.
//! - `session`: [`Session`], one connection's state and command dispatch;
//!   [`Shared`], what connections share.
//! - `strings`, `keys`, `lists`: the data commands; `admin`: `AUTH`, `HELLO`,
//!   `CLIENT`, `CONFIG`, `COMMAND`, `INFO`.
//! - `store`: [`Store`], [`KlockStore`], [`ShardedStore`], expiry; `short`:
//!   [`Inline`], short keys and values kept in place.
//! - `reactor`: [`RespReactor`]; `connector`: [`RespConnector`], [`RespConfig`].

mod admin;
mod codec;
mod connector;
mod inline;
mod keys;
mod lists;
mod reactor;
mod reply;
mod session;
mod short;
mod store;
mod strings;
mod table;

pub use admin::REDIS_VERSION;
pub use codec::{Arg, Args, Limits, Request, RespDecoder};
pub use connector::{RespConfig, RespConnector, RespServer};
pub use reactor::RespReactor;
pub use reply::{write_reply, Frame, Protocol, Reply, RespSerializer};
pub use session::{After, Session, Shared};
pub use short::Inline;
pub use store::{
    spawn_sweeper, Entry, Keyspace, KlockStore, ShardedStore, Store, StoreKind, Value,
    KEYS_PER_LOCK, KLOCK_MAX_WORKERS, SHORT_VALUE, SWEEP_INTERVAL,
};
pub use table::{lookup, Cmd, Spec, COMMANDS};
