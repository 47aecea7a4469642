//! The commands the server knows, with what `COMMAND` tells about them: arity
//! (as Redis gives it: `n` exactly `n` arguments with the name, `-n` at least
//! `n`), flags, key positions and a summary.

/// Which command a [`Spec`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // The names say it; the table has each one's summary.
pub enum Cmd {
    Get,
    Set,
    Incr,
    IncrBy,
    Decr,
    DecrBy,
    Mget,
    Mset,
    Del,
    Exists,
    Expire,
    Pexpire,
    Ttl,
    Pttl,
    Lpush,
    Rpush,
    Lpop,
    Rpop,
    Llen,
    Lrange,
    Dbsize,
    Flushall,
    Ping,
    Echo,
    Auth,
    Hello,
    Quit,
    Select,
    Client,
    Config,
    Command,
    Info,
}

/// One command's description.
#[derive(Debug)]
pub struct Spec {
    /// Which command.
    pub cmd: Cmd,
    /// The name, lower case.
    pub name: &'static str,
    /// `n`: exactly `n` arguments, the name counted; `-n`: at least `n`.
    pub arity: i32,
    /// Redis' command flags (`write`, `readonly`, `fast`...).
    pub flags: &'static [&'static str],
    /// Position of the first key argument (0: none).
    pub first_key: i32,
    /// Position of the last key argument (-1: the last argument).
    pub last_key: i32,
    /// Step between key arguments.
    pub step: i32,
    /// Redis' group for the command (`string`, `generic`, `connection`...).
    pub group: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// The name packed by [`pack_folded`], which [`lookup`] compares.
    packed: u64,
}

impl Spec {
    /// Whether `argc` arguments (the name counted) fit the arity.
    #[inline]
    pub fn arity_fits(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether it may run before the connection authenticates.
    pub fn no_auth(&self) -> bool {
        self.flags.contains(&"no_auth")
    }
}

const W: &[&str] = &["write", "denyoom", "fast"];
const R: &[&str] = &["readonly", "fast"];

macro_rules! spec {
    ($cmd:ident, $name:literal, $arity:literal, $flags:expr, $first:literal, $last:literal, $step:literal, $group:literal, $since:literal, $summary:literal) => {
        Spec {
            cmd: Cmd::$cmd,
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            since: $since,
            summary: $summary,
            packed: pack_name($name),
        }
    };
}

/// The longest command name.
const MAX_NAME: usize = 8;

/// A table name (lower-case letters, at most [`MAX_NAME`]) packed as
/// [`pack_folded`] packs it.
const fn pack_name(name: &str) -> u64 {
    let bytes = name.as_bytes();
    assert!(bytes.len() <= MAX_NAME && !bytes.is_empty());
    let mut word = [0u8; 8];
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_lowercase());
        word[i] = bytes[i];
        i += 1;
    }
    u64::from_le_bytes(word)
}

/// `name` in one word with every byte's 0x20 bit set, zeros after it; `None`
/// when longer than any command. Setting 0x20 turns a byte into a lower-case
/// letter only when it is a letter of either case, so the word equals a table
/// name's exactly when `name` is that name in any case (and of its length: a
/// packed name byte is never 0).
#[inline]
fn pack_folded(name: &[u8]) -> Option<u64> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut word = [0u8; 8];
    word[..name.len()].copy_from_slice(name);
    let fold = u64::MAX
        .checked_shr(64 - 8 * name.len() as u32)
        .unwrap_or(0)
        & 0x2020_2020_2020_2020;
    Some(u64::from_le_bytes(word) | fold)
}

