#!/usr/bin/env node
// Plays an HLS stream in a real browser (Debian's chromium driven by playwright-core) with the llhls player page,
// samples window.llhlsStats every 500 ms and fails unless playback started, had no fatal error, did not stall after
// it started, moved forward, and (live) stayed under a latency threshold. Prints a JSON summary.
//
//   node scripts/player/play.mjs URL [--seconds N] [--screenshot out.png] [--json out.json] [--vod]
//        [--max-latency S] [--warmup S] [--startup-timeout S] [--max-stalls N] [--max-holes N] [--sync S] [--level N [--level-at S]]
//        [--cues N --cue-api URL --cue-token TOKEN [--cue-every S]]
//
// With --cues, N cues are posted to the cue API (POST URL with the bearer token) one every S seconds once playback has
// started; each must then be shown by the page on the very frame it is bound to (0 frames late, from the emsg's exact
// pts), its DATERANGE must agree with its emsg within half a frame, and the summary gives POST → on screen times.
//
// URL is either the player page (http://host/player/?src=...) or a playlist (…​.m3u8): then this script serves the
// page itself on 127.0.0.1 and the playlist's server must allow cross-origin requests (CORS).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PAGE_DIR = path.join(HERE, 'page');
const HLSJS = path.join(HERE, 'node_modules', 'hls.js', 'dist', 'hls.min.js');
const CHROMIUM = process.env.LLHLS_CHROMIUM || '/usr/bin/chromium';
const SAMPLE_MS = 500;

const USAGE = `usage: play.mjs URL [--seconds N=30] [--screenshot FILE] [--json FILE] [--vod]
  [--max-latency S=6] [--warmup S=2] [--startup-timeout S=20] [--max-stalls N=0] [--max-holes N=0] [--sync S]
  [--level N|other [--level-at S=0]]   pick rendition N (hls.js order: ascending bitrate; "other": one that is
                                       not playing then) in the page's picker S s after start; it must play at the end
  [--cues N --cue-api URL --cue-token T [--cue-every S=2]]   post N cues while playing; each must show on its frame`;

/** Parses argv into options; throws a message on a bad flag. */
function parseArgs(argv) {
  const opts = {
    url: null, seconds: 30, screenshot: null, json: null, vod: false,
    maxLatency: 6, warmup: 2, startupTimeout: 20, maxStalls: 0, maxHoles: 0, sync: null, level: null, levelAt: 0,
    cues: 0, cueApi: null, cueToken: null, cueEvery: 2,
  };
  const num = (flag, v) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seconds': opts.seconds = num(a, argv[++i]); break;
      case '--screenshot': opts.screenshot = argv[++i]; break;
      case '--json': opts.json = argv[++i]; break;
      case '--vod': opts.vod = true; break;
      case '--max-latency': opts.maxLatency = num(a, argv[++i]); break;
      case '--warmup': opts.warmup = num(a, argv[++i]); break;
      case '--startup-timeout': opts.startupTimeout = num(a, argv[++i]); break;
      case '--max-stalls': opts.maxStalls = num(a, argv[++i]); break;
      case '--max-holes': opts.maxHoles = num(a, argv[++i]); break;
      case '--sync': opts.sync = num(a, argv[++i]); break;
      case '--level': opts.level = argv[i + 1] === 'other' ? (i++, 'other') : num(a, argv[++i]); break;
      case '--level-at': opts.levelAt = num(a, argv[++i]); break;
      case '--cues': opts.cues = num(a, argv[++i]); break;
      case '--cue-api': opts.cueApi = argv[++i]; break;
      case '--cue-token': opts.cueToken = argv[++i]; break;
      case '--cue-every': opts.cueEvery = num(a, argv[++i]); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default:
        if (a.startsWith('--') || opts.url) throw new Error(`unexpected argument ${a}`);
        opts.url = a;
    }
  }
  if (!opts.url) throw new Error('a page or playlist URL is required');
  if (opts.cues > 0 && !(opts.cueApi && opts.cueToken)) throw new Error('--cues needs --cue-api and --cue-token');
  if ((opts.screenshot === undefined) || (opts.json === undefined)) throw new Error('--screenshot/--json need a file');
  return opts;
}

