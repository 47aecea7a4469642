//! Connection and server commands: `AUTH`, `HELLO`, `CLIENT`, `CONFIG`,
//! `COMMAND`, `INFO`. Enough of each for redis-cli, redis-benchmark and client
//! libraries to start and talk as they would to Redis 7.0.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::codec::{parse_integer, Arg};
use crate::reply::{Protocol, Reply};
use crate::session::{Session, Shared};
use crate::store::Store;
use crate::table::{lookup, Spec, COMMANDS};

/// The Redis version the server answers as.
pub const REDIS_VERSION: &str = "7.0.0";

fn wrong_password() -> Reply {
    Reply::error("WRONGPASS invalid username-password pair or user is disabled.")
}

fn unknown_subcommand(sub: &[u8], container: &str) -> Reply {
    Reply::Error(Cow::Owned(format!(
        "ERR unknown subcommand '{}'. Try {container} HELP.",
        String::from_utf8_lossy(sub)
    )))
}

/// Whether `user` and `password` log in: only the `default` user exists, and
/// with no password configured it takes any.
fn credentials_valid<S>(session: &Session<S>, user: &[u8], password: &[u8]) -> bool {
    user == b"default"
        && session
            .shared
            .password
            .as_ref()
            .is_none_or(|expected| expected == password)
}

/// `AUTH password` or `AUTH username password`.
pub(crate) fn auth<S>(session: &mut Session<S>, args: &[Arg]) -> Reply {
    let (user, password): (&[u8], &[u8]) = match args {
        [_, password] => {
            if session.shared.password.is_none() {
                return Reply::error(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                );
            }
            (b"default", password)
        }
        [_, user, password] => (user, password),
        _ => return Reply::syntax_error(),
    };
    if credentials_valid(session, user, password) {
        session.authenticated = true;
        Reply::Ok
    } else {
        wrong_password()
    }
}

/// Why a client name is refused, if it is.
fn name_error(name: &[u8]) -> Option<Reply> {
    name.iter().any(|b| !(b'!'..=b'~').contains(b)).then(|| {
        Reply::error("ERR Client names cannot contain spaces, newlines or special characters.")
    })
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
pub(crate) fn hello<S>(session: &mut Session<S>, args: &[Arg]) -> Reply {
    let mut protocol = session.protocol;
    if let Some(version) = args.get(1) {
        protocol = match parse_integer(version) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
        };
    }
    let (mut credentials, mut name) = (None, None);
    let mut at = 2;
    while at < args.len() {
        let option = &args[at];
        let more = args.len() - at - 1;
        if option.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            credentials = Some((&args[at + 1], &args[at + 2]));
            at += 3;
        } else if option.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(&args[at + 1]);
            at += 2;
        } else {
            return Reply::Error(Cow::Owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(option)
            )));
        }
    }
    if let Some((user, password)) = credentials {
        if !credentials_valid(session, user, password) {
            return wrong_password();
        }
        session.authenticated = true;
    }
    if !session.authenticated {
        return Reply::error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    if let Some(name) = name {
        if let Some(error) = name_error(name) {
            return error;
        }
        session.name = (!name.is_empty()).then(|| name.to_bytes());
    }
    session.protocol = protocol;
    let proto = match protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    Reply::Map(vec![
        (Reply::BulkStatic("server"), Reply::BulkStatic("redis")),
        (
            Reply::BulkStatic("version"),
            Reply::BulkStatic(REDIS_VERSION),
        ),
        (Reply::BulkStatic("proto"), Reply::Integer(proto)),
        (Reply::BulkStatic("id"), Reply::Integer(session.id() as i64)),
        (Reply::BulkStatic("mode"), Reply::BulkStatic("standalone")),
        (Reply::BulkStatic("role"), Reply::BulkStatic("master")),
        (Reply::BulkStatic("modules"), Reply::Array(Vec::new())),
    ])
}

/// `CLIENT ID | GETNAME | SETNAME name | SETINFO attr value`.
pub(crate) fn client<S>(session: &mut Session<S>, args: &[Arg]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    let arity = match sub.as_slice() {
        b"id" | b"getname" => 2,
        b"setname" => 3,
        b"setinfo" => 4,
        _ => return unknown_subcommand(&args[1], "CLIENT"),
    };
    if args.len() != arity {
        return Reply::wrong_arity(&format!("client|{}", String::from_utf8_lossy(&sub)));
    }
    match sub.as_slice() {
        b"id" => Reply::Integer(session.id() as i64),
        b"getname" => session.name.clone().map_or(Reply::Null, Reply::Bulk),
        b"setname" => {
            if let Some(error) = name_error(&args[2]) {
                return error;
            }
            session.name = (!args[2].is_empty()).then(|| args[2].to_bytes());
            Reply::Ok
        }
        _ => {
            let attribute = &args[2];
            if attribute.eq_ignore_ascii_case(b"lib-name")
                || attribute.eq_ignore_ascii_case(b"lib-ver")
            {
                Reply::Ok
            } else {
                Reply::Error(Cow::Owned(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(attribute)
                )))
            }
        }
    }
}

/// The configuration `CONFIG GET` shows: what redis-benchmark asks for.
const CONFIG: &[(&str, &str)] = &[("save", ""), ("appendonly", "no")];

