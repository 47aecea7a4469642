//! What a line asks for.

use std::fmt;
use std::time::Duration;

/// The longest `sleep` accepted.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// One parsed request line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `echo TEXT`: answer `TEXT`.
    Echo(String),
    /// `upper TEXT`: answer `TEXT` in upper case.
    Upper(String),
    /// `sleep SECONDS TEXT`: answer `TEXT` after `SECONDS` (fractions allowed, up to
    /// [`MAX_SLEEP`]), without holding up later lines.
    Sleep {
        /// How long to wait.
        delay: Duration,
        /// What to answer then.
        text: String,
    },
    /// `stats`: this connection's counters.
    Stats,
    /// `quit`: say goodbye and close.
    Quit,
    /// An empty line: no answer.
    Nothing,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The first word is no command.
    Unknown(String),
    /// `sleep` without a usable number of seconds.
    BadDelay(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(word) => write!(
                f,
                "unknown command {word:?}; try echo, upper, sleep, stats or quit"
            ),
            CommandError::BadDelay(word) => write!(
                f,
                "sleep wants seconds from 0 to {}, got {word:?}",
                MAX_SLEEP.as_secs()
            ),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// Parses one line: a command word, then its arguments after one space.
    ///
    /// # Errors
    ///
    /// [`CommandError::Unknown`] for an unknown word, [`CommandError::BadDelay`] for
    /// a `sleep` whose seconds are not a number from 0 to [`MAX_SLEEP`].
    pub fn parse(line: &str) -> Result<Self, CommandError> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "" if rest.is_empty() => Ok(Command::Nothing),
            "echo" => Ok(Command::Echo(rest.to_string())),
            "upper" => Ok(Command::Upper(rest.to_string())),
            "sleep" => {
                let (seconds, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let delay = seconds
                    .parse::<f64>()
                    .ok()
                    .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                    .filter(|delay| *delay <= MAX_SLEEP)
                    .ok_or_else(|| CommandError::BadDelay(seconds.to_string()))?;
                Ok(Command::Sleep {
                    delay,
                    text: text.to_string(),
                })
            }
            "stats" if rest.is_empty() => Ok(Command::Stats),
            "quit" if rest.is_empty() => Ok(Command::Quit),
            _ => Err(CommandError::Unknown(word.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_command() {
        assert_eq!(Command::parse("echo a b"), Ok(Command::Echo("a b".into())));
        assert_eq!(Command::parse("echo"), Ok(Command::Echo(String::new())));
        assert_eq!(Command::parse("upper hé"), Ok(Command::Upper("hé".into())));
        assert_eq!(
            Command::parse("sleep 0.25 late one"),
            Ok(Command::Sleep {
                delay: Duration::from_millis(250),
                text: "late one".into()
            })
        );
        assert_eq!(Command::parse("stats"), Ok(Command::Stats));
        assert_eq!(Command::parse("quit"), Ok(Command::Quit));
        assert_eq!(Command::parse(""), Ok(Command::Nothing));
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(
            Command::parse("shout x"),
            Err(CommandError::Unknown("shout".into()))
        );
        for seconds in ["x", "-1", "NaN", "inf", "61"] {
            assert_eq!(
                Command::parse(&format!("sleep {seconds} a")),
                Err(CommandError::BadDelay(seconds.into())),
                "{seconds}"
            );
        }
        assert_eq!(
            CommandError::Unknown("x".into()).to_string(),
            "unknown command \"x\"; try echo, upper, sleep, stats or quit"
        );
    }
}
