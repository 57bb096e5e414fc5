//! Times in words: seconds since the Unix epoch as a UTC date and time, for sentences
//! and headers, without a date library.

/// The UTC calendar date and time of `secs`: (year, month, day, hour, minute, second).
pub(crate) fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    // Days to a proleptic Gregorian date (after Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Each part is within its calendar range, so the narrowing casts are exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (year, month as u32, day as u32, hour as u32, minute as u32, second as u32)
}

/// `secs` (seconds since the Unix epoch) as `2026-12-06 21:30 UTC`: a time as a
/// sentence, an audit page or a message shows it.
pub fn utc_minute(secs: u64) -> String {
    let (year, month, day, hour, minute, _) = civil(secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_read_as_their_utc_date_and_time() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0), "a leap day");
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil(4_102_444_799), (2099, 12, 31, 23, 59, 59));
        assert_eq!(utc_minute(1_751_361_300), "2025-07-01 09:15 UTC");
        // The far future does not panic.
        let _ = utc_minute(u64::MAX);
    }
}
