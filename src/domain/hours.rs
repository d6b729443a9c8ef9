//! A site's office hours: a time zone and weekly ranges. Outside them the widget still takes
//! messages but tells the visitor when the team is back; it learns that from the state the
//! handshake computes ([`OfficeHours::at`]), so it never needs a time-zone database itself.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::error::{DomainError, DomainResult};

/// Ranges a site may set in a week.
pub const MAX_RANGES: usize = 50;
/// Minutes in a day: `"24:00"`, the end of a day.
const DAY_MINUTES: u16 = 24 * 60;
/// How far ahead the next opening or closing is looked for.
const HORIZON_DAYS: i32 = 7;

/// Office hours as the wire and the database carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfficeHoursInput {
    pub time_zone: String,
    pub weekly: Vec<RangeInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeInput {
    pub day: String,
    pub from: String,
    pub to: String,
}

/// Checked office hours: a known time zone and well-formed ranges.
#[derive(Debug, Clone)]
pub struct OfficeHours {
    /// As given (and as it is stored), for the settings page.
    input: OfficeHoursInput,
    zone: TimeZone,
    ranges: Vec<Range>,
}

#[derive(Debug, Clone, Copy)]
struct Range {
    day: Weekday,
    /// Minutes after midnight; `from < to <= 24:00`.
    from: u16,
    to: u16,
}

/// Whether a site is within its hours at some instant, and when that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoursNow {
    pub open: bool,
    /// When closed: the next opening within a week.
    pub opens_at: Option<Timestamp>,
    /// When open: the end of this opening, unless it lasts beyond a week.
    pub closes_at: Option<Timestamp>,
}

/// Office hours with their state at the handshake, as the widget's `session.site` carries them.
#[derive(Debug, Serialize)]
pub struct OfficeHoursNow {
    #[serde(flatten)]
    pub hours: OfficeHoursInput,
    #[serde(flatten)]
    pub now: HoursNow,
}

impl Serialize for OfficeHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.input.serialize(s)
    }
}

impl PartialEq for OfficeHours {
    fn eq(&self, other: &Self) -> bool {
        self.input == other.input
    }
}

impl OfficeHours {
    /// Checks what an admin sent; the first problem is `invalid` with its reason.
    pub fn parse(input: OfficeHoursInput) -> DomainResult<Self> {
        let name = input.time_zone.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(DomainError::invalid(
                "officeHours.timeZone must be a time zone like Europe/Berlin",
            ));
        }
        let zone = TimeZone::get(name).map_err(|_| {
            DomainError::invalid(format!("officeHours.timeZone: unknown time zone {name:?}"))
        })?;
        if input.weekly.len() > MAX_RANGES {
            return Err(DomainError::invalid(format!(
                "officeHours.weekly has more than {MAX_RANGES} ranges"
            )));
        }
        let ranges = input
            .weekly
            .iter()
            .map(range)
            .collect::<DomainResult<Vec<_>>>()?;
        let input = OfficeHoursInput {
            time_zone: name.to_owned(),
            weekly: input.weekly,
        };
        Ok(OfficeHours {
            input,
            zone,
            ranges,
        })
    }

    /// Reads office hours as they were stored (JSON); `None` when the stored value no longer
    /// passes the checks (a time zone dropped from the database), which counts as always open.
    pub fn from_json(json: &str) -> Option<Self> {
        serde_json::from_str(json)
            .ok()
            .and_then(|i| Self::parse(i).ok())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.input).unwrap_or_default()
    }

    pub fn input(&self) -> &OfficeHoursInput {
        &self.input
    }

    /// Whether `now` is within the hours, and the next change within a week.
    pub fn at(&self, now: Timestamp) -> HoursNow {
        let today = now.to_zoned(self.zone.clone()).date();
        let horizon = now
            .checked_add((24 * (HORIZON_DAYS + 1)).hours())
            .unwrap_or(now);
        // Every opening from yesterday (a range of yesterday may end after today's start in a
        // zone that shifted) to beyond the horizon, merged where they overlap or touch.
        let mut openings: Vec<(Timestamp, Timestamp)> = Vec::new();
        for offset in -1..=HORIZON_DAYS + 1 {
            let Ok(date) = today.checked_add(offset.days()) else {
                continue;
            };
            for r in self.ranges.iter().filter(|r| r.day == date.weekday()) {
                if let (Some(start), Some(end)) =
                    (self.instant(date, r.from), self.instant(date, r.to))
                {
                    if start < end {
                        openings.push((start, end));
                    }
                }
            }
        }
        openings.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (start, end) in openings {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let week = now.checked_add((24 * HORIZON_DAYS).hours()).unwrap_or(now);
        if let Some(&(_, end)) = merged.iter().find(|(s, e)| *s <= now && now < *e) {
            return HoursNow {
                open: true,
                opens_at: None,
                closes_at: (end < horizon).then_some(end),
            };
        }
        HoursNow {
            open: false,
            opens_at: merged
                .iter()
                .map(|(s, _)| *s)
                .find(|s| *s > now && *s <= week),
            closes_at: None,
        }
    }

    /// The instant a wall-clock time of `date` names in the site's zone; a time in a
    /// daylight-saving gap moves forward by the gap (jiff's "compatible" choice).
    fn instant(&self, date: Date, minutes: u16) -> Option<Timestamp> {
        let (date, minutes) = if minutes == DAY_MINUTES {
            (date.checked_add(1.day()).ok()?, 0)
        } else {
            (date, minutes)
        };
        let hour = i8::try_from(minutes / 60).ok()?;
        let minute = i8::try_from(minutes % 60).ok()?;
        let zoned = date
            .at(hour, minute, 0, 0)
            .to_zoned(self.zone.clone())
            .ok()?;
        Some(zoned.timestamp())
    }
}

