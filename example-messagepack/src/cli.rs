//! What the binaries share: flag parsing and logging setup.

use std::str::FromStr;

/// Reads the value after `flag` in `args` (`--flag VALUE` or `--flag=VALUE`);
/// `Ok(None)` when the flag is absent.
///
/// # Errors
///
/// A description when the flag has no value or the value does not parse.
///
/// ```
/// use example_messagepack::parse_flag;
///
/// let args = ["--iterations".to_string(), "200".to_string()];
/// assert_eq!(parse_flag::<u64>(&args, "--iterations"), Ok(Some(200)));
/// assert_eq!(parse_flag::<u64>(&args, "--seconds"), Ok(None));
/// assert!(parse_flag::<u64>(&["--seconds=x".to_string()], "--seconds").is_err());
/// ```
pub fn parse_flag<T: FromStr>(args: &[String], flag: &str) -> Result<Option<T>, String> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = if arg == flag {
            match args.next() {
                Some(value) => value.as_str(),
                None => return Err(format!("{flag} needs a value")),
            }
        } else if let Some(value) = arg.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
            value
        } else {
            continue;
        };
        return value
            .parse()
            .map(Some)
            .map_err(|_| format!("{flag}: cannot parse {value:?}"));
    }
    Ok(None)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
