//! One type per media playlist tag, named after the tag; `Display` writes the exact line
//! (without the line feed). Attribute names are in the field docs.
//!
//! Decimal numbers follow one rule (draft-pantos-hls-rfc8216bis-22 §4.2 decimal-floating-point,
//! written with five decimals): durations that must not exceed a bound (EXTINF, EXT-X-PART
//! DURATION) are rounded **down**, and bounds (PART-TARGET, hold-backs, skip boundary) are rounded
//! **up**, so that printing never makes a part longer than PART-TARGET (§4.4.4.9 allows no
//! excess) nor a segment longer than its target (§4.4.3.1).

use std::fmt;

/// Units per second of the five-decimal fixed point used for every printed duration.
const UNITS_PER_SEC: f64 = 100_000.0;
/// Float noise forgiven before rounding (1e-11 s), so that `0.2` prints `0.20000` both ways.
const NOISE_UNITS: f64 = 1e-6;

/// Whole 1e-5 s units of `secs`, rounded down; negative, NaN and infinite values give 0.
pub fn units_down(secs: f64) -> u64 {
    if !(secs.is_finite() && secs > 0.0) {
        return 0;
    }
    // `as` saturates, so a huge value cannot wrap.
    (secs * UNITS_PER_SEC + NOISE_UNITS).floor() as u64
}

/// Whole 1e-5 s units of `secs`, rounded up; negative, NaN and infinite values give 0.
pub fn units_up(secs: f64) -> u64 {
    if !(secs.is_finite() && secs > 0.0) {
        return 0;
    }
    (secs * UNITS_PER_SEC - NOISE_UNITS).ceil().max(0.0) as u64
}

/// A duration printed with five decimals, rounded down (for values bounded from above).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecsDown(pub f64);

/// A duration printed with five decimals, rounded up (for bounds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecsUp(pub f64);

fn write_units(f: &mut fmt::Formatter<'_>, units: u64) -> fmt::Result {
    write!(f, "{}.{:05}", units / 100_000, units % 100_000)
}

impl fmt::Display for SecsDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_units(f, units_down(self.0))
    }
}

impl fmt::Display for SecsUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_units(f, units_up(self.0))
    }
}

/// `#EXTM3U` (§4.4.1.1): the first line of every playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtM3u;

impl fmt::Display for ExtM3u {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#EXTM3U")
    }
}

/// `#EXT-X-VERSION:<n>` (§4.4.1.2); the value comes from §8 (see `render`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub u8);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-VERSION:{}", self.0)
    }
}

/// `#EXT-X-TARGETDURATION:<s>` (§4.4.3.1), whole seconds, at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetDuration(pub u64);

impl fmt::Display for TargetDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-TARGETDURATION:{}", self.0.max(1))
    }
}

/// `#EXT-X-SERVER-CONTROL` (§4.4.3.8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerControl {
    /// `CAN-BLOCK-RELOAD=YES` (§6.2.5.2).
    pub can_block_reload: bool,
    /// `CAN-SKIP-UNTIL`, the Skip Boundary in seconds (≥ 6 × target, §4.4.3.8).
    pub can_skip_until: Option<f64>,
    /// `CAN-SKIP-DATERANGES=YES` (requires CAN-SKIP-UNTIL, §4.4.3.8).
    pub can_skip_dateranges: bool,
    /// `HOLD-BACK`, seconds (≥ 3 × target, §4.4.3.8).
    pub hold_back: Option<f64>,
    /// `PART-HOLD-BACK`, seconds (≥ 2 × PART-TARGET, SHOULD ≥ 3 ×; required with PART-INF).
    pub part_hold_back: Option<f64>,
}

