//! Splitting an inline command into arguments, with quotes as redis-cli and
//! Redis read them: `"..."` with `\n`, `\r`, `\t`, `\b`, `\a`, `\xHH` and `\"`
//! escapes, `'...'` with `\'`; a closing quote must end its argument.

use crate::codec::{Arg, Args};

/// The arguments of `line`; `None` when its quotes do not balance (or a closing
/// quote is followed by more than a space).
pub(crate) fn split_inline(line: &[u8]) -> Option<Args> {
    let mut args = Args::new();
    let mut at = 0;
    loop {
        while line.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        if at >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        at = token(line, at, &mut current)?;
        args.push(Arg::from(current));
    }
}

/// Reads the argument starting at `at` into `current`; returns where it ended.
fn token(line: &[u8], mut at: usize, current: &mut Vec<u8>) -> Option<usize> {
    enum Quote {
        None,
        Double,
        Single,
    }
    let mut quote = Quote::None;
    loop {
        match quote {
            Quote::None => match line.get(at) {
                None => return Some(at),
                Some(b) if b.is_ascii_whitespace() => return Some(at),
                Some(b'"') => quote = Quote::Double,
                Some(b'\'') => quote = Quote::Single,
                Some(&b) => current.push(b),
            },
            Quote::Double => match line.get(at)? {
                b'\\' if line.get(at + 1) == Some(&b'x') => {
                    match (hex(line.get(at + 2)), hex(line.get(at + 3))) {
                        (Some(high), Some(low)) => {
                            current.push(high << 4 | low);
                            at += 3;
                        }
                        _ => current.push(b'\\'),
                    }
                }
                b'\\' => {
                    at += 1;
                    current.push(match *line.get(at)? {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                }
                b'"' => return closing(line, at),
                &b => current.push(b),
            },
            Quote::Single => match line.get(at)? {
                b'\\' if line.get(at + 1) == Some(&b'\'') => {
                    current.push(b'\'');
                    at += 1;
                }
                b'\'' => return closing(line, at),
                &b => current.push(b),
            },
        }
        at += 1;
    }
}

/// A closing quote at `at` must end the argument.
fn closing(line: &[u8], at: usize) -> Option<usize> {
    match line.get(at + 1) {
        None => Some(at + 1),
        Some(b) if b.is_ascii_whitespace() => Some(at + 1),
        Some(_) => None,
    }
}

fn hex(digit: Option<&u8>) -> Option<u8> {
    match digit? {
        d @ b'0'..=b'9' => Some(d - b'0'),
        d @ b'a'..=b'f' => Some(d - b'a' + 10),
        d @ b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Option<Vec<String>> {
        split_inline(line.as_bytes()).map(|args| {
            args.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split("  set  a b "),
            Some(vec!["set".into(), "a".into(), "b".into()])
        );
        assert_eq!(
            split(r#"echo "a b\n\x41" 'it\'s'"#),
            Some(vec!["echo".into(), "a b\nA".into(), "it's".into()])
        );
        assert_eq!(split(r#"x a"b c""#), Some(vec!["x".into(), "ab c".into()]));
        assert_eq!(split(""), Some(vec![]));
    }

    #[test]
    fn unbalanced_quotes() {
        assert_eq!(split(r#"set a "b"#), None);
        assert_eq!(split(r#"set a 'b"#), None);
        assert_eq!(split(r#"set a "b"c"#), None);
    }
}
