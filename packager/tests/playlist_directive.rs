//! Delivery directives: the parse table, the decide table, and an exhaustive comparison of
//! `decide` with a reference that simulates the stream part by part and applies the words of
//! draft-pantos-hls-rfc8216bis-22 §6.2.5.2 directly.

use packager::playlist::{decide, rules, Decision, Directive, DirectiveError, Position, Skip};

fn d(msn: Option<u64>, part: Option<u32>, skip: Skip) -> Directive {
    Directive { msn, part, skip }
}

#[test]
fn parse_table() {
    use DirectiveError as E;
    let ok: &[(&str, Directive)] = &[
        ("", d(None, None, Skip::No)),
        ("?", d(None, None, Skip::No)),
        ("_HLS_msn=5", d(Some(5), None, Skip::No)),
        ("?_HLS_msn=5&_HLS_part=2", d(Some(5), Some(2), Skip::No)),
        ("_HLS_part=2&_HLS_msn=5", d(Some(5), Some(2), Skip::No)),
        ("_HLS_skip=YES", d(None, None, Skip::Yes)),
        (
            "_HLS_skip=v2&_HLS_msn=0&_HLS_part=0",
            d(Some(0), Some(0), Skip::V2),
        ),
        (
            "foo=bar&_HLS_msn=7&&x&_HLS_other=1",
            d(Some(7), None, Skip::No),
        ),
        (
            "_HLS_msn=18446744073709551615",
            d(Some(u64::MAX), None, Skip::No),
        ),
        (
            "_HLS_msn=1&_HLS_part=4294967295",
            d(Some(1), Some(u32::MAX), Skip::No),
        ),
        ("_HLS_msn=007", d(Some(7), None, Skip::No)),
        ("_hls_msn=5", d(None, None, Skip::No)), // names are case-sensitive; unknown → ignored
        ("foo=1&foo=2", d(None, None, Skip::No)),
    ];
    for (query, want) in ok {
        assert_eq!(Directive::parse(query), Ok(*want), "query {query:?}");
    }
    let msn = "_HLS_msn";
    let part = "_HLS_part";
    let err: &[(&str, E)] = &[
        ("_HLS_msn", E::Empty { name: msn }),
        ("_HLS_msn=", E::Empty { name: msn }),
        (
            "_HLS_msn=-1",
            E::Negative {
                name: msn,
                value: "-1".into(),
            },
        ),
        (
            "_HLS_msn=1&_HLS_part=-3",
            E::Negative {
                name: part,
                value: "-3".into(),
            },
        ),
        (
            "_HLS_msn=18446744073709551616",
            E::TooLarge {
                name: msn,
                value: "18446744073709551616".into(),
            },
        ),
        (
            "_HLS_msn=1&_HLS_part=4294967296",
            E::TooLarge {
                name: part,
                value: "4294967296".into(),
            },
        ),
        (
            "_HLS_msn=99999999999999999999999",
            E::TooLarge {
                name: msn,
                value: "99999999999999999999999".into(),
            },
        ),
        ("_HLS_msn=1&_HLS_msn=1", E::Duplicate { name: msn }),
        (
            "_HLS_msn=1&_HLS_part=1&_HLS_part=2",
            E::Duplicate { name: part },
        ),
        (
            "_HLS_skip=YES&_HLS_skip=YES",
            E::Duplicate { name: "_HLS_skip" },
        ),
        (
            "_HLS_skip=yes",
            E::InvalidSkip {
                value: "yes".into(),
            },
        ),
        ("_HLS_skip=V2", E::InvalidSkip { value: "V2".into() }),
        ("_HLS_skip=", E::Empty { name: "_HLS_skip" }),
        ("_HLS_part=1", E::PartWithoutMsn),
        ("_HLS_skip=YES&_HLS_part=0", E::PartWithoutMsn),
    ];
    for (query, want) in err {
        assert_eq!(
            Directive::parse(query).as_ref(),
            Err(want),
            "query {query:?}"
        );
    }
    for malformed in [
        "_HLS_msn=1a",
        "_HLS_msn=+1",
        "_HLS_msn=%31",
        "_HLS_msn= 1",
        "_HLS_msn=1.0",
        "_HLS_msn=0x10",
        "_HLS_msn=--1",
        "_HLS_msn=-",
    ] {
        assert!(
            matches!(Directive::parse(malformed), Err(E::Malformed(_))),
            "query {malformed:?}"
        );
    }
    // A huge value is refused without echoing all of it.
    let long = format!("_HLS_msn={}", "9".repeat(10_000));
    let e = Directive::parse(&long).unwrap_err();
    assert!(e.to_string().len() < 100, "{e}");
}

