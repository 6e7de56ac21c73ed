#!/usr/bin/env python3
"""Checks HLS playlists with the PyPI `m3u8` parser (an independent implementation) in strict mode.

    python3 scripts/e2e/m3u8_check.py URL|FILE [--vod]

A multivariant playlist is checked and then every variant and rendition playlist it names; a media playlist is
checked alone. Prints one line per playlist and exits 1 on the first broken rule (all problems are listed).
The rules are those of draft-pantos-hls-rfc8216bis-22 cited next to each check.
"""
import math
import sys
import urllib.parse
import urllib.request

import m3u8


def fetch(ref):
    """Returns the text of a playlist at an http(s) URL or a file path."""
    if ref.startswith(("http://", "https://")):
        with urllib.request.urlopen(ref, timeout=10) as resp:
            if resp.status != 200:
                raise RuntimeError(f"GET {ref}: HTTP {resp.status}")
            return resp.read().decode("utf-8")
    with open(ref, encoding="utf-8") as f:
        return f.read()


def resolve(base, uri):
    """Resolves a playlist-relative URI against the address of the playlist that holds it."""
    if base.startswith(("http://", "https://")):
        return urllib.parse.urljoin(base, uri)
    import os.path

    return os.path.normpath(os.path.join(os.path.dirname(base), uri))


def parse(ref):
    text = fetch(ref)
    problems = []
    if not text.startswith("#EXTM3U"):
        problems.append("first line is not #EXTM3U (§4.4.1.1)")
    try:
        # strict=True: the parser raises on any line it cannot read.
        pl = m3u8.M3U8(text, strict=True)
    except Exception as e:  # m3u8.ParseError and friends
        return None, problems + [f"strict parse failed: {e}"]
    return pl, problems


def check_multivariant(ref, pl):
    problems = []
    children = []
    if not pl.playlists:
        problems.append("no EXT-X-STREAM-INF variant")
    for v in pl.playlists:
        si = v.stream_info
        if not si.bandwidth:
            problems.append(f"variant {v.uri}: no BANDWIDTH (§4.4.6.2)")
        if not si.codecs:
            problems.append(f"variant {v.uri}: no CODECS (§4.4.6.2, llhls policy)")
        elif "avc1" in si.codecs or "hvc1" in si.codecs or "hev1" in si.codecs:
            if not si.resolution:
                problems.append(f"video variant {v.uri}: no RESOLUTION (§4.4.6.2)")
        children.append(resolve(ref, v.uri))
    for m in pl.media:
        if m.type == "CLOSED-CAPTIONS":
            if m.uri:
                problems.append(f"CLOSED-CAPTIONS rendition {m.name} has a URI (§4.4.6.1)")
            continue
        if m.uri:
            children.append(resolve(ref, m.uri))
    summary = f"{len(pl.playlists)} variant(s), {len(pl.media)} rendition(s)"
    return problems, children, summary


def check_media(ref, pl, vod):
    problems = []
    td = pl.target_duration
    if td is None:
        return ["no EXT-X-TARGETDURATION (§4.4.3.1)"], "?"
    if pl.version is None:
        problems.append("no EXT-X-VERSION")
    full = [s for s in pl.segments if s.uri]
    if not full:
        problems.append("no complete media segment")
    for s in full:
        # §4.4.3.1: each EXTINF rounded to the nearest integer is at most the target duration.
        if math.floor(s.duration + 0.5) > td:
            problems.append(f"segment {s.uri}: EXTINF {s.duration} > target duration {td} (§4.4.3.1)")
        if s.uri.split("?")[0].endswith((".m4s", ".mp4")) and s.init_section is None:
            problems.append(f"fMP4 segment {s.uri} without EXT-X-MAP (§3.1.2)")
    if vod:
        if not pl.is_endlist:
            problems.append("VOD playlist without EXT-X-ENDLIST (§4.4.3.4)")
    else:
        if pl.is_endlist:
            problems.append("live playlist has EXT-X-ENDLIST")
        if pl.playlist_type:
            problems.append(f"live playlist has EXT-X-PLAYLIST-TYPE:{pl.playlist_type} (§6.2.2)")
        # Appendix B.1 (llhls binding): PROGRAM-DATE-TIME on every media playlist; players measure latency with it.
        if full and full[0].program_date_time is None:
            problems.append("no EXT-X-PROGRAM-DATE-TIME (Appendix B.1)")
    sc = pl.server_control
    hold_back = getattr(sc, "hold_back", None) if sc else None
    if hold_back is not None and hold_back < 3 * td:
        problems.append(f"HOLD-BACK {hold_back} < 3 x target duration {td} (§4.4.3.8)")
    parts = [p for s in pl.segments for p in s.parts]
    part_target = pl.part_inf.part_target if pl.part_inf else None
    if parts:
        if part_target is None:
            problems.append("EXT-X-PART without EXT-X-PART-INF (§4.4.3.7)")
        else:
            phb = getattr(sc, "part_hold_back", None) if sc else None
            if phb is None:
                problems.append("PART-INF without PART-HOLD-BACK in EXT-X-SERVER-CONTROL (§4.4.3.8)")
            elif phb < 2 * part_target:
                problems.append(f"PART-HOLD-BACK {phb} < 2 x PART-TARGET {part_target} (§4.4.3.8)")
            for p in parts:
                # §4.4.4.9: a part's duration MUST be at most the Part Target Duration.
                if p.duration is None or p.duration > part_target:
                    problems.append(f"part {p.uri}: DURATION {p.duration} > PART-TARGET {part_target} (§4.4.4.9)")
        for s in full:
            # §3.2: a parent segment holds exactly the media of its parts.
            if s.parts and abs(sum(p.duration or 0 for p in s.parts) - s.duration) > 0.002 * len(s.parts) + 0.001:
                problems.append(f"segment {s.uri}: parts sum to {sum(p.duration or 0 for p in s.parts):.4f} "
                                f"but EXTINF is {s.duration} (§3.2)")
        if not vod and pl.preload_hint is None:
            problems.append("live LL playlist without EXT-X-PRELOAD-HINT (Appendix B.1)")
        if not vod and sc is not None and not getattr(sc, "can_block_reload", None):
            problems.append("no CAN-BLOCK-RELOAD=YES (llhls policy, §6.2.5.2)")
    for r in pl.rendition_reports:
        if "://" in r.uri or r.uri.startswith("/"):
            problems.append(f"RENDITION-REPORT URI {r.uri} is not relative (§4.4.5.4)")
    summary = (f"target {td}s, {len(full)} segment(s), {len(parts)} part(s), msn {pl.media_sequence}, "
               f"{'ENDLIST' if pl.is_endlist else 'live'}")
    return problems, summary


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if len(args) != 1 or flags - {"--vod"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    vod = "--vod" in flags
    queue = [args[0]]
    seen = set()
    failed = 0
    while queue:
        ref = queue.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        try:
            pl, problems = parse(ref)
        except Exception as e:
            pl, problems = None, [f"cannot load: {e}"]
        summary = ""
        if pl is not None:
            if pl.is_variant:
                more, children, summary = check_multivariant(ref, pl)
                queue.extend(children)
            else:
                more, summary = check_media(ref, pl, vod)
            problems += more
        print(f"{'ok  ' if not problems else 'FAIL'} {ref}: {summary}")
        for p in problems:
            print(f"     - {p}")
        if problems:
            failed += 1
    if failed:
        print(f"m3u8_check: {failed} of {len(seen)} playlist(s) failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