/** Serves the player page and hls.js on 127.0.0.1 (for a bare playlist URL); resolves to {server, origin}. */
function servePage() {
  const files = {
    '/player/': [path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'],
    '/player/index.html': [path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'],
    '/player/player.js': [path.join(PAGE_DIR, 'player.js'), 'text/javascript'],
    '/player/player.css': [path.join(PAGE_DIR, 'player.css'), 'text/css'],
    '/player/hls.min.js': [HLSJS, 'text/javascript'],
  };
  const server = http.createServer((req, res) => {
    const route = files[new URL(req.url, 'http://x').pathname];
    if (!route) { res.writeHead(404).end('not found'); return; }
    fs.readFile(route[0], (err, body) => {
      if (err) { res.writeHead(500).end(String(err)); return; }
      res.writeHead(200, { 'content-type': route[1], 'cache-control': 'no-cache' }).end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

/** The value at quantile q (0..1) of a list of numbers, nearest rank; null for an empty list. */
function quantile(values, q) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const round3 = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`play.mjs: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (!fs.existsSync(HLSJS)) {
    console.error(`play.mjs: ${HLSJS} missing; run scripts/setup (npm install in scripts/player)`);
    process.exit(2);
  }

  let pageServer = null;
  let pageUrl;
  const target = new URL(opts.url);
  if (target.pathname.endsWith('.m3u8')) {
    const served = await servePage();
    pageServer = served.server;
    pageUrl = new URL(`${served.origin}/player/`);
    pageUrl.searchParams.set('src', target.toString());
  } else {
    pageUrl = target;
  }
  if (opts.sync !== null) pageUrl.searchParams.set('sync', String(opts.sync));

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llhls-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    ],
  });
  // Bound the whole run whatever happens in the page.
  const hardLimitMs = (opts.startupTimeout + opts.seconds + 60) * 1000;
  const killer = setTimeout(() => {
    console.error(`play.mjs: run exceeded ${hardLimitMs} ms, giving up`);
    process.exit(3);
  }, hardLimitMs);

  const consoleErrors = [];
  const httpErrors = [];
  const failedRequests = [];
  let requests = 0;
  const mediaRequests = [];
  const launchedAt = Date.now();
  const summary = { url: pageUrl.toString(), vod: opts.vod, ok: false, failures: [] };
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error' && consoleErrors.length < 50) consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => { if (consoleErrors.length < 50) consoleErrors.push(`pageerror: ${e.message}`); });
    page.on('request', (r) => {
      requests += 1;
      // Media requests, for tests that check which names a player fetched (bounded).
      if (/\.m4s(\?|$)/.test(r.url()) && mediaRequests.length < 5000) {
        mediaRequests.push({ t: round3((Date.now() - launchedAt) / 1000), path: new URL(r.url()).pathname });
      }
    });
    page.on('requestfailed', (r) => {
      if (failedRequests.length < 50) failedRequests.push(`${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
    page.on('response', (r) => { if (r.status() >= 400 && httpErrors.length < 50) httpErrors.push(`${r.status()} ${r.url()}`); });

    const t0 = Date.now();
    await page.goto(pageUrl.toString(), { waitUntil: 'load', timeout: opts.startupTimeout * 1000 });
    const samples = [];
    const stats = () => page.evaluate(() => JSON.parse(JSON.stringify(window.llhlsStats || null)));

    // Wait for the first frame (or a fatal error).
    let s = null;
    while (Date.now() - t0 < opts.startupTimeout * 1000) {
      s = await stats();
      if (s && (s.started || s.fatalError)) break;
      await page.waitForTimeout(SAMPLE_MS / 5);
    }
    const startedAt = Date.now();
    const startTime = s ? s.currentTime : 0;
    let levelPicked = false;
    const pickLevel = async () => {
      if (levelPicked || opts.level === null || Date.now() - startedAt < opts.levelAt * 1000) return;
      levelPicked = true;
      const now = await stats();
      let pick = opts.level;
      if (pick === 'other') {
        const n = (now.levels || []).length;
        pick = now.level === 0 ? n - 1 : 0;
      }
      summary.levelPicked = pick;
      await page.selectOption('#levels', String(pick));
    };
    if (s && s.started) await pickLevel();
    // Cues: posted from here (an app backend), one every --cue-every seconds after the warm-up.
    const posted = [];
    const postCue = async () => {
      const due = opts.warmup + posted.length * opts.cueEvery;
      if (posted.length >= opts.cues || Date.now() - startedAt < due * 1000) return;
      const id = `e2e-${posted.length}-${Date.now()}`;
      const entry = { id, postedAt: Date.now(), status: null, answer: null };
      posted.push(entry);
      try {
        const r = await fetch(opts.cueApi, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.cueToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, class: 'com.example.poll', data: { question: `poll ${posted.length}`, n: posted.length }, duration: 1.5 }),
        });
        entry.status = r.status;
        entry.answer = await r.json();
        entry.answeredMs = Date.now() - entry.postedAt;
      } catch (e) {
        entry.status = `error: ${e.message}`;
      }
    };
    while (s && s.started && !s.fatalError && Date.now() - startedAt < opts.seconds * 1000) {
      await page.waitForTimeout(SAMPLE_MS);
      await pickLevel();
      await postCue();
      s = await stats();
      samples.push({ t: (Date.now() - startedAt) / 1000, ...s });
      if (opts.vod && s.currentTime > 0 && (await page.evaluate(() => document.getElementById('video').ended))) break;
    }
    const playedWall = (Date.now() - startedAt) / 1000;
    if (opts.screenshot) {
      fs.mkdirSync(path.dirname(path.resolve(opts.screenshot)), { recursive: true });
      await page.screenshot({ path: opts.screenshot });
    }
    const last = s || {};
    const ended = await page.evaluate(() => document.getElementById('video').ended);
    const duration = await page.evaluate(() => document.getElementById('video').duration);

    const settled = samples.filter((x) => x.t >= opts.warmup);
    const lat = settled.map((x) => x.latency).filter((v) => typeof v === 'number');
    const edge = settled.map((x) => x.edgeLatency).filter((v) => typeof v === 'number');
    const buf = settled.map((x) => x.buffer).filter((v) => typeof v === 'number');
    const levelNames = (last.levels || []).map((l) => (l.height ? `${l.width}x${l.height}` : l.name || `level ${l.index}`));
    Object.assign(summary, {
      started: !!last.started,
      startupMs: last.startupMs ?? null,
      pageToFirstFrameMs: last.started ? (startedAt - t0) : null,
      seconds: round3(playedWall),
      mediaSecondsPlayed: round3((last.currentTime || 0) - startTime),
      live: last.live ?? null,
      ended,
      duration: Number.isFinite(duration) ? round3(duration) : null,
      latency: {
        samples: lat.length, p50: round3(quantile(lat, 0.5)), p95: round3(quantile(lat, 0.95)),
        max: round3(lat.length ? Math.max(...lat) : null), min: round3(lat.length ? Math.min(...lat) : null),
      },
      edgeLatency: { p50: round3(quantile(edge, 0.5)), p95: round3(quantile(edge, 0.95)) },
      targetLatency: round3(last.targetLatency ?? null),
      buffer: { p50: round3(quantile(buf, 0.5)), min: round3(buf.length ? Math.min(...buf) : null) },
      stalls: last.stalls ?? null,
      holes: last.holes || [],
      stalledMs: Math.round(last.stalledMs || 0),
      longestStallMs: Math.round(last.longestStallMs || 0),
      // The last 10 s of the run: where latency settles after an event mid-run.
      latencyTail: round3(quantile(settled.filter((x) => x.t >= playedWall - 10).map((x) => x.latency).filter((v) => typeof v === 'number'), 0.5)),
      mediaRequests,
      levels: levelNames,
      levelsSeen: (last.levelsSeen || []).map((i) => levelNames[i] ?? `level ${i}`),
      finalLevel: last.resolution ?? last.videoSize ?? null,
      bitrate: last.bitrate ?? null,
      droppedFrames: last.droppedFrames ?? null,
      decodedFrames: last.decodedFrames ?? null,
      fatalError: last.fatalError ?? null,
      hlsErrors: last.errors || [],
      requests,
      httpErrors,
      failedRequests,
      consoleErrors,
    });

    // The verdict.
    const fail = (m) => summary.failures.push(m);
    if (!last.started) fail(`playback did not start within ${opts.startupTimeout} s`);
    if (last.fatalError) fail(`fatal error: ${last.fatalError}`);
    if (opts.level !== null && last.started) {
      if (!levelPicked) fail(`rendition ${opts.level} was never picked (--level-at ${opts.levelAt} s is past the run)`);
      else if (last.level !== summary.levelPicked) fail(`picked rendition ${summary.levelPicked} but ${last.level} is playing at the end`);
    }
    if ((last.stalls || 0) > opts.maxStalls) fail(`${last.stalls} stall(s) after start (allowed ${opts.maxStalls})`);
    // A gap between buffered ranges is media the player skipped (a part it never appended).
    const holes = last.holes || [];
    if (holes.length > opts.maxHoles) fail(`${holes.length} hole(s) in the buffer (${holes.join(', ')}; allowed ${opts.maxHoles})`);
    if (last.started) {
      if (opts.vod) {
        if (last.live) fail('the playlist is live but --vod was given');
        const expect = Math.min(opts.seconds, Number.isFinite(duration) ? duration : opts.seconds) * 0.8;
        if (summary.mediaSecondsPlayed < expect) fail(`played ${summary.mediaSecondsPlayed} s of media, expected ≥ ${round3(expect)} s`);
      } else {
        if (last.live === false) fail('the playlist is not live (EXT-X-ENDLIST) but --vod was not given');
        // Playback must keep up with real time (it may run faster while catching up).
        if (summary.mediaSecondsPlayed < playedWall * 0.9 - 1) fail(`played ${summary.mediaSecondsPlayed} s of media in ${round3(playedWall)} s`);
        if (lat.length === 0) fail('no latency figure (no EXT-X-PROGRAM-DATE-TIME on the playing segments?)');
        else if (Math.max(...lat) > opts.maxLatency) fail(`latency reached ${round3(Math.max(...lat))} s (threshold ${opts.maxLatency} s)`);
      }
    }
    if (opts.cues > 0) {
      // Wait (bounded) for the last cues to come on screen.
      const until = Date.now() + 10_000;
      let seen = last.cues || [];
      while (Date.now() < until && !posted.every((p) => seen.some((c) => c.id === p.id && c.shownAt !== null))) {
        await page.waitForTimeout(200);
        seen = (await stats()).cues || [];
      }
      const frame = 1 / 30;
      summary.cues = posted.map((p) => {
        const c = seen.find((x) => x.id === p.id) || {};
        return {
          id: p.id, status: p.status, postAnswerMs: p.answeredMs ?? null,
          pts: p.answer ? p.answer.pts : null, startDate: p.answer ? p.answer.start_date : null,
          emsgStart: round3(c.emsgStart ?? null), rangeStart: round3(c.rangeStart ?? null), shownAt: round3(c.shownAt ?? null),
          framesLate: c.shownLate ?? null,
          framesSkippedBefore: c.framesSkippedBefore ?? null,
          rangeVsEmsgMs: c.emsgStart != null && c.rangeStart != null ? Math.round((c.rangeStart - c.emsgStart) * 1000) : null,
          postToScreenMs: c.shownWall ? c.shownWall - p.postedAt : null,
        };
      });
      if (posted.length < opts.cues) fail(`only ${posted.length} of ${opts.cues} cues posted in ${opts.seconds} s`);
      for (const c of summary.cues) {
        if (c.status !== 201) fail(`cue ${c.id}: POST answered ${c.status}`);
        else if (c.shownAt === null) fail(`cue ${c.id} never shown`);
        else if (c.emsgStart === null) fail(`cue ${c.id}: no emsg copy reached the page`);
        else if (c.rangeStart === null) fail(`cue ${c.id}: no DATERANGE reached the page`);
        // On its frame; or, when the browser presented that frame without a frame callback (a skipped callback under
        // load: presentedFrames jumped), on the first frame after it the page could draw on.
        else if (c.framesLate < 0 || c.framesLate > (c.framesSkippedBefore || 0)) {
          fail(`cue ${c.id} shown ${c.framesLate} frame(s) off its frame (${c.framesSkippedBefore} skipped before)`);
        }
        else if (Math.abs(c.rangeVsEmsgMs) > frame * 500) fail(`cue ${c.id}: DATERANGE ${c.rangeVsEmsgMs} ms from its emsg`);
      }
      const toScreen = summary.cues.map((c) => c.postToScreenMs).filter((v) => typeof v === 'number');
      summary.cueFigures = {
        postToScreenMs: { p50: quantile(toScreen, 0.5), max: toScreen.length ? Math.max(...toScreen) : null },
        framesLate: summary.cues.map((c) => c.framesLate),
        onFrame: summary.cues.filter((c) => c.framesLate === 0).length,
        lateForSkippedFrames: summary.cues.filter((c) => c.framesLate > 0).length,
      };
    }
    summary.ok = summary.failures.length === 0;
    // On failure, the page's event trace (fragments loaded and appended, buffered ranges, errors) says why.
    // …and so does it for a run that passed with stalls or holes allowed (a benchmark).
    if (!summary.ok || (last.stalls || 0) > 0 || (last.holes || []).length > 0) {
      summary.trace = last.trace || [];
      summary.stallTraces = last.stallTraces || [];
    }
  } catch (e) {
    summary.failures.push(`harness error: ${e.message}`);
  } finally {
    clearTimeout(killer);
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    if (pageServer) pageServer.close();
  }
  const text = JSON.stringify(summary, null, 2);
  if (opts.json) {
    fs.mkdirSync(path.dirname(path.resolve(opts.json)), { recursive: true });
    fs.writeFileSync(opts.json, `${text}\n`);
  }
  console.log(text);
  if (!summary.ok) console.error(`play.mjs: FAIL: ${summary.failures.join('; ')}`);
  process.exit(summary.ok ? 0 : 1);
}

main();
