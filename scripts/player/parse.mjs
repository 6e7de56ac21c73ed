#!/usr/bin/env node
// Parses HLS playlists with videojs m3u8-parser (an independent parser) and fails on any warning or error it
// reports, and on tags it does not know (unless --allow-unknown). With --recurse, a multivariant playlist's variant
// and rendition playlists are fetched and parsed too.
//
//   node scripts/player/parse.mjs FILE|URL [--recurse] [--allow-unknown] [--quiet]
//
// Prints one JSON line per playlist: {uri, kind, warnings, errors, unknownTags, summary}. Exit 1 on any problem.
import { Parser } from 'm3u8-parser';
import fs from 'node:fs';

const USAGE = 'usage: parse.mjs FILE|URL [--recurse] [--allow-unknown] [--quiet]';

// Tags of draft-pantos-hls-rfc8216bis-22 that m3u8-parser 7 does not model: reported, never a failure.
// EXT-X-BITRATE §4.4.4.8, EXT-X-GAP §4.4.4.7, EXT-X-SESSION-DATA §4.4.6.4, EXT-X-SESSION-KEY §4.4.6.5.
const UNMODELLED = ['#EXT-X-BITRATE', '#EXT-X-GAP', '#EXT-X-SESSION-DATA', '#EXT-X-SESSION-KEY'];

/** Reads a playlist from an http(s) URL or a file path; throws with the address on failure. */
async function load(ref) {
  if (/^https?:\/\//.test(ref)) {
    const res = await fetch(ref);
    if (!res.ok) throw new Error(`GET ${ref}: HTTP ${res.status}`);
    return res.text();
  }
  return fs.promises.readFile(ref, 'utf8');
}

/** Resolves a playlist-relative URI against the playlist's own address (URL or file path). */
function resolve(base, uri) {
  if (/^https?:\/\//.test(base)) return new URL(uri, base).toString();
  if (/^[a-z]+:\/\//i.test(uri)) return uri;
  return new URL(uri, `file://${fs.realpathSync(base)}`).pathname;
}

/** Parses one playlist text; returns the report for it. */
function parseText(uri, text) {
  const warnings = [];
  const errors = [];
  const unknownTags = [];
  const unmodelledTags = [];
  const parser = new Parser({ uri: /^https?:/.test(uri) ? uri : undefined });
  parser.on('warn', (w) => warnings.push(w.message));
  parser.on('error', (e) => errors.push(e.message));
  parser.parseStream.on('data', (entry) => {
    if (entry.type !== 'tag' || entry.tagType) return;
    const line = `#EXT${entry.data}`;
    const name = line.split(':')[0];
    if (UNMODELLED.includes(name)) { if (!unmodelledTags.includes(name)) unmodelledTags.push(name); } else unknownTags.push(line);
  });
  if (!text.startsWith('#EXTM3U')) errors.push('the first line is not #EXTM3U (draft-pantos-hls-rfc8216bis-22 §4.4.1.1)');
  parser.push(text);
  parser.end();
  const m = parser.manifest;
  const isMultivariant = Array.isArray(m.playlists) && m.playlists.length > 0;
  const summary = isMultivariant
    ? {
      variants: m.playlists.map((p) => ({ uri: p.uri, bandwidth: p.attributes?.BANDWIDTH, codecs: p.attributes?.CODECS, resolution: p.attributes?.RESOLUTION })),
      media: Object.entries(m.mediaGroups || {}).flatMap(([type, groups]) => Object.entries(groups).flatMap(([group, names]) =>
        Object.entries(names).map(([name, r]) => ({ type, group, name, uri: r.uri || null })))),
    }
    : {
      targetDuration: m.targetDuration ?? null,
      mediaSequence: m.mediaSequence ?? null,
      endList: !!m.endList,
      segments: m.segments.length,
      parts: m.segments.reduce((n, s) => n + (s.parts ? s.parts.length : 0), 0) + (m.preloadSegment?.parts?.length || 0),
      partTargetDuration: m.partTargetDuration ?? m.partInf?.partTarget ?? null,
      serverControl: m.serverControl ?? null,
      preloadHints: m.preloadSegment?.preloadHints?.length || 0,
      renditionReports: m.renditionReports?.length || 0,
      programDateTime: m.segments.some((s) => s.programDateTime !== undefined),
    };
  if (!isMultivariant && m.segments.length === 0 && !m.preloadSegment) errors.push('a media playlist without segments');
  return { uri, kind: isMultivariant ? 'multivariant' : 'media', warnings, errors, unknownTags, unmodelledTags, summary, manifest: m };
}

async function main() {
  const args = process.argv.slice(2);
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const refs = args.filter((a) => !a.startsWith('--'));
  for (const f of flags) {
    if (!['--recurse', '--allow-unknown', '--quiet'].includes(f)) { console.error(`parse.mjs: unknown flag ${f}\n${USAGE}`); process.exit(2); }
  }
  if (refs.length !== 1) { console.error(USAGE); process.exit(2); }

  const queue = [refs[0]];
  const seen = new Set();
  let bad = 0;
  while (queue.length) {
    const ref = queue.shift();
    if (seen.has(ref)) continue;
    seen.add(ref);
    let report;
    try {
      report = parseText(ref, await load(ref));
    } catch (e) {
      report = { uri: ref, kind: null, warnings: [], errors: [e.message], unknownTags: [], summary: null };
    }
    const problems = report.warnings.length + report.errors.length + (flags.has('--allow-unknown') ? 0 : report.unknownTags.length);
    if (problems) bad += 1;
    if (flags.has('--recurse') && report.kind === 'multivariant') {
      for (const p of report.summary.variants) queue.push(resolve(ref, p.uri));
      for (const r of report.summary.media) if (r.uri) queue.push(resolve(ref, r.uri));
    }
    const { manifest, ...printed } = report;
    if (!flags.has('--quiet') || problems) console.log(JSON.stringify({ ok: problems === 0, ...printed }));
  }
  if (bad) console.error(`parse.mjs: FAIL: ${bad} of ${seen.size} playlist(s) had warnings, errors or unknown tags`);
  process.exit(bad ? 1 : 0);
}

main();
