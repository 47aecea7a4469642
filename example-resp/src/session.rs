//! One connection's state (protocol, authentication, name) and the dispatch of
//! its commands.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::codec::{Arg, Args};
use crate::reply::{Protocol, Reply};
use crate::store::Store;
use crate::table::{lookup, Cmd, Spec};
use crate::{admin, keys, lists, strings};

/// What every connection of one server shares: the store, the password, and the
/// figures `INFO` reports.
#[derive(Debug)]
pub struct Shared<S> {
    /// The keyspace.
    pub store: Arc<S>,
    /// The password `AUTH` wants; `None` lets every connection in.
    pub password: Option<Bytes>,
    /// When the server started, for `INFO`'s uptime.
    pub started: Instant,
    /// The port it listens on, for `INFO`.
    pub port: u16,
    /// Connections open now.
    pub clients: AtomicUsize,
    /// Commands run, for `INFO`.
    pub commands: AtomicU64,
    next_client_id: AtomicU64,
}

impl<S> Shared<S> {
    /// State for a server on `port` over `store`, wanting `password` if set.
    pub fn new(store: Arc<S>, password: Option<Bytes>, port: u16) -> Self {
        Self {
            store,
            password,
            started: Instant::now(),
            port,
            clients: AtomicUsize::new(0),
            commands: AtomicU64::new(0),
            next_client_id: AtomicU64::new(1),
        }
    }
}

/// What the connection does after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Go on.
    Continue,
    /// Send the reply, then close (`QUIT`).
    Close,
}

/// One connection's view of the server.
#[derive(Debug)]
pub struct Session<S> {
    pub(crate) shared: Arc<Shared<S>>,
    pub(crate) protocol: Protocol,
    pub(crate) authenticated: bool,
    pub(crate) name: Option<Bytes>,
    pub(crate) id: u64,
    /// Commands run here since the last flush to the shared count.
    unreported: u64,
}

impl<S> Session<S> {
    /// A new connection's session; counted in `INFO`'s `connected_clients`
    /// until dropped.
    pub fn new(shared: Arc<Shared<S>>) -> Self {
        shared.clients.fetch_add(1, Ordering::Relaxed);
        let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
        Self {
            authenticated: shared.password.is_none(),
            shared,
            protocol: Protocol::Resp2,
            name: None,
            id,
            unreported: 0,
        }
    }

    /// The protocol replies are written in now.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The connection's id (`CLIENT ID`).
    pub fn id(&self) -> u64 {
        self.id
    }

    fn count_command(&mut self) {
        // Batched: one shared counter bumped per command by every worker would be
        // a contended cache line on the hot path.
        self.unreported += 1;
        if self.unreported == 64 {
            self.flush_count();
        }
    }

    fn flush_count(&mut self) {
        self.shared
            .commands
            .fetch_add(std::mem::take(&mut self.unreported), Ordering::Relaxed);
    }
}

impl<S> Drop for Session<S> {
    fn drop(&mut self) {
        self.flush_count();
        self.shared.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S: Store> Session<S> {
    /// Runs one command; `args` holds at least the name.
    pub fn execute(&mut self, args: &Args) -> (Reply, After) {
        let Some(spec) = lookup(&args[0]) else {
            return (unknown_command(args), After::Continue);
        };
        if !spec.arity_fits(args.len()) {
            return (Reply::wrong_arity(spec.name), After::Continue);
        }
        if !self.authenticated && !spec.no_auth() {
            return (
                Reply::error("NOAUTH Authentication required."),
                After::Continue,
            );
        }
        self.count_command();
        if spec.cmd == Cmd::Quit {
            return (Reply::Ok, After::Close);
        }
        (self.run(spec, args), After::Continue)
    }

    #[inline]
    fn run(&mut self, spec: &Spec, args: &[Arg]) -> Reply {
        let store = &*self.shared.store;
        match spec.cmd {
            Cmd::Get => strings::get(store, &args[1]),
            Cmd::Set => strings::set(store, args),
            Cmd::Incr => strings::incr_by(store, &args[1], 1),
            Cmd::Decr => strings::incr_by(store, &args[1], -1),
            Cmd::IncrBy | Cmd::DecrBy => {
                match strings::increment(&args[2], spec.cmd == Cmd::DecrBy) {
                    Ok(by) => strings::incr_by(store, &args[1], by),
                    Err(reply) => reply,
                }
            }
            Cmd::Mget => strings::mget(store, &args[1..]),
            Cmd::Mset if args.len().is_multiple_of(2) => Reply::wrong_arity(spec.name),
            Cmd::Mset => strings::mset(store, &args[1..]),
            Cmd::Del => keys::del(store, &args[1..]),
            Cmd::Exists => keys::exists(store, &args[1..]),
            Cmd::Expire => keys::expire(store, args, false),
            Cmd::Pexpire => keys::expire(store, args, true),
            Cmd::Ttl => keys::ttl(store, &args[1], false),
            Cmd::Pttl => keys::ttl(store, &args[1], true),
            Cmd::Lpush => lists::push(store, &args[1], &args[2..], lists::End::Left),
            Cmd::Rpush => lists::push(store, &args[1], &args[2..], lists::End::Right),
            Cmd::Lpop => lists::pop(store, &args[1], lists::End::Left),
            Cmd::Rpop => lists::pop(store, &args[1], lists::End::Right),
            Cmd::Llen => lists::llen(store, &args[1]),
            Cmd::Lrange => lists::lrange(store, args),
            Cmd::Dbsize => keys::dbsize(store),
            Cmd::Flushall => keys::flushall(store, args),
            Cmd::Ping => match args {
                [_] => Reply::Simple("PONG"),
                [_, message] => Reply::Bulk(message.to_bytes()),
                _ => Reply::wrong_arity(spec.name),
            },
            Cmd::Echo => Reply::Bulk(args[1].to_bytes()),
            Cmd::Select => match crate::codec::parse_integer(&args[1]) {
                Some(0) => Reply::Ok,
                Some(_) => Reply::error("ERR DB index is out of range"),
                None => Reply::not_an_integer(),
            },
            Cmd::Auth => admin::auth(self, args),
            Cmd::Hello => admin::hello(self, args),
            Cmd::Client => admin::client(self, args),
            Cmd::Config => admin::config(args),
            Cmd::Command => admin::command(args),
            Cmd::Info => admin::info(self, args),
            Cmd::Quit => Reply::Ok,
        }
    }
}

/// `-ERR unknown command 'NAME', with args beginning with: 'A' 'B' `, as Redis
/// words it: each name and argument cut to 128 bytes, arguments listed until
/// their text reaches 128 bytes.
fn unknown_command(args: &Args) -> Reply {
    let mut listed = String::new();
    for arg in &args[1..] {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push('\'');
        listed.push_str(&String::from_utf8_lossy(&arg[..arg.len().min(room)]));
        listed.push_str("' ");
    }
    let name = &args[0][..args[0].len().min(128)];
    Reply::Error(Cow::Owned(format!(
        "ERR unknown command '{}', with args beginning with: {listed}",
        String::from_utf8_lossy(name)
    )))
}
