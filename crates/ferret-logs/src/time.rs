//! Timestamp parsing shared by the readers. Everything ends in UTC; a time without a zone is
//! taken as UTC (IIS, Exchange and Zeek write UTC; the caveat is documented per reader).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// RFC 3339 / ISO 8601 with `T` or space, optional fraction, `Z`, `±hh:mm` or no zone (UTC).
pub(crate) fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    None
}

/// `YYYY-MM-DD` and `hh:mm:ss[.fff]` as written by W3C logs, in UTC. Hand-parsed: this runs
/// once per line of multi-gigabyte web logs.
pub(crate) fn parse_date_time(date: &str, time: &str) -> Option<DateTime<Utc>> {
    fn num(b: &[u8]) -> Option<u32> {
        let mut n: u32 = 0;
        for &c in b {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(n)
    }
    let d = date.as_bytes();
    let t = time.as_bytes();
    if d.len() != 10 || d.get(4) != Some(&b'-') || d.get(7) != Some(&b'-') {
        return None;
    }
    if t.len() < 8 || t.get(2) != Some(&b':') || t.get(5) != Some(&b':') {
        return None;
    }
    let year = i32::try_from(num(d.get(..4)?)?).ok()?;
    let day = NaiveDate::from_ymd_opt(year, num(d.get(5..7)?)?, num(d.get(8..10)?)?)?;
    let mut nanos = 0;
    if let Some(frac) = t.get(8..).filter(|f| !f.is_empty()) {
        let digits = frac.strip_prefix(b".")?;
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        nanos = num(digits)? * 10u32.pow(9 - u32::try_from(digits.len()).ok()?);
    }
    let clock = NaiveTime::from_hms_nano_opt(
        num(t.get(..2)?)?,
        num(t.get(3..5)?)?,
        num(t.get(6..8)?)?,
        nanos,
    )?;
    Some(Utc.from_utc_datetime(&day.and_time(clock)))
}

/// Seconds since the epoch, possibly fractional (Zeek `ts`, JSON epoch strings); the fraction
/// is read as decimal digits, not through a float, so `.100` stays 100 ms.
pub(crate) fn parse_epoch(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    if secs > 100_000_000_000 {
        // Milliseconds.
        return DateTime::from_timestamp_millis(secs);
    }
    let mut nanos: u32 = 0;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(d - b'0') * 10u32.pow(8 - u32::try_from(i).unwrap_or(8));
    }
    DateTime::from_timestamp(secs, nanos)
}

pub(crate) fn epoch_f64(f: f64) -> Option<DateTime<Utc>> {
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    // Milliseconds when the number is too large to be seconds (after year 5138).
    let secs = if f > 1e11 { f / 1000.0 } else { f };
    #[expect(clippy::cast_possible_truncation, reason = "range checked above and by chrono")]
    let whole = secs.trunc() as i64;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "in 0..1e9")]
    let nanos = ((secs - secs.trunc()) * 1e9) as u32;
    DateTime::from_timestamp(whole, nanos)
}

/// Apache `%t`: `10/Oct/2000:13:55:36 -0700`.
pub(crate) fn parse_clf(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S %z").ok().map(|t| t.with_timezone(&Utc))
}

/// A month abbreviation (`Jan`) to 1–12.
pub(crate) fn month(s: &str) -> Option<u32> {
    const M: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let s = s.get(..3)?;
    M.iter().position(|m| m.eq_ignore_ascii_case(s)).and_then(|i| u32::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let want = "2021-03-02T01:02:03Z";
        for s in [
            "2021-03-02T01:02:03Z",
            "2021-03-02T01:02:03.000Z",
            "2021-03-02 01:02:03",
            "2021-03-02T03:02:03+02:00",
            "2021-03-02T01:02:03",
        ] {
            assert_eq!(
                parse_iso(s).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                want,
                "{s}"
            );
        }
        assert_eq!(
            parse_epoch("1614646923").unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            want
        );
        assert_eq!(
            parse_clf("02/Mar/2021:03:02:03 +0200")
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            want
        );
        assert_eq!(month("Dec"), Some(12));
        let t = parse_date_time("2021-03-02", "01:02:03.5").unwrap();
        assert_eq!(t.to_rfc3339(), "2021-03-02T01:02:03.500+00:00");
        assert!(parse_date_time("2021-13-02", "01:02:03").is_none());
        assert!(parse_date_time("2021-03-02", "01:02:3x").is_none());
        assert!(parse_iso("garbage").is_none());
    }
}
