//! Commands on keys of any type: `DEL`, `EXISTS`, `EXPIRE`/`PEXPIRE`,
//! `TTL`/`PTTL`, `DBSIZE`, `FLUSHALL`.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::codec::{parse_integer, Arg};
use crate::reply::Reply;
use crate::store::Store;

/// `DEL key...`: how many of the keys were there.
pub(crate) fn del(store: &impl Store, keys: &[Arg]) -> Reply {
    let mut removed = 0;
    store.with_keys(keys, |keyspace, key| {
        removed += i64::from(keyspace.remove(key))
    });
    Reply::Integer(removed)
}

/// `EXISTS key...`: how many of the keys are there (a key named twice counts
/// twice).
pub(crate) fn exists(store: &impl Store, keys: &[Arg]) -> Reply {
    let mut present = 0;
    store.with_keys(keys, |keyspace, key| {
        present += i64::from(keyspace.get(key).is_some());
    });
    Reply::Integer(present)
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`, or `PEXPIRE` with milliseconds
/// (`millis`): 1 when the expiry was set, 0 when the key is missing or the
/// condition failed. A time not in the future deletes the key.
pub(crate) fn expire(store: &impl Store, args: &[Arg], millis: bool) -> Reply {
    let name = if millis { "pexpire" } else { "expire" };
    let Some(amount) = parse_integer(&args[2]) else {
        return Reply::not_an_integer();
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in &args[3..] {
        match option.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                return Reply::Error(Cow::Owned(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(option)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Reply::error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return Reply::error("ERR GT and LT options at the same time are not compatible");
    }
    let millis = if millis {
        Some(amount)
    } else {
        amount.checked_mul(1000)
    };
    let now = Instant::now();
    // `None`: not in the future (the key goes); an error when out of range.
    let at = match millis {
        Some(ms) if ms <= 0 => None,
        Some(ms) => match now.checked_add(Duration::from_millis(ms as u64)) {
            Some(at) => Some(at),
            None => return invalid_expire(name),
        },
        None => return invalid_expire(name),
    };
    let key = &args[1];
    store.with_key(key, |keyspace| {
        let Some(entry) = keyspace.get(key) else {
            return Reply::Integer(0);
        };
        let current = entry.expires_at();
        // No expiry counts as forever: nothing is greater, everything is less.
        let new = at.unwrap_or(now);
        let allowed = (!nx || current.is_none())
            && (!xx || current.is_some())
            && (!gt || current.is_some_and(|c| new > c))
            && (!lt || current.is_none_or(|c| new < c));
        if !allowed {
            return Reply::Integer(0);
        }
        match at {
            Some(at) => {
                keyspace.set_expiry(key, Some(at));
            }
            None => {
                keyspace.remove(key);
            }
        }
        Reply::Integer(1)
    })
}

fn invalid_expire(name: &str) -> Reply {
    Reply::Error(Cow::Owned(format!(
        "ERR invalid expire time in '{name}' command"
    )))
}

/// `TTL key` (seconds, rounded) or `PTTL key` (`millis`): -2 when missing, -1
/// when it does not expire.
pub(crate) fn ttl(store: &impl Store, key: &Arg, millis: bool) -> Reply {
    store.with_key(key, |keyspace| {
        let Some(entry) = keyspace.get(key) else {
            return Reply::Integer(-2);
        };
        let Some(at) = entry.expires_at() else {
            return Reply::Integer(-1);
        };
        let left = at.saturating_duration_since(Instant::now()).as_millis() as i64;
        Reply::Integer(if millis { left } else { (left + 500) / 1000 })
    })
}

/// `DBSIZE`.
pub(crate) fn dbsize(store: &impl Store) -> Reply {
    Reply::Integer(store.dbsize() as i64)
}

/// `FLUSHALL [ASYNC | SYNC]`: both flush at once.
pub(crate) fn flushall(store: &impl Store, args: &[Arg]) -> Reply {
    match &args[1..] {
        [] => {}
        [mode] if mode.eq_ignore_ascii_case(b"async") || mode.eq_ignore_ascii_case(b"sync") => {}
        _ => return Reply::syntax_error(),
    }
    store.clear();
    Reply::Ok
}