impl fmt::Display for ServerControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#EXT-X-SERVER-CONTROL:")?;
        let mut sep = "";
        if self.can_block_reload {
            f.write_str("CAN-BLOCK-RELOAD=YES")?;
            sep = ",";
        }
        if let Some(until) = self.can_skip_until {
            write!(f, "{sep}CAN-SKIP-UNTIL={}", SecsUp(until))?;
            sep = ",";
            if self.can_skip_dateranges {
                f.write_str(",CAN-SKIP-DATERANGES=YES")?;
            }
        }
        if let Some(hold_back) = self.hold_back {
            write!(f, "{sep}HOLD-BACK={}", SecsUp(hold_back))?;
            sep = ",";
        }
        if let Some(part_hold_back) = self.part_hold_back {
            write!(f, "{sep}PART-HOLD-BACK={}", SecsUp(part_hold_back))?;
        }
        Ok(())
    }
}

/// `#EXT-X-PART-INF:PART-TARGET=<s>` (§4.4.3.7), printed rounded up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartInf {
    /// `PART-TARGET`, seconds.
    pub part_target: f64,
}

impl fmt::Display for PartInf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#EXT-X-PART-INF:PART-TARGET={}",
            SecsUp(self.part_target)
        )
    }
}

/// `#EXT-X-MEDIA-SEQUENCE:<n>` (§4.4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaSequence(pub u64);

impl fmt::Display for MediaSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-MEDIA-SEQUENCE:{}", self.0)
    }
}

/// `#EXT-X-DISCONTINUITY-SEQUENCE:<n>` (§4.4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscontinuitySequence(pub u64);

impl fmt::Display for DiscontinuitySequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-DISCONTINUITY-SEQUENCE:{}", self.0)
    }
}

/// `#EXT-X-INDEPENDENT-SEGMENTS` (§4.4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndependentSegments;

impl fmt::Display for IndependentSegments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#EXT-X-INDEPENDENT-SEGMENTS")
    }
}

/// `#EXT-X-PLAYLIST-TYPE:<EVENT|VOD>` (§4.4.3.5). A live playlist has none (§6.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaylistType {
    /// `EVENT`: segments are only appended.
    Event,
    /// `VOD`: the playlist never changes.
    Vod,
}

impl fmt::Display for PlaylistType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaylistType::Event => f.write_str("#EXT-X-PLAYLIST-TYPE:EVENT"),
            PlaylistType::Vod => f.write_str("#EXT-X-PLAYLIST-TYPE:VOD"),
        }
    }
}

/// `#EXT-X-MAP:URI="<uri>"` (§4.4.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Map<'a> {
    /// `URI` of the Media Initialization Section.
    pub uri: &'a str,
}

impl fmt::Display for Map<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-MAP:URI=\"{}\"", self.uri)
    }
}

/// `#EXT-X-PROGRAM-DATE-TIME:<YYYY-MM-DDThh:mm:ss.SSSZ>` (§4.4.4.6), from Unix milliseconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramDateTime(pub i64);

impl fmt::Display for ProgramDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#EXT-X-PROGRAM-DATE-TIME:")?;
        write_iso8601_ms(f, self.0)
    }
}

/// Unix milliseconds as ISO 8601 text, `YYYY-MM-DDThh:mm:ss.SSSZ` (see `write_iso8601_ms`).
pub fn iso8601_ms(unix_ms: i64) -> String {
    struct Date(i64);
    impl fmt::Display for Date {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_iso8601_ms(f, self.0)
        }
    }
    Date(unix_ms).to_string()
}

/// Writes Unix milliseconds as ISO 8601 `YYYY-MM-DDThh:mm:ss.SSSZ` (§4.4.4.6: time zone and
/// millisecond accuracy). Proleptic Gregorian calendar, no leap seconds (like Unix time).
fn write_iso8601_ms(f: &mut fmt::Formatter<'_>, unix_ms: i64) -> fmt::Result {
    const MS_PER_DAY: i64 = 86_400_000;
    let days = unix_ms.div_euclid(MS_PER_DAY);
    let ms_of_day = unix_ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    write!(
        f,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar, using the
/// 400-year era decomposition (eras of 146097 days starting on March 1st).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `#EXT-X-DISCONTINUITY` (§4.4.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discontinuity;

impl fmt::Display for Discontinuity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#EXT-X-DISCONTINUITY")
    }
}