/// `CONFIG GET pattern...` (glob patterns); `CONFIG SET` refuses every option.
pub(crate) fn config(args: &[Arg]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" if args.len() < 3 => Reply::wrong_arity("config|get"),
        b"get" => {
            let entries = CONFIG
                .iter()
                .filter(|(name, _)| args[2..].iter().any(|p| glob_match(p, name.as_bytes())))
                .map(|(name, value)| (Reply::BulkStatic(name), Reply::BulkStatic(value)))
                .collect();
            Reply::Map(entries)
        }
        b"set" if args.len() < 4 => Reply::wrong_arity("config|set"),
        b"set" => Reply::Error(Cow::Owned(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(&args[2])
        ))),
        _ => unknown_subcommand(&args[1], "CONFIG"),
    }
}

/// Whether `text` matches the glob `pattern` (`*`, `?`; case-insensitive, as
/// CONFIG GET matches). A loop with one backtrack point, so a long pattern from a
/// peer costs time linear in it times the text, and no stack.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it matched up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(b'?') => (p, t) = (p + 1, t + 1),
            Some(c) if c.eq_ignore_ascii_case(&text[t]) => (p, t) = (p + 1, t + 1),
            _ => match star {
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    (p, t) = (star_p + 1, star_t + 1);
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A command's `COMMAND INFO` entry, in Redis 7's ten fields.
fn command_info(spec: &Spec) -> Reply {
    let flags = spec.flags.iter().map(|flag| Reply::Simple(flag)).collect();
    Reply::Array(vec![
        Reply::BulkStatic(spec.name),
        Reply::Integer(spec.arity.into()),
        Reply::Array(flags),
        Reply::Integer(spec.first_key.into()),
        Reply::Integer(spec.last_key.into()),
        Reply::Integer(spec.step.into()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

/// A command's `COMMAND DOCS` entry.
fn command_docs(spec: &Spec) -> (Reply, Reply) {
    (
        Reply::BulkStatic(spec.name),
        Reply::Map(vec![
            (
                Reply::BulkStatic("summary"),
                Reply::BulkStatic(spec.summary),
            ),
            (Reply::BulkStatic("since"), Reply::BulkStatic(spec.since)),
            (Reply::BulkStatic("group"), Reply::BulkStatic(spec.group)),
        ]),
    )
}

/// `COMMAND`, `COMMAND COUNT`, `COMMAND LIST`, `COMMAND INFO name...`,
/// `COMMAND DOCS [name...]`.
pub(crate) fn command(args: &[Arg]) -> Reply {
    let Some(sub) = args.get(1) else {
        return Reply::Array(COMMANDS.iter().map(command_info).collect());
    };
    let named = || args[2..].iter().filter_map(|name| lookup(name));
    match sub.to_ascii_lowercase().as_slice() {
        b"count" if args.len() == 2 => Reply::Integer(COMMANDS.len() as i64),
        b"count" => Reply::wrong_arity("command|count"),
        b"list" => Reply::Array(COMMANDS.iter().map(|s| Reply::BulkStatic(s.name)).collect()),
        b"info" => Reply::Array(
            args[2..]
                .iter()
                .map(|name| lookup(name).map_or(Reply::Null, command_info))
                .collect(),
        ),
        b"docs" if args.len() == 2 => Reply::Map(COMMANDS.iter().map(command_docs).collect()),
        b"docs" => Reply::Map(named().map(command_docs).collect()),
        _ => unknown_subcommand(sub, "COMMAND"),
    }
}

/// What writes the lines of one `INFO` section.
type SectionBody<S> = fn(&Shared<S>) -> String;

/// `INFO`'s `# Server` section.
fn server_section<S>(shared: &Shared<S>) -> String {
    let uptime = shared.started.elapsed().as_secs();
    format!(
        "redis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:{}\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:example-resp\r\n",
        std::env::consts::OS,
        usize::BITS,
        std::process::id(),
        shared.port,
        uptime / 86_400,
    )
}

/// `INFO [section...]`: `server`, `clients`, `stats`, `keyspace`; none, `all`,
/// `default` or `everything` for all of them. `total_commands_processed` lags by
/// up to 63 commands per connection: each connection adds its count in batches.
pub(crate) fn info<S: Store>(session: &Session<S>, args: &[Arg]) -> Reply {
    let all = args.len() == 1
        || args[1..].iter().any(|s| {
            [&b"all"[..], b"default", b"everything"]
                .iter()
                .any(|word| s.eq_ignore_ascii_case(word))
        });
    let wants = |section: &str| {
        all || args[1..]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(section.as_bytes()))
    };
    let sections: [(&str, SectionBody<S>); 4] = [
        ("Server", server_section),
        ("Clients", |shared| {
            let clients = shared.clients.load(Ordering::Relaxed);
            format!("connected_clients:{clients}\r\n")
        }),
        ("Stats", |shared| {
            let commands = shared.commands.load(Ordering::Relaxed);
            format!("total_commands_processed:{commands}\r\n")
        }),
        ("Keyspace", |shared| match shared.store.dbsize() {
            0 => String::new(),
            keys => {
                let expires = shared.store.expiring();
                format!("db0:keys={keys},expires={expires},avg_ttl=0\r\n")
            }
        }),
    ];
    let mut text = String::new();
    for (title, body) in sections {
        if !wants(title) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let _ = write!(text, "# {title}\r\n{}", body(&session.shared));
    }
    Reply::Verbatim(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"save"));
        assert!(glob_match(b"SAVE", b"save"));
        assert!(glob_match(b"app*", b"appendonly"));
        assert!(glob_match(b"s?ve", b"save"));
        assert!(!glob_match(b"s?ve", b"saave"));
        assert!(!glob_match(b"x*", b"save"));
    }
}