/// Every command, the most used first (lookup goes down the list).
pub static COMMANDS: &[Spec] = &[
    spec!(Get, "get", 2, R, 1, 1, 1, "string", "1.0.0", "Returns the string value of a key."),
    spec!(Set, "set", -3, &["write", "denyoom"], 1, 1, 1, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
    spec!(Incr, "incr", 2, W, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    spec!(Mget, "mget", -2, R, 1, -1, 1, "string", "1.0.0", "Atomically returns the string values of one or more keys."),
    spec!(Mset, "mset", -3, &["write", "denyoom"], 1, -1, 2, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
    spec!(IncrBy, "incrby", 3, W, 1, 1, 1, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    spec!(Decr, "decr", 2, W, 1, 1, 1, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    spec!(DecrBy, "decrby", 3, W, 1, 1, 1, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."),
    spec!(Del, "del", -2, &["write"], 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys."),
    spec!(Exists, "exists", -2, R, 1, -1, 1, "generic", "1.0.0", "Determines whether one or more keys exist."),
    spec!(Expire, "expire", -3, &["write", "fast"], 1, 1, 1, "generic", "1.0.0", "Sets the expiration time of a key in seconds."),
    spec!(Pexpire, "pexpire", -3, &["write", "fast"], 1, 1, 1, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds."),
    spec!(Ttl, "ttl", 2, R, 1, 1, 1, "generic", "1.0.0", "Returns the expiration time in seconds of a key."),
    spec!(Pttl, "pttl", 2, R, 1, 1, 1, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key."),
    spec!(Lpush, "lpush", -3, W, 1, 1, 1, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist."),
    spec!(Rpush, "rpush", -3, W, 1, 1, 1, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist."),
    spec!(Lpop, "lpop", 2, &["write", "fast"], 1, 1, 1, "list", "1.0.0", "Returns the first element of a list after removing it. Deletes the list if the last element was popped."),
    spec!(Rpop, "rpop", 2, &["write", "fast"], 1, 1, 1, "list", "1.0.0", "Returns and removes the last element of a list. Deletes the list if the last element was popped."),
    spec!(Llen, "llen", 2, R, 1, 1, 1, "list", "1.0.0", "Returns the length of a list."),
    spec!(Lrange, "lrange", 4, &["readonly"], 1, 1, 1, "list", "1.0.0", "Returns a range of elements from a list."),
    spec!(Dbsize, "dbsize", 1, R, 0, 0, 0, "server", "1.0.0", "Returns the number of keys in the database."),
    spec!(Flushall, "flushall", -1, &["write"], 0, 0, 0, "server", "1.0.0", "Removes all keys from all databases."),
    spec!(Ping, "ping", -1, &["fast"], 0, 0, 0, "connection", "1.0.0", "Returns the server's liveliness response."),
    spec!(Echo, "echo", 2, &["fast"], 0, 0, 0, "connection", "1.0.0", "Returns the given string."),
    spec!(Auth, "auth", -2, &["noscript", "loading", "stale", "fast", "no_auth"], 0, 0, 0, "connection", "1.0.0", "Authenticates the connection."),
    spec!(Hello, "hello", -1, &["noscript", "loading", "stale", "fast", "no_auth"], 0, 0, 0, "connection", "6.0.0", "Handshakes with the Redis server."),
    spec!(Quit, "quit", -1, &["allow_busy", "noscript", "loading", "stale", "fast", "no_auth"], 0, 0, 0, "connection", "1.0.0", "Closes the connection."),
    spec!(Select, "select", 2, &["loading", "stale", "fast"], 0, 0, 0, "connection", "1.0.0", "Changes the selected database."),
    spec!(Client, "client", -2, &[], 0, 0, 0, "connection", "2.4.0", "A container for client connection commands: CLIENT ID, GETNAME, SETNAME, SETINFO."),
    spec!(Config, "config", -2, &[], 0, 0, 0, "server", "2.0.0", "A container for server configuration commands: CONFIG GET."),
    spec!(Command, "command", -1, &["loading", "stale"], 0, 0, 0, "server", "2.8.13", "Returns detailed information about all commands."),
    spec!(Info, "info", -1, &["loading", "stale"], 0, 0, 0, "server", "1.0.0", "Returns information and statistics about the server."),
];

/// The command called `name`, in any case.
#[inline]
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    let packed = pack_folded(name)?;
    COMMANDS.iter().find(|spec| spec.packed == packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup(b"GeT").map(|s| s.cmd), Some(Cmd::Get));
        assert_eq!(lookup(b"getx").map(|s| s.cmd), None);
    }

    #[test]
    fn lookup_finds_each_name_in_any_case_and_nothing_else() {
        for spec in COMMANDS {
            let upper = spec.name.to_ascii_uppercase();
            assert_eq!(lookup(spec.name.as_bytes()).map(|s| s.cmd), Some(spec.cmd));
            assert_eq!(lookup(upper.as_bytes()).map(|s| s.cmd), Some(spec.cmd));
            // One byte off: a non-letter whose 0x20 bit is clear, a byte more or less.
            let mut near = spec.name.as_bytes().to_vec();
            near[0] = near[0] & !0x20 & 0x1f;
            assert!(lookup(&near).is_none());
            near = spec.name.as_bytes().to_vec();
            near.push(0);
            assert!(lookup(&near).is_none());
            let shorter = lookup(&spec.name.as_bytes()[1..]).map(|s| s.name);
            assert_ne!(shorter, Some(spec.name));
        }
        assert!(lookup(b"").is_none());
        assert!(lookup(b"flushallx").is_none());
    }

    #[test]
    fn arity() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_fits(2) && !get.arity_fits(1) && !get.arity_fits(3));
        let set = lookup(b"set").unwrap();
        assert!(set.arity_fits(3) && set.arity_fits(9) && !set.arity_fits(2));
    }

    #[test]
    fn names_are_unique_and_lower_case() {
        for (i, spec) in COMMANDS.iter().enumerate() {
            assert_eq!(spec.name, spec.name.to_lowercase());
            assert!(COMMANDS[i + 1..]
                .iter()
                .all(|other| other.name != spec.name));
        }
    }
}
