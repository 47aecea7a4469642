//! String commands: `GET`, `SET`, `INCR`/`INCRBY`/`DECR`/`DECRBY`, `MGET`, `MSET`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::codec::{parse_integer, Arg};
use crate::reply::Reply;
use crate::store::{Store, Value};

/// The reply for a key's string value.
#[inline]
fn string_reply(value: &Value) -> Reply {
    match value {
        Value::Short(inline) => Reply::BulkShort(*inline),
        Value::Str(bytes) => Reply::Bulk(bytes.clone()),
        Value::Int(n) => Reply::BulkInteger(*n),
        Value::List(_) => Reply::wrong_type(),
    }
}

/// `GET key`.
pub(crate) fn get(store: &impl Store, key: &Arg) -> Reply {
    store.with_key(key, |keyspace| match keyspace.get(key) {
        Some(entry) => string_reply(&entry.value),
        None => Reply::Null,
    })
}

/// `MGET key...`: a null for a missing key or one that holds no string.
pub(crate) fn mget(store: &impl Store, keys: &[Arg]) -> Reply {
    let mut values = Vec::with_capacity(keys.len());
    store.with_keys(keys, |keyspace, key| {
        values.push(match keyspace.get(key).map(|e| &e.value) {
            Some(value @ (Value::Short(_) | Value::Str(_) | Value::Int(_))) => string_reply(value),
            _ => Reply::Null,
        })
    });
    Reply::Array(values)
}

/// `MSET key value [key value...]`; the arity is checked by the caller.
pub(crate) fn mset(store: &impl Store, pairs: &[Arg]) -> Reply {
    for pair in pairs.chunks_exact(2) {
        let value = Value::string(&pair[1]);
        store.with_key(&pair[0], |keyspace| keyspace.set(&pair[0], value, None));
    }
    Reply::Ok
}

/// What `SET` does to the key's time to live, when not clearing it.
enum Ttl {
    /// Keeps it (`KEEPTTL`).
    Keep,
    /// Sets it.
    At(Instant),
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL]`.
pub(crate) fn set(store: &impl Store, args: &[Arg]) -> Reply {
    let (key, value) = (&args[1], &args[2]);
    let (mut nx, mut xx, mut get, mut ttl) = (false, false, false, None::<Ttl>);
    let mut rest = args[3..].iter();
    while let Some(option) = rest.next() {
        let option = option.to_ascii_uppercase();
        match option.as_slice() {
            b"NX" if !xx => nx = true,
            b"XX" if !nx => xx = true,
            b"GET" => get = true,
            b"KEEPTTL" if ttl.is_none() => ttl = Some(Ttl::Keep),
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if ttl.is_none() => {
                let Some(amount) = rest.next() else {
                    return Reply::syntax_error();
                };
                let Some(amount) = parse_integer(amount) else {
                    return Reply::not_an_integer();
                };
                match expiry_time(&option, amount) {
                    Some(at) => ttl = Some(Ttl::At(at)),
                    None => return Reply::error("ERR invalid expire time in 'set' command"),
                }
            }
            _ => return Reply::syntax_error(),
        }
    }
    let value = Value::string(value);
    store.with_key(key, |keyspace| {
        let (exists, old_ttl, answer) = match keyspace.get(key) {
            Some(entry) => {
                let answer = match (&entry.value, get) {
                    (Value::List(_), true) => return Reply::wrong_type(),
                    (value, true) => string_reply(value),
                    (_, false) => Reply::Ok,
                };
                (true, entry.expires_at(), answer)
            }
            None => (false, None, if get { Reply::Null } else { Reply::Ok }),
        };
        if (nx && exists) || (xx && !exists) {
            return if get { answer } else { Reply::Null };
        }
        let expires_at = match ttl {
            None => None,
            Some(Ttl::Keep) => old_ttl,
            Some(Ttl::At(at)) => Some(at),
        };
        keyspace.set(key, value, expires_at);
        answer
    })
}

/// When a key given `amount` of `unit` (`EX`, `PX`, `EXAT`, `PXAT`) expires;
/// `None` when that is no valid time (not positive, or out of range).
fn expiry_time(unit: &[u8], amount: i64) -> Option<Instant> {
    if amount <= 0 {
        return None;
    }
    let millis = match unit {
        b"EX" | b"EXAT" => amount.checked_mul(1000)?,
        _ => amount,
    };
    match unit {
        b"EX" | b"PX" => Instant::now().checked_add(Duration::from_millis(millis as u64)),
        _ => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_millis() as i64;
            let from_now = Duration::from_millis(millis.saturating_sub(now).max(0) as u64);
            Instant::now().checked_add(from_now)
        }
    }
}

/// `INCRBY key by` (and `INCR`, `DECR`, `DECRBY` through it). Keeps the key's
/// time to live. One lookup: the counter is changed where it is.
pub(crate) fn incr_by(store: &impl Store, key: &Arg, by: i64) -> Reply {
    store.with_key(key, |keyspace| {
        let Some(entry) = keyspace.get(key) else {
            keyspace.set(key, Value::Int(by), None);
            return Reply::Integer(by);
        };
        let current = match &entry.value {
            Value::Int(n) => *n,
            Value::Short(inline) => match parse_integer(inline.as_slice()) {
                Some(n) => n,
                None => return Reply::not_an_integer(),
            },
            Value::Str(bytes) => match parse_integer(bytes) {
                Some(n) => n,
                None => return Reply::not_an_integer(),
            },
            Value::List(_) => return Reply::wrong_type(),
        };
        let Some(next) = current.checked_add(by) else {
            return Reply::error("ERR increment or decrement would overflow");
        };
        entry.value = Value::Int(next);
        Reply::Integer(next)
    })
}

/// The amount of `INCRBY`/`DECRBY`, negated for `DECRBY`.
pub(crate) fn increment(amount: &[u8], negate: bool) -> Result<i64, Reply> {
    let amount = parse_integer(amount).ok_or_else(Reply::not_an_integer)?;
    if !negate {
        return Ok(amount);
    }
    amount
        .checked_neg()
        .ok_or_else(|| Reply::error("ERR decrement would overflow"))
}
