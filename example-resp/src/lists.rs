//! List commands: `LPUSH`, `RPUSH`, `LPOP`, `RPOP`, `LLEN`, `LRANGE`. They are
//! here so that a key can hold something other than a string (and string
//! commands on it answer `-WRONGTYPE`, as Redis does).

use std::collections::VecDeque;

use crate::codec::{parse_integer, Arg};
use crate::reply::Reply;
use crate::store::{shared_copy, Store, Value};

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Left,
    Right,
}

/// `LPUSH`/`RPUSH key element...`: the list's length after.
pub(crate) fn push(store: &impl Store, key: &Arg, elements: &[Arg], end: End) -> Reply {
    store.with_key(key, |keyspace| {
        if keyspace.get(key).is_none() {
            keyspace.set(key, Value::List(VecDeque::new()), None);
        }
        let Some(Value::List(list)) = keyspace.get(key).map(|entry| &mut entry.value) else {
            return Reply::wrong_type();
        };
        for element in elements {
            match end {
                End::Left => list.push_front(shared_copy(element)),
                End::Right => list.push_back(shared_copy(element)),
            }
        }
        Reply::Integer(list.len() as i64)
    })
}

/// `LPOP`/`RPOP key`: the element, or null; an emptied list is deleted.
pub(crate) fn pop(store: &impl Store, key: &Arg, end: End) -> Reply {
    store.with_key(key, |keyspace| {
        let (element, empty) = match keyspace.get(key).map(|entry| &mut entry.value) {
            None => return Reply::Null,
            Some(Value::List(list)) => {
                let element = match end {
                    End::Left => list.pop_front(),
                    End::Right => list.pop_back(),
                };
                (element, list.is_empty())
            }
            Some(_) => return Reply::wrong_type(),
        };
        if empty {
            keyspace.remove(key);
        }
        element.map_or(Reply::Null, Reply::Bulk)
    })
}

/// `LLEN key`.
pub(crate) fn llen(store: &impl Store, key: &Arg) -> Reply {
    store.with_key(key, |keyspace| match keyspace.get(key).map(|e| &e.value) {
        None => Reply::Integer(0),
        Some(Value::List(list)) => Reply::Integer(list.len() as i64),
        Some(_) => Reply::wrong_type(),
    })
}

/// `LRANGE key start stop`, with negative indexes counting from the end.
pub(crate) fn lrange(store: &impl Store, args: &[Arg]) -> Reply {
    let (Some(start), Some(stop)) = (parse_integer(&args[2]), parse_integer(&args[3])) else {
        return Reply::not_an_integer();
    };
    let key = &args[1];
    store.with_key(key, |keyspace| {
        let list = match keyspace.get(key).map(|e| &e.value) {
            None => return Reply::Array(Vec::new()),
            Some(Value::List(list)) => list,
            Some(_) => return Reply::wrong_type(),
        };
        let len = list.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let stop = if stop < 0 {
            len + stop
        } else {
            stop.min(len - 1)
        };
        if start > stop || start >= len {
            return Reply::Array(Vec::new());
        }
        let items = list
            .range(start as usize..=stop as usize)
            .map(|element| Reply::Bulk(element.clone()))
            .collect();
        Reply::Array(items)
    })
}
