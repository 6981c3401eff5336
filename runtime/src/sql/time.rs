//! Time functions on event-time columns (milliseconds since the Unix epoch, as
//! `assign_timestamps` reads them): `EXTRACT(field FROM ts)` and `DATE_FORMAT(ts,
//! pattern)`, in UTC, as Flink evaluates a `TIMESTAMP` without a time zone.

use super::value::{Both, Either, Nullness, Num, Number, Value, Wrap};

/// A field `EXTRACT` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeField {
    /// The year.
    Year,
    /// The quarter, 1..=4.
    Quarter,
    /// The month, 1..=12.
    Month,
    /// The ISO 8601 week of the year (1..=53).
    Week,
    /// The day of the month.
    Day,
    /// The hour, 0..=23.
    Hour,
    /// The minute.
    Minute,
    /// The second.
    Second,
    /// The second's milliseconds, with the second: 0..=59999, as Flink's.
    Millisecond,
    /// The day of the week, 1 (Sunday) to 7 (Saturday), as Flink's `DOW`.
    DayOfWeek,
    /// The day of the year, from 1.
    DayOfYear,
    /// Seconds since the Unix epoch.
    Epoch,
}

/// A moment's calendar fields, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    milli: u32,
    /// ISO weekday, 1 (Monday) to 7 (Sunday).
    weekday: u32,
    day_of_year: u32,
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The calendar date and time of `ms` since the epoch (Howard Hinnant's civil_from_days).
fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let day_of_year = BEFORE[month as usize - 1] + day + u32::from(month > 2 && is_leap(year));
    Civil {
        year,
        month,
        day,
        hour: (in_day / 3_600_000) as u32,
        minute: (in_day / 60_000 % 60) as u32,
        second: (in_day / 1000 % 60) as u32,
        milli: (in_day % 1000) as u32,
        // 1970-01-01 was a Thursday.
        weekday: ((days + 3).rem_euclid(7) + 1) as u32,
        day_of_year,
    }
}

/// The ISO 8601 week of `c`.
fn iso_week(c: &Civil) -> i64 {
    let weeks_in = |y: i64| {
        let p =
            |y: i64| (y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)).rem_euclid(7);
        if p(y) == 4 || p(y - 1) == 3 {
            53
        } else {
            52
        }
    };
    let week = (i64::from(c.day_of_year) - i64::from(c.weekday) + 10).div_euclid(7);
    if week < 1 {
        weeks_in(c.year - 1)
    } else if week > weeks_in(c.year) {
        1
    } else {
        week
    }
}

fn millis(n: Num) -> i64 {
    match n {
        Num::Int(i) => i as i64,
        Num::Float(f) => f as i64,
    }
}

