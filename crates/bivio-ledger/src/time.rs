//! Wall-clock helpers: UTC dates for day grouping and report headers (no time-zone database: the ledger
//! reports in UTC), and `--since` durations (`90m`, `36h`, `7d`, `2w`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// Now, unix ms.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(0))
}

/// `YYYY-MM-DD` (UTC) of a unix-ms timestamp.
pub fn format_day(ts_ms: i64) -> String {
    let (year, month, day) = civil_from_days(ts_ms.div_euclid(MS_PER_DAY));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM` (UTC) of a unix-ms timestamp.
pub fn format_minute(ts_ms: i64) -> String {
    let minutes = ts_ms.rem_euclid(MS_PER_DAY) / 60_000;
    format!("{} {:02}:{:02}", format_day(ts_ms), minutes / 60, minutes % 60)
}

/// Year, month (1–12), day (1–31) of a day count since 1970-01-01 (proleptic Gregorian; Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A `--since` value that is not a positive number followed by s, m, h, d or w.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{0}`: expected a positive number and a unit (s, m, h, d, w), e.g. 7d")]
pub struct DurationError(pub String);

/// Parses `30s`, `90m`, `36h`, `7d`, `2w`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let error = || DurationError(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
    let (number, unit) = trimmed.split_at(split);
    let count: u64 = number.parse().map_err(|_| error())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(error()),
    };
    if count == 0 {
        return Err(error());
    }
    count.checked_mul(unit_secs).map(Duration::from_secs).ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_minute(1_735_689_600_000 + 3_723_000), "2025-01-01 01:02");
        assert_eq!(format_day(951_782_400_000), "2000-02-29");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(format_day(4_102_444_799_000), "2099-12-31");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in ["", "d", "7", "7y", "0d", "-1d", "1.5d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
