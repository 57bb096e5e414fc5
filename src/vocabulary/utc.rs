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

/// `secs` as [`utc_minute`] writes it when it is a whole minute, and with its seconds
/// otherwise (`2026-12-06 21:30:15 UTC`): a time an audit sentence states as a fact
/// (events deleted before it, a device remembered until it), which a minute cut down
/// or rounded up would misstate.
pub fn utc_exact(secs: u64) -> String {
    if secs.is_multiple_of(60) {
        return utc_minute(secs);
    }
    let (year, month, day, hour, minute, second) = civil(secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

/// The first whole minute at or after `secs`: what a "try again after" sentence shows,
/// since a time cut to the minute would be too early.
pub fn minute_after(secs: u64) -> u64 {
    secs.div_ceil(60).saturating_mul(60)
}

/// 9999-12-31T23:59:59Z, the last second an RFC 3339 timestamp can hold.
const LAST_RFC3339_SECOND: u64 = 253_402_300_799;

/// `secs` (seconds since the Unix epoch) as an RFC 3339 UTC timestamp,
/// `2026-12-06T21:30:05Z`: a time as exports and machine-read reports show it; a time
/// past the year 9999 is written as 9999-12-31T23:59:59Z.
pub fn utc_rfc3339(secs: u64) -> String {
    // RFC 3339 writes four-digit years: a later time (no clock's, but a damaged
    // record's) is written as the last second it can hold.
    let (year, month, day, hour, minute, second) = civil(secs.min(LAST_RFC3339_SECOND));
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// Days since the Unix epoch of a proleptic Gregorian date (after Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The same UTC time of day `months` calendar months before `secs`, on the same day of
/// the month or, where that month is shorter, its last day (29 February less 12 months
/// is 28 February); 0 if that is before the epoch.
pub fn months_before(secs: u64, months: u32) -> u64 {
    let (year, month, day, ..) = civil(secs);
    let index = year * 12 + i64::from(month) - 1 - i64::from(months);
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    // `month` is within 1..=12, so the narrowing is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let month = month as u32;
    let next =
        if month == 12 { days_from_civil(year + 1, 1, 1) } else { days_from_civil(year, month + 1, 1) };
    let length = next - days_from_civil(year, month, 1);
    let day = i64::from(day).min(length);
    let days = days_from_civil(year, month, 1) + day - 1;
    let seconds = days.saturating_mul(86_400).saturating_add(i64::try_from(secs % 86_400).unwrap_or(0));
    u64::try_from(seconds).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3339_times_and_calendar_months_back() {
        assert_eq!(utc_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        // 2023-11-14 22:13:20 less 12 months: 2022-11-14 22:13:20.
        assert_eq!(months_before(1_700_000_000, 12), 1_700_000_000 - 365 * 86_400);
        // 2024-02-29 less 12 months: 2023-02-28; 2024-03-31 less 1 month: 2024-02-29.
        assert_eq!(utc_rfc3339(months_before(1_709_208_000, 12)), "2023-02-28T12:00:00Z");
        assert_eq!(utc_rfc3339(months_before(1_711_886_400, 1)), "2024-02-29T12:00:00Z");
        assert_eq!(months_before(86_400, 12), 0);
        let _ = months_before(u64::MAX, 12);
        for secs in [0, 951_782_400, 1_700_000_000, 4_102_444_799] {
            let (y, m, d, ..) = civil(secs);
            assert_eq!(days_from_civil(y, m, d), i64::try_from(secs / 86_400).unwrap());
        }
    }

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

    #[test]
    fn an_rfc_3339_time_past_the_year_9999_is_its_last_second() {
        assert_eq!(utc_rfc3339(LAST_RFC3339_SECOND), "9999-12-31T23:59:59Z");
        assert_eq!(utc_rfc3339(LAST_RFC3339_SECOND - 59), "9999-12-31T23:59:00Z");
        assert_eq!(utc_rfc3339(LAST_RFC3339_SECOND + 1), "9999-12-31T23:59:59Z");
        assert_eq!(utc_rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
    }
}