/// `EXTRACT(field FROM ts)`.
#[inline]
pub fn extract<A>(field: TimeField, ts: A) -> Wrap<A::Null, i64>
where
    A: Value,
    A::Base: Number,
{
    A::Null::wrap(ts.get().map(|t| {
        let ms = millis(t.num());
        let c = civil(ms);
        match field {
            TimeField::Year => c.year,
            TimeField::Quarter => i64::from((c.month - 1) / 3 + 1),
            TimeField::Month => i64::from(c.month),
            TimeField::Week => iso_week(&c),
            TimeField::Day => i64::from(c.day),
            TimeField::Hour => i64::from(c.hour),
            TimeField::Minute => i64::from(c.minute),
            TimeField::Second => i64::from(c.second),
            TimeField::Millisecond => i64::from(c.second * 1000 + c.milli),
            TimeField::DayOfWeek => i64::from(c.weekday % 7 + 1),
            TimeField::DayOfYear => i64::from(c.day_of_year),
            TimeField::Epoch => ms.div_euclid(1000),
        }
    }))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats `ms` with a Java `SimpleDateFormat` pattern, as Flink's `DATE_FORMAT`:
/// `yyyy`/`yy`, `M`/`MM`/`MMM`/`MMMM`, `d`, `H`, `h`, `m`, `s`, `S`, `E`/`EEEE`, `a`,
/// and `'quoted text'`; other characters stand for themselves.
fn format(ms: i64, pattern: &str) -> String {
    use std::fmt::Write;
    let c = civil(ms);
    let mut out = String::with_capacity(pattern.len() + 8);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == ch {
            n += 1;
        }
        let pad = |out: &mut String, v: i64, width: usize| {
            let _ = write!(out, "{v:0width$}");
        };
        match ch {
            'y' if n == 2 => pad(&mut out, c.year.rem_euclid(100), 2),
            'y' => pad(&mut out, c.year, n),
            'M' if n >= 4 => out.push_str(MONTHS[c.month as usize - 1]),
            'M' if n == 3 => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            'M' => pad(&mut out, i64::from(c.month), n),
            'd' => pad(&mut out, i64::from(c.day), n),
            'D' => pad(&mut out, i64::from(c.day_of_year), n),
            'H' => pad(&mut out, i64::from(c.hour), n),
            'h' => pad(&mut out, i64::from((c.hour + 11) % 12 + 1), n),
            'm' => pad(&mut out, i64::from(c.minute), n),
            's' => pad(&mut out, i64::from(c.second), n),
            'S' => pad(&mut out, i64::from(c.milli), n.max(3)),
            'E' if n >= 4 => out.push_str(DAYS[c.weekday as usize - 1]),
            'E' => out.push_str(&DAYS[c.weekday as usize - 1][..3]),
            'a' => out.push_str(if c.hour < 12 { "AM" } else { "PM" }),
            '\'' if i + 1 < chars.len() && chars[i + 1] == '\'' => {
                // '' is a quote.
                out.push('\'');
                i += 2;
                continue;
            }
            '\'' => {
                // Quoted text, in which '' is a quote.
                let mut j = i + 1;
                while j < chars.len() {
                    if chars[j] == '\'' {
                        if chars.get(j + 1) == Some(&'\'') {
                            out.push('\'');
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    out.push(chars[j]);
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            other => {
                for _ in 0..n {
                    out.push(other);
                }
            }
        }
        i += n;
    }
    out
}

/// `DATE_FORMAT(ts, pattern)`.
#[inline]
pub fn date_format<A, P>(ts: A, pattern: P) -> Wrap<Both<A, P>, String>
where
    A: Value,
    A::Base: Number,
    P: Value<Base = str>,
    A::Null: Either<P::Null>,
{
    <Both<A, P>>::wrap(match (ts.get(), pattern.get()) {
        (Some(t), Some(p)) => Some(format(millis(t.num()), p)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds of a UTC date and time, counted day by day (a second method).
    fn ms_of(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, milli: i64) -> i64 {
        let mut days = 0i64;
        for year in 1970..y {
            days += if is_leap(year) { 366 } else { 365 };
        }
        let lengths = [
            31,
            if is_leap(y) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        days += lengths[..mo as usize - 1].iter().sum::<i64>() + i64::from(d) - 1;
        ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + milli
    }

    #[test]
    fn calendar_fields_agree_with_counting_days() {
        for (y, mo, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2019, 12, 31),
            (2024, 3, 1),
            (2100, 2, 28),
            (2026, 12, 1),
        ] {
            let ms = ms_of(y, mo, d, 13, 7, 9, 42);
            let c = civil(ms);
            assert_eq!(
                (c.year, c.month, c.day, c.hour, c.minute, c.second, c.milli),
                (y, mo, d, 13, 7, 9, 42)
            );
        }
        // Every day of 1999..2002 against a running count.
        let mut ms = ms_of(1999, 1, 1, 0, 0, 0, 0);
        for doy_total in 0..(365 * 3 + 366) {
            let c = civil(ms);
            assert_eq!(
                ms,
                ms_of(c.year, c.month, c.day, 0, 0, 0, 0),
                "day {doy_total}"
            );
            ms += 86_400_000;
        }
    }

    #[test]
    fn extract_as_flink_does() {
        // 2019-01-01 was a Tuesday, in ISO week 1; 2021-01-03 a Sunday, in week 53 of 2020.
        let t = ms_of(2019, 1, 1, 23, 59, 58, 7);
        assert_eq!(extract(TimeField::Year, t), 2019);
        assert_eq!(extract(TimeField::DayOfWeek, t), 3);
        assert_eq!(extract(TimeField::Week, t), 1);
        assert_eq!(extract(TimeField::Hour, t), 23);
        assert_eq!(extract(TimeField::Millisecond, t), 58_007);
        assert_eq!(
            extract(TimeField::Quarter, ms_of(2019, 8, 1, 0, 0, 0, 0)),
            3
        );
        assert_eq!(extract(TimeField::Week, ms_of(2021, 1, 3, 0, 0, 0, 0)), 53);
        assert_eq!(
            extract(TimeField::DayOfWeek, ms_of(2021, 1, 3, 0, 0, 0, 0)),
            1
        );
        assert_eq!(
            extract(TimeField::DayOfYear, ms_of(2020, 12, 31, 0, 0, 0, 0)),
            366
        );
        assert_eq!(extract(TimeField::Epoch, 1_500u64), 1);
        assert_eq!(extract(TimeField::Day, None::<u64>), None);
    }

    #[test]
    fn date_format_as_java_does() {
        let t = ms_of(2019, 1, 1, 9, 5, 3, 7);
        assert_eq!(
            date_format(t, "yyyy-MM-dd HH:mm:ss.SSS"),
            "2019-01-01 09:05:03.007"
        );
        assert_eq!(date_format(t, "yyyy-MM-dd"), "2019-01-01");
        assert_eq!(date_format(t, "HH:mm"), "09:05");
        assert_eq!(date_format(t, "EEE, d MMM yy h a"), "Tue, 1 Jan 19 9 AM");
        assert_eq!(
            date_format(t, "'day' D 'of' yyyy, 'it''s' ''"),
            "day 1 of 2019, it's '"
        );
    }
}