/// `#EXTINF:<duration>,` (§4.4.4.1), five decimals rounded down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtInf(pub f64);

impl fmt::Display for ExtInf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXTINF:{},", SecsDown(self.0))
    }
}

/// `#EXT-X-PART` (§4.4.4.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part<'a> {
    /// `DURATION`, seconds, printed rounded down.
    pub duration: f64,
    /// `URI`.
    pub uri: &'a str,
    /// `INDEPENDENT=YES`.
    pub independent: bool,
    /// `BYTERANGE="<length>@<offset>"`.
    pub byterange: Option<(u64, u64)>,
}

impl fmt::Display for Part<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#EXT-X-PART:DURATION={},URI=\"{}\"",
            SecsDown(self.duration),
            self.uri
        )?;
        if self.independent {
            f.write_str(",INDEPENDENT=YES")?;
        }
        if let Some((length, offset)) = self.byterange {
            write!(f, ",BYTERANGE=\"{length}@{offset}\"")?;
        }
        Ok(())
    }
}

/// `#EXT-X-SKIP` (§4.4.5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipTag {
    /// `SKIPPED-SEGMENTS`.
    pub skipped_segments: u64,
    /// `RECENTLY-REMOVED-DATERANGES`: the IDs of date ranges removed within the skip boundary,
    /// present (possibly empty) when the client asked to skip date ranges (`_HLS_skip=v2`,
    /// §6.2.5.1, §4.4.5.2: tab-separated).
    pub recently_removed_dateranges: Option<Vec<String>>,
}

impl fmt::Display for SkipTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-SKIP:SKIPPED-SEGMENTS={}", self.skipped_segments)?;
        if let Some(ids) = &self.recently_removed_dateranges {
            write!(f, ",RECENTLY-REMOVED-DATERANGES=\"{}\"", ids.join("\t"))?;
        }
        Ok(())
    }
}

/// `#EXT-X-DATERANGE` (§4.4.5.1). Every attribute a tag with this ID ever had is written each
/// time, with the same value (§4.4.5.1: a later tag with the same ID "cannot change (or lose)"
/// an attribute); only `end_ms` may be added later.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRange {
    /// `ID`: unique in the playlist, never reused (§6.2.1). Letters, digits, `-`, `_`, `.`, `:`
    /// only (a quoted-string cannot hold `"`, CR or LF, §4.2).
    pub id: String,
    /// `CLASS`.
    pub class: Option<String>,
    /// `START-DATE`, Unix ms (written ISO 8601 with milliseconds and `Z`).
    pub start_ms: i64,
    /// `END-DATE`, Unix ms; must be at or after `START-DATE` (and equal `START-DATE` +
    /// `DURATION` when both are known).
    pub end_ms: Option<i64>,
    /// `DURATION`, seconds (not negative).
    pub duration: Option<f64>,
    /// Client attributes (`X-…` names, §4.4.5.1) with quoted-string values, in order.
    pub client: Vec<(String, String)>,
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-DATERANGE:ID=\"{}\"", self.id)?;
        if let Some(class) = &self.class {
            write!(f, ",CLASS=\"{class}\"")?;
        }
        f.write_str(",START-DATE=\"")?;
        write_iso8601_ms(f, self.start_ms)?;
        f.write_str("\"")?;
        if let Some(end) = self.end_ms {
            f.write_str(",END-DATE=\"")?;
            write_iso8601_ms(f, end)?;
            f.write_str("\"")?;
        }
        if let Some(d) = self.duration {
            write!(f, ",DURATION={:.3}", d.max(0.0))?;
        }
        for (name, value) in &self.client {
            write!(f, ",{name}=\"{value}\"")?;
        }
        Ok(())
    }
}

/// `#EXT-X-PRELOAD-HINT:TYPE=PART` (§4.4.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreloadHintPart<'a> {
    /// `URI`: must match the EXT-X-PART URI added later.
    pub uri: &'a str,
    /// `BYTERANGE-START`.
    pub byterange_start: Option<u64>,
}