/// (position, _HLS_msn, _HLS_part, expected decision, why).
type Case = (Position, Option<u64>, Option<u32>, Decision, &'static str);

fn pos(msn: u64, part: Option<u32>, complete: bool) -> Position {
    Position {
        msn,
        part,
        complete,
        advance_part_limit: Some(6),
        ..Position::default()
    }
}

#[test]
fn decide_table() {
    use Decision::*;
    // Open segment 10 holding parts 0..=2; segment 9 is the last complete one. Limit 6 parts.
    let open = pos(10, Some(2), false);
    // Segment 10 complete (parts 0..=3), no part of 11 yet.
    let closed = pos(10, Some(3), true);
    let cases: &[Case] = &[
        (open, None, None, Ready, "plain reload"),
        (open, None, Some(1), TooFar, "_HLS_part alone is 400"),
        (open, Some(9), None, Ready, "segment 9 is complete"),
        (
            open,
            Some(10),
            None,
            Wait,
            "segment 10 has parts but no EXTINF yet",
        ),
        (open, Some(3), Some(99), Ready, "old segment, any part"),
        (open, Some(10), Some(2), Ready, "newest part"),
        (open, Some(10), Some(0), Ready, "older part"),
        (open, Some(10), Some(3), Wait, "next part"),
        (open, Some(10), Some(8), Wait, "6 parts ahead: at the limit"),
        (
            open,
            Some(10),
            Some(9),
            TooFar,
            "7 parts ahead: past the Advance Part Limit",
        ),
        (open, Some(11), None, Wait, "last complete + 2"),
        (
            open,
            Some(11),
            Some(0),
            Wait,
            "last complete + 2, part 0: MUST defer",
        ),
        (open, Some(11), Some(5), Wait, "at least 6 parts ahead"),
        (open, Some(11), Some(6), TooFar, "at least 7 parts ahead"),
        (open, Some(12), Some(0), TooFar, "last complete + 3"),
        (open, Some(12), None, TooFar, "last complete + 3"),
        (closed, Some(10), None, Ready, "segment 10 complete"),
        (closed, Some(10), Some(3), Ready, "its last part"),
        (
            closed,
            Some(10),
            Some(4),
            Wait,
            "past the final part → part 0 of 11",
        ),
        (
            closed,
            Some(10),
            Some(4000),
            Wait,
            "far past the final part is still part 0 of 11",
        ),
        (closed, Some(11), Some(0), Wait, "next segment's first part"),
        (closed, Some(12), Some(0), Wait, "last complete + 2, part 0"),
        (closed, Some(12), Some(4), Wait, "at least 6 parts ahead"),
        (closed, Some(12), Some(5), TooFar, "at least 7 parts ahead"),
        (closed, Some(13), None, TooFar, "last complete + 3"),
        (closed, Some(u64::MAX), Some(u32::MAX), TooFar, "absurd"),
        (
            Position::default(),
            Some(0),
            Some(0),
            Wait,
            "nothing published yet",
        ),
        (
            Position::default(),
            Some(0),
            None,
            Wait,
            "nothing published yet",
        ),
        (
            Position::default(),
            Some(1),
            Some(0),
            Wait,
            "no complete segment: msn 1 is last + 2",
        ),
        (
            Position::default(),
            Some(2),
            None,
            TooFar,
            "no complete segment: msn 2 is last + 3",
        ),
    ];
    for (position, msn, part, want, why) in cases {
        let got = decide(*position, d(*msn, *part, Skip::No));
        assert_eq!(got, *want, "{why}: {position:?} msn={msn:?} part={part:?}");
    }
    // ENDLIST: directives are ignored (§6.2.5.2), even absurd ones.
    let ended = Position {
        ended: true,
        closed: true,
        ..closed
    };
    for (msn, part) in [(Some(u64::MAX), Some(7)), (None, Some(1)), (Some(11), None)] {
        assert_eq!(decide(ended, d(msn, part, Skip::Yes)), Ready);
    }
    // `closed` alone does not change the decision: the origin turns Wait into 503.
    let stopped = Position {
        closed: true,
        ..open
    };
    assert_eq!(decide(stopped, d(Some(10), Some(3), Skip::No)), Wait);
    assert_eq!(decide(stopped, d(Some(10), Some(2), Skip::No)), Ready);
    // Without a part limit only the MSN window applies.
    let unlimited = Position {
        advance_part_limit: None,
        ..open
    };
    assert_eq!(
        decide(unlimited, d(Some(10), Some(u32::MAX), Skip::No)),
        Wait
    );
    // The store's limit comes from the part target.
    assert_eq!(rules::advance_part_limit(0.5), 6);
}

/// A simulated stream: every segment has `k` parts; the state after `published` parts.
struct Stream {
    k: u32,
    published: u64,
}

impl Stream {
    fn position(&self, limit: u32) -> Position {
        // The newest part is part (published-1) % k of segment (published-1) / k.
        let newest = self.published - 1;
        let msn = newest / u64::from(self.k);
        let part = (newest % u64::from(self.k)) as u32;
        Position {
            msn,
            part: Some(part),
            complete: part == self.k - 1,
            advance_part_limit: Some(limit),
            ..Position::default()
        }
    }

    /// Index (0-based, stream-wide) of the part a request waits for, with "past the final part
    /// of a parent → part 0 of the next" applied.
    fn wanted_index(&self, msn: u64, part: u32) -> u64 {
        let part = if part >= self.k {
            return (msn + 1) * u64::from(self.k);
        } else {
            part
        };
        msn * u64::from(self.k) + u64::from(part)
    }
}

#[test]
fn decide_matches_the_spec_words_exhaustively() {
    for k in 1..=5u32 {
        for limit in [1u32, 3, 6, 15] {
            for published in 1..=(4 * u64::from(k)) {
                let stream = Stream { k, published };
                let position = stream.position(limit);
                let last_complete: i64 = published as i64 / i64::from(k) - 1;
                for msn in 0..=(published / u64::from(k) + 4) {
                    // "the Playlist contains a Media Segment with a Media Sequence Number of M or later"
                    let segment_ready = (msn as i64) <= last_complete;
                    let msn_too_far = msn as i64 > last_complete + 2;
                    let got = decide(position, d(Some(msn), None, Skip::No));
                    let want = if msn_too_far {
                        Decision::TooFar
                    } else if segment_ready {
                        Decision::Ready
                    } else {
                        Decision::Wait
                    };
                    assert_eq!(got, want, "k={k} published={published} msn={msn}");
                    for part in 0..=(k + 2) {
                        let wanted = stream.wanted_index(msn, part);
                        let ready = wanted < published;
                        // Parts still to come. In the open segment the spec compares the
                        // _HLS_part value with the last part's index ("exceeds the last Partial
                        // Segment ... by the Advance Part Limit"): the server cannot know yet
                        // where the parent ends.
                        // Likewise a segment that is not complete has no known final part, so a
                        // part index there counts literally.
                        let last = u64::from(position.part.unwrap_or(0));
                        let distance = if msn < position.msn {
                            0
                        } else if msn == position.msn && !position.complete {
                            u64::from(part).saturating_sub(last)
                        } else if msn == position.msn {
                            (wanted + 1).saturating_sub(published)
                        } else {
                            let rest_of_open = if position.complete {
                                0
                            } else {
                                u64::from(k) - 1 - last
                            };
                            rest_of_open
                                + (msn - position.msn - 1) * u64::from(k)
                                + u64::from(part)
                                + 1
                        };
                        // Where decide can count the distance exactly; elsewhere it counts a
                        // lower bound (parts of the open segment still to come are unknown).
                        let exact =
                            msn == position.msn || (msn == position.msn + 1 && position.complete);
                        let got = decide(position, d(Some(msn), Some(part), Skip::No));
                        let ctx = format!("k={k} limit={limit} published={published} msn={msn} part={part} got={got:?} distance={distance}");
                        if ready {
                            assert_eq!(got, Decision::Ready, "{ctx}");
                        } else if msn_too_far {
                            assert_eq!(got, Decision::TooFar, "{ctx}");
                        } else if exact {
                            let want = if distance > u64::from(limit) {
                                Decision::TooFar
                            } else {
                                Decision::Wait
                            };
                            assert_eq!(got, want, "{ctx}");
                        } else if got == Decision::TooFar {
                            // Refused only when really past the Advance Part Limit.
                            assert!(distance > u64::from(limit), "{ctx}");
                        } else {
                            assert_eq!(got, Decision::Wait, "{ctx}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn covers_is_ready() {
    let open = pos(10, Some(2), false);
    assert!(open.covers(d(Some(10), Some(2), Skip::No)));
    assert!(!open.covers(d(Some(10), Some(3), Skip::No)));
    assert!(!open.covers(d(Some(99), None, Skip::No)));
    let next = Position {
        part: Some(3),
        ..open
    };
    assert!(next.covers(d(Some(10), Some(3), Skip::No)));
}

fn at(msn: u64, part: Option<u32>, complete: bool) -> Position {
    Position {
        msn,
        part,
        complete,
        ..Position::default()
    }
}

#[test]
fn next_part_and_hinted_parts() {
    assert_eq!(at(0, None, false).next_part(), (0, 0));
    assert_eq!(at(4, Some(1), false).next_part(), (4, 2));
    assert_eq!(at(4, Some(5), true).next_part(), (5, 0));
    assert!(at(0, None, false).may_hint(0, 0));
    assert!(!at(0, None, false).may_hint(0, 1));
    assert!(!at(0, None, false).may_hint(1, 0));
    assert!(at(4, Some(1), false).may_hint(4, 2));
    assert!(at(4, Some(1), false).may_hint(5, 0));
    assert!(!at(4, Some(1), false).may_hint(4, 3));
    assert!(!at(4, Some(1), false).may_hint(5, 1));
    assert!(at(4, Some(5), true).may_hint(5, 0));
    assert!(!at(4, Some(5), true).may_hint(4, 6));
}

#[test]
fn reached_parts() {
    let open = at(4, Some(1), false);
    assert!(open.reached(3, 9));
    assert!(open.reached(4, 0) && open.reached(4, 1));
    assert!(!open.reached(4, 2) && !open.reached(5, 0));
    let complete = at(4, Some(5), true);
    assert!(complete.reached(4, 99));
    assert!(!complete.reached(5, 0));
    assert!(!at(0, None, false).reached(0, 0));
}
