//! What the rpc and streams benches share to read their command line and sum
//! up their runs.

/// The value after `flag` on the command line, parsed.
///
/// # Panics
///
/// When the value is missing or does not parse: `flag` takes `what`.
pub(crate) fn option<T: std::str::FromStr>(args: &[String], flag: &str, what: &str) -> Option<T> {
    let at = args.iter().position(|arg| arg == flag)?;
    let value = args.get(at + 1).and_then(|value| value.parse().ok());
    Some(value.unwrap_or_else(|| panic!("{flag} takes {what}")))
}

/// The median of one column of `runs`.
pub(crate) fn median<R>(runs: &[R], column: fn(&R) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(column).collect();
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}