fn range(r: &RangeInput) -> DomainResult<Range> {
    let day = match r.day.as_str() {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        other => {
            return Err(DomainError::invalid(format!(
                "officeHours: day {other:?} is not one of mon, tue, wed, thu, fri, sat, sun"
            )))
        }
    };
    let (from, to) = (clock(&r.from)?, clock(&r.to)?);
    if from >= to {
        return Err(DomainError::invalid(format!(
            "officeHours: {} {}–{} ends before it starts (a range over midnight is two ranges)",
            r.day, r.from, r.to
        )));
    }
    Ok(Range { day, from, to })
}

/// `"HH:MM"` in 24-hour time, `"24:00"` included, as minutes after midnight.
fn clock(raw: &str) -> DomainResult<u16> {
    let bad = || DomainError::invalid(format!("officeHours: {raw:?} is not a time like 09:30"));
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = h * 60 + m;
    if m >= 60 || minutes > DAY_MINUTES {
        return Err(bad());
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(zone: &str, weekly: &[(&str, &str, &str)]) -> OfficeHours {
        OfficeHours::parse(OfficeHoursInput {
            time_zone: zone.into(),
            weekly: weekly
                .iter()
                .map(|(day, from, to)| RangeInput {
                    day: (*day).into(),
                    from: (*from).into(),
                    to: (*to).into(),
                })
                .collect(),
        })
        .unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const WEEKDAYS_9_TO_5: [(&str, &str, &str); 5] = [
        ("mon", "09:00", "17:00"),
        ("tue", "09:00", "17:00"),
        ("wed", "09:00", "17:00"),
        ("thu", "09:00", "17:00"),
        ("fri", "09:00", "17:00"),
    ];

    #[test]
    fn within_a_range_is_open_until_its_end() {
        let h = hours("Europe/Berlin", &WEEKDAYS_9_TO_5);
        // Wednesday 2026-12-09 10:00 in Berlin (UTC+1).
        let now = h.at(at("2026-12-09T09:00:00Z"));
        assert!(now.open);
        assert_eq!(now.closes_at, Some(at("2026-12-09T16:00:00Z")));
        assert_eq!(now.opens_at, None);
    }

    #[test]
    fn after_friday_closing_the_team_is_back_on_monday() {
        let h = hours("Europe/Berlin", &WEEKDAYS_9_TO_5);
        let now = h.at(at("2026-12-11T18:30:00Z")); // Friday 19:30 in Berlin
        assert!(!now.open);
        assert_eq!(now.opens_at, Some(at("2026-12-14T08:00:00Z")));
        assert_eq!(now.closes_at, None);
    }

    #[test]
    fn touching_ranges_over_midnight_are_one_opening() {
        let h = hours(
            "America/New_York",
            &[("mon", "20:00", "24:00"), ("tue", "00:00", "02:00")],
        );
        // Monday 2026-12-07 23:00 in New York (UTC-5).
        let now = h.at(at("2026-12-08T04:00:00Z"));
        assert!(now.open);
        assert_eq!(now.closes_at, Some(at("2026-12-08T07:00:00Z")));
    }

    #[test]
    fn open_around_the_clock_has_no_closing() {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let weekly: Vec<_> = days.iter().map(|d| (*d, "00:00", "24:00")).collect();
        let now = hours("UTC", &weekly).at(at("2026-12-09T12:00:00Z"));
        assert_eq!(
            now,
            HoursNow {
                open: true,
                opens_at: None,
                closes_at: None
            }
        );
    }

    #[test]
    fn no_ranges_is_always_closed_with_no_opening() {
        let now = hours("UTC", &[]).at(at("2026-12-09T12:00:00Z"));
        assert!(!now.open);
        assert_eq!(now.opens_at, None);
    }

    #[test]
    fn an_opening_in_a_daylight_saving_gap_moves_forward() {
        // 2027-03-28: Berlin skips from 02:00 to 03:00.
        let h = hours("Europe/Berlin", &[("sun", "02:30", "04:00")]);
        let now = h.at(at("2027-03-28T00:00:00Z"));
        assert_eq!(now.opens_at, Some(at("2027-03-28T01:30:00Z")));
    }

    #[test]
    fn bad_office_hours_are_refused_with_a_reason() {
        let bad = |zone: &str, day: &str, from: &str, to: &str| {
            OfficeHours::parse(OfficeHoursInput {
                time_zone: zone.into(),
                weekly: vec![RangeInput {
                    day: day.into(),
                    from: from.into(),
                    to: to.into(),
                }],
            })
            .is_err()
        };
        assert!(bad("Mars/Olympus", "mon", "09:00", "17:00"));
        assert!(bad("UTC", "monday", "09:00", "17:00"));
        assert!(bad("UTC", "mon", "9:00", "17:00"));
        assert!(bad("UTC", "mon", "09:60", "17:00"));
        assert!(bad("UTC", "mon", "17:00", "09:00"));
        assert!(bad("UTC", "mon", "09:00", "24:01"));
        assert!(bad("UTC", "mon", "+9:00", "17:00"));
        assert!(!bad("UTC", "mon", "00:00", "24:00"));
    }

    #[test]
    fn stored_hours_read_back_the_same() {
        let h = hours("Europe/Lisbon", &WEEKDAYS_9_TO_5);
        assert_eq!(OfficeHours::from_json(&h.to_json()), Some(h));
    }
}