impl fmt::Display for PreloadHintPart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"", self.uri)?;
        if let Some(start) = self.byterange_start {
            write!(f, ",BYTERANGE-START={start}")?;
        }
        Ok(())
    }
}

/// `#EXT-X-RENDITION-REPORT` (§4.4.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenditionReportTag<'a> {
    /// `URI`, relative to this playlist.
    pub uri: &'a str,
    /// `LAST-MSN`.
    pub last_msn: u64,
    /// `LAST-PART`.
    pub last_part: Option<u32>,
}

impl fmt::Display for RenditionReportTag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={}",
            self.uri, self.last_msn
        )?;
        if let Some(part) = self.last_part {
            write!(f, ",LAST-PART={part}")?;
        }
        Ok(())
    }
}

/// `#EXT-X-ENDLIST` (§4.4.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndList;

impl fmt::Display for EndList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#EXT-X-ENDLIST")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_in_the_safe_direction() {
        assert_eq!(SecsDown(0.2).to_string(), "0.20000");
        assert_eq!(SecsUp(0.2).to_string(), "0.20000");
        assert_eq!(SecsDown(1.0 / 3.0).to_string(), "0.33333");
        assert_eq!(SecsUp(1.0 / 3.0).to_string(), "0.33334");
        assert_eq!(SecsDown(4.000_089).to_string(), "4.00008");
        assert_eq!(SecsUp(4.000_081).to_string(), "4.00009");
        assert_eq!(SecsDown(-1.0).to_string(), "0.00000");
        assert_eq!(SecsUp(f64::NAN).to_string(), "0.00000");
        assert_eq!(SecsDown(f64::INFINITY).to_string(), "0.00000");
    }

    #[test]
    fn program_date_time_is_iso8601_utc_with_ms() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_000_000_000_123, "2001-09-09T01:46:40.123Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_798_761_599_999, "2026-12-31T23:59:59.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(
                ProgramDateTime(ms).to_string(),
                format!("#EXT-X-PROGRAM-DATE-TIME:{text}")
            );
        }
        // Extremes must not panic.
        let _ = ProgramDateTime(i64::MIN).to_string();
        let _ = ProgramDateTime(i64::MAX).to_string();
    }

    #[test]
    fn tags_print_exactly() {
        let sc = ServerControl {
            can_block_reload: true,
            can_skip_until: Some(24.0),
            can_skip_dateranges: true,
            hold_back: Some(12.0),
            part_hold_back: Some(3.0 * 0.333_33),
        };
        assert_eq!(
            sc.to_string(),
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=24.00000,\
             CAN-SKIP-DATERANGES=YES,HOLD-BACK=12.00000,PART-HOLD-BACK=0.99999"
        );
        let part = Part {
            duration: 0.5,
            uri: "1/7.2.m4s",
            independent: true,
            byterange: Some((10, 20)),
        };
        assert_eq!(
            part.to_string(),
            "#EXT-X-PART:DURATION=0.50000,URI=\"1/7.2.m4s\",INDEPENDENT=YES,BYTERANGE=\"10@20\""
        );
        assert_eq!(ExtInf(3.999_999_999).to_string(), "#EXTINF:3.99999,");
        assert_eq!(ExtInf(4.0).to_string(), "#EXTINF:4.00000,");
        assert_eq!(
            RenditionReportTag {
                uri: "../a/index.m3u8",
                last_msn: 3,
                last_part: None
            }
            .to_string(),
            "#EXT-X-RENDITION-REPORT:URI=\"../a/index.m3u8\",LAST-MSN=3"
        );
        assert_eq!(
            SkipTag {
                skipped_segments: 4,
                recently_removed_dateranges: Some(Vec::new())
            }
            .to_string(),
            "#EXT-X-SKIP:SKIPPED-SEGMENTS=4,RECENTLY-REMOVED-DATERANGES=\"\""
        );
        assert_eq!(TargetDuration(0).to_string(), "#EXT-X-TARGETDURATION:1");
    }
}
