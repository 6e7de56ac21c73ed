// llhls test player: plays the playlist named by ?src= with hls.js in low-latency mode and shows, live, how far
// behind real time the picture on screen is. Tests read the same figures from window.llhlsStats.
//
// Latency is wall clock minus the EXT-X-PROGRAM-DATE-TIME of the frame on screen (hls.playingDate maps
// video.currentTime through the PROGRAM-DATE-TIME of the playing segment, draft-pantos-hls-rfc8216bis-22 §4.4.4.6),
// so it includes encode, packaging, delivery and player buffering. It assumes the origin's clock is this machine's.
'use strict';

(function main() {
  const params = new URLSearchParams(location.search);
  const src = params.get('src');
  const video = document.getElementById('video');
  const picker = document.getElementById('levels');
  const srcInput = document.getElementById('src');
  const t0 = performance.now();

  /** Figures for the page and for tests (scripts/player/play.mjs samples this object). */
  const stats = {
    src,
    latency: null, // seconds, wall clock minus PROGRAM-DATE-TIME of the frame on screen
    edgeLatency: null, // seconds behind the playlist's live edge, as hls.js computes it
    targetLatency: null, // seconds, what hls.js aims for (PART-HOLD-BACK in low-latency mode)
    buffer: 0, // seconds buffered ahead of the playhead
    level: -1, // index of the rendition playing (-1 before any)
    resolution: null, // "WIDTHxHEIGHT" of that rendition (RESOLUTION attribute)
    videoSize: null, // "WIDTHxHEIGHT" of the decoded picture
    bitrate: null, // its BANDWIDTH attribute, bits per second
    levels: [], // every rendition of the multivariant playlist
    levelsSeen: [], // indices of the renditions that played
    autoLevel: true,
    playbackRate: 1,
    currentTime: 0,
    live: null,
    stalls: 0, // playback stopped for want of data after it had started
    stalledMs: 0,
    longestStallMs: 0, // the longest single stall
    started: false,
    startupMs: null, // page script start to the first frame playing
    fatalError: null,
    errors: [], // non-fatal hls.js errors, details only
    droppedFrames: 0,
    decodedFrames: 0,
    stallTraces: [], // for each of the first 5 stalls, the 40 trace lines before it (the trace's middle may be left out)
    holes: [], // gaps ever seen between buffered ranges, "start-end" (a part the player skipped), at most 50
    trace: [], // media events, "seconds event details buffered=…": the first TRACE_HEAD and the last TRACE_TAIL, for diagnosing a stall
    // Cues (EXT-X-DATERANGE and emsg/ID3, deduplicated by id): id, class, data, start (media seconds, from the emsg's
    // exact pts when it came, else from the DATERANGE's START-DATE), emsgStart and rangeStart as each source gave it,
    // shownAt (mediaTime of the first frame the overlay was on), and shownLate (frames between the two). At most 200.
    cues: [],
  };
  window.llhlsStats = stats;

  // Startup (where holes begin) and the end (where a failure shows) are both kept.
  const TRACE_HEAD = 200;
  const TRACE_TAIL = 300;
  let traceDropped = 0;
  /** Time ranges as "start-end,…" in seconds. */
  const ranges = (b) => {
    const out = [];
    for (let i = 0; b && i < b.length; i++) out.push(`${b.start(i).toFixed(3)}-${b.end(i).toFixed(3)}`);
    return out.join(',');
  };
  /** Appends one line to stats.trace (bounded: head kept, then a ring): when, what, the playhead and what is buffered. */
  function trace(what) {
    const at = ((performance.now() - t0) / 1000).toFixed(3);
    stats.trace.push(`${at} ${what} t=${video.currentTime.toFixed(3)} buffered=${ranges(video.buffered)}`);
    if (stats.trace.length > TRACE_HEAD + 1 + TRACE_TAIL) {
      traceDropped += traceDropped ? 1 : 2; // the first splice drops two events, later ones an event and the marker
      stats.trace.splice(TRACE_HEAD, 2, `… ${traceDropped} line(s) left out …`);
    }
  }

  srcInput.value = src || '';
  document.getElementById('open').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URL(location.href);
    next.searchParams.set('src', srcInput.value.trim());
    location.href = next.toString();
  });

  const status = document.getElementById('s-status');
  function setStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }

  if (!src) {
    setStatus('no ?src= playlist URL given', true);
    stats.fatalError = 'no src';
    return;
  }
  if (typeof Hls === 'undefined' || !Hls.isSupported()) {
    setStatus('hls.js is not available or MSE is not supported', true);
    stats.fatalError = 'hls.js unsupported';
    return;
  }

  const config = {
    lowLatencyMode: true,
    // Catch up on drift by playing up to 1.5x; never slower than real time.
    maxLiveSyncPlaybackRate: 1.5,
    // Keep the duration growing so the seek bar follows live.
    liveDurationInfinity: true,
    // hls.js's default back buffer (no flush). With backBufferLength 30, hls.js cut its back buffer at a main
    // fragment's start, which drops the AAC frame straddling that point (AAC frames do not divide 2 s), and in
    // 2 of 3 scripts/bench-latency runs audio loading then paused at the next segment boundary: one ~0.7 s
    // stall. Without the flush: 0 of 3.
    // Start at the rendition hls.js estimates fits, not always at the first.
    startLevel: -1,
  };
  // Without ?sync= hls.js aims at the server's PART-HOLD-BACK (low-latency mode, §4.4.3.8) or HOLD-BACK, and at
  // three target durations when the playlist has neither (a classic playlist). ?sync=SECONDS overrides that.
  const sync = Number.parseFloat(params.get('sync'));
  if (Number.isFinite(sync) && sync > 0) config.liveSyncDuration = sync;
  if (params.get('debug') === '1') config.debug = true;

  const hls = new Hls(config);
  window.llhlsHls = hls;

  hls.on(Hls.Events.MANIFEST_PARSED, (_ev, data) => {
    stats.levels = data.levels.map((l, i) => ({
      index: i,
      width: l.width || null,
      height: l.height || null,
      bitrate: l.bitrate || null,
      codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(','),
      name: l.name || null,
    }));
    for (const l of stats.levels) {
      const opt = document.createElement('option');
      opt.value = String(l.index);
      const size = l.height ? `${l.height}p` : (l.name || `level ${l.index}`);
      opt.textContent = `${size} ${l.bitrate ? Math.round(l.bitrate / 1000) + ' kb/s' : ''}`.trim();
      picker.appendChild(opt);
    }
    setStatus('manifest parsed');
    video.play().catch(() => { /* autoplay refused: the user presses play */ });
  });

  hls.on(Hls.Events.LEVEL_SWITCHED, (_ev, data) => {
    stats.level = data.level;
    const l = hls.levels[data.level];
    stats.resolution = l && l.width ? `${l.width}x${l.height}` : null;
    stats.bitrate = l && l.bitrate ? l.bitrate : null;
    if (!stats.levelsSeen.includes(data.level)) stats.levelsSeen.push(data.level);
  });

  hls.on(Hls.Events.LEVEL_LOADED, (_ev, data) => {
    stats.live = !!data.details.live;
  });

  const fragName = (d) => `${d.frag.type} ${d.frag.sn}${d.part ? '.' + d.part.index : ''}`
    + ` ${(d.part || d.frag).start.toFixed(3)}+${(d.part || d.frag).duration.toFixed(3)}`;
  hls.on(Hls.Events.FRAG_LOADED, (_ev, d) => trace(`loaded ${fragName(d)}`));
  hls.on(Hls.Events.BUFFER_APPENDED, (_ev, d) => trace(`appended ${d.type} ${d.frag.sn}${d.part ? '.' + d.part.index : ''}`
    + ` ${Object.entries(d.timeRanges || {}).map(([k, b]) => `${k}=${ranges(b)}`).join(' ')}`));
  hls.on(Hls.Events.LEVEL_UPDATED, (_ev, d) => trace(`level ${d.level} updated: last part ${d.details.lastPartSn}.${d.details.lastPartIndex}, edge ${d.details.edge.toFixed(3)}`));
  hls.on(Hls.Events.AUDIO_TRACK_UPDATED, (_ev, d) => trace(`audio updated: last part ${d.details.lastPartSn}.${d.details.lastPartIndex}, edge ${d.details.edge.toFixed(3)}`));
  for (const ev of ['waiting', 'playing', 'seeking', 'seeked']) video.addEventListener(ev, () => trace(`video ${ev}`));

  hls.on(Hls.Events.ERROR, (_ev, data) => {
    trace(`error ${data.details}${data.fatal ? ' (fatal)' : ''}${data.frag ? ' ' + data.frag.type + ' ' + data.frag.sn : ''}`
      + `${data.part ? '.' + data.part.index : ''}${data.reason || data.error ? ': ' + (data.reason || data.error.message) : ''}`);
    if (data.fatal) {
      stats.fatalError = `${data.type}: ${data.details}` + (data.response ? ` (HTTP ${data.response.code})` : '');
      setStatus(`fatal: ${stats.fatalError}`, true);
      return;
    }
    if (stats.errors.length < 50) stats.errors.push(data.details);
    if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) beginStall();
  });

  picker.addEventListener('change', () => {
    const idx = Number.parseInt(picker.value, 10);
    stats.autoLevel = idx < 0;
    // nextLevel switches at the next fragment boundary without flushing what is buffered.
    hls.nextLevel = idx;
  });

  // A stall is playback stopping for want of data after it had started; a seek is not a stall.
  let stallSince = null;
  function beginStall() {
    if (!stats.started || stallSince !== null || video.seeking || video.paused || video.ended) return;
    stallSince = performance.now();
    stats.stalls += 1;
    trace('stall begins');
    if (stats.stallTraces.length < 5) {
      stats.stallTraces.push(stats.trace.slice(-40));
      // The lines after it matter too: add the next 20 once they exist.
      const slot = stats.stallTraces.length - 1;
      setTimeout(() => { stats.stallTraces[slot] = stats.stallTraces[slot].concat(['…'], stats.trace.slice(-20)); }, 3000);
    }
    setStatus('stalled', true);
  }
  function endStall() {
    if (stallSince === null) return;
    stats.stalledMs += performance.now() - stallSince;
    stats.longestStallMs = Math.max(stats.longestStallMs, performance.now() - stallSince);
    stallSince = null;
    setStatus('playing');
  }
  video.addEventListener('waiting', beginStall);
  video.addEventListener('playing', () => {
    if (!stats.started) {
      stats.started = true;
      stats.startupMs = Math.round(performance.now() - t0);
    }
    endStall();
    setStatus('playing');
  });
  video.addEventListener('timeupdate', () => {
    if (stallSince !== null && !video.seeking && video.readyState >= 3) endStall();
  });
  video.addEventListener('ended', () => setStatus('ended'));

  function bufferAhead() {
    const t = video.currentTime;
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) {
      if (b.start(i) <= t + 0.1 && t < b.end(i)) return b.end(i) - t;
    }
    return 0;
  }

  /** Records each gap between buffered ranges once: media the player never appended. */
  function noteHoles() {
    const b = video.buffered;
    for (let i = 1; i < b.length && stats.holes.length < 50; i++) {
      const gap = `${b.end(i - 1).toFixed(3)}-${b.start(i).toFixed(3)}`;
      if (!stats.holes.includes(gap)) stats.holes.push(gap);
    }
  }

  const el = (id) => document.getElementById(id);
  const fmt = (v, unit, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(digits)} ${unit}`);

  function sample() {
    const date = hls.playingDate;
    stats.latency = date ? (Date.now() - date.getTime()) / 1000 : null;
    stats.edgeLatency = stats.live ? hls.latency : null;
    stats.targetLatency = stats.live ? hls.targetLatency : null;
    stats.buffer = bufferAhead();
    noteHoles();
    stats.playbackRate = video.playbackRate;
    stats.autoLevel = hls.autoLevelEnabled;
    stats.currentTime = video.currentTime;
    // A bare media playlist has no RESOLUTION attribute: fall back to the decoded picture size.
    stats.videoSize = video.videoWidth ? `${video.videoWidth}x${video.videoHeight}` : null;
    if (typeof video.getVideoPlaybackQuality === 'function') {
      const q = video.getVideoPlaybackQuality();
      stats.droppedFrames = q.droppedVideoFrames;
      stats.decodedFrames = q.totalVideoFrames;
    }
    el('s-latency').textContent = fmt(stats.latency, 's');
    el('s-edge').textContent = fmt(stats.edgeLatency, 's');
    el('s-target').textContent = fmt(stats.targetLatency, 's');
    el('s-buffer').textContent = fmt(stats.buffer, 's');
    el('s-level').textContent = stats.level >= 0
      ? `${stats.resolution || stats.videoSize || 'level ' + stats.level}${stats.autoLevel ? ' (auto)' : ''}` : '–';
    el('s-bitrate').textContent = stats.bitrate ? `${Math.round(stats.bitrate / 1000)} kb/s` : '–';
    el('s-rate').textContent = `${stats.playbackRate.toFixed(2)}x`;
    el('s-stalls').textContent = String(stats.stalls);
    el('s-startup').textContent = stats.startupMs === null ? '–' : `${stats.startupMs} ms`;
  }
  setInterval(sample, 250);

  // --- cues -----------------------------------------------------------------------------------------------------
  // A cue is shown from the first presented frame whose media time is at or after its start, read from
  // requestVideoFrameCallback's mediaTime (TextTrack cue events fire up to 250 ms late in Chromium), until its
  // DURATION or END-DATE passes. Both carriages are read: the DATERANGE of the playlist (hls.js maps START-DATE to
  // media time through PROGRAM-DATE-TIME) and the emsg/ID3 copy in the video parts (exact pts); one cue per id.
  const overlay = document.getElementById('cue');
  const cues = new Map();
  const FRAME_EPSILON = 0.0005; // seconds: float noise between two routes to the same pts
  const fps = () => {
    const l = hls.levels && hls.levels[hls.currentLevel];
    return (l && l.frameRate) || 30;
  };
  function noteCue(id, fields) {
    let c = cues.get(id);
    if (!c) {
      if (cues.size >= 200) return;
      c = { id, class: null, data: null, start: null, end: null, emsgStart: null, rangeStart: null, shownAt: null, shownWall: null, shownLate: null, framesSkippedBefore: null };
      cues.set(id, c);
      stats.cues.push(c);
    }
    Object.assign(c, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null)));
    // The emsg's pts is the frame's exact time; the DATERANGE's is PROGRAM-DATE-TIME arithmetic (ms).
    c.start = c.emsgStart !== null ? c.emsgStart : c.rangeStart;
  }
  /** The JSON value of the first ID3v2.4 TXXX frame described `llhls.cue` in `bytes`, or null. */
  function id3Cue(bytes) {
    const syncsafe = (b, i) => (b[i] << 21) | (b[i + 1] << 14) | (b[i + 2] << 7) | b[i + 3];
    if (bytes.length < 10 || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return null;
    const end = Math.min(bytes.length, 10 + syncsafe(bytes, 6));
    for (let i = 10; i + 10 <= end;) {
      const id = String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]);
      const size = syncsafe(bytes, i + 4);
      const body = bytes.subarray(i + 10, i + 10 + size);
      if (id === 'TXXX' && body[0] === 3) {
        const nul = body.indexOf(0, 1);
        const text = new TextDecoder();
        if (nul > 0 && text.decode(body.subarray(1, nul)) === 'llhls.cue') {
          try { return JSON.parse(text.decode(body.subarray(nul + 1))); } catch (_) { return null; }
        }
      }
      if (size <= 0) break;
      i += 10 + size;
    }
    return null;
  }
  hls.on(Hls.Events.FRAG_PARSING_METADATA, (_ev, data) => {
    for (const sample of data.samples || []) {
      const cue = sample.data && id3Cue(sample.data);
      if (!cue || !cue.id) continue;
      const end = cue.duration ? sample.pts + cue.duration : undefined;
      noteCue(cue.id, { class: cue.class, data: cue.data, emsgStart: sample.pts, end });
    }
  });
  function dateRanges(details) {
    for (const [id, r] of Object.entries((details && details.dateRanges) || {})) {
      if (!Number.isFinite(r.startTime)) continue;
      const raw = r.attr && r.attr['X-LLHLS-DATA'];
      let data;
      try { data = raw ? JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(raw), (ch) => ch.charCodeAt(0)))) : undefined; } catch (_) { data = undefined; }
      const end = Number.isFinite(r.duration) && r.duration !== null ? r.startTime + r.duration : undefined;
      noteCue(id, { class: r.class, data, rangeStart: r.startTime, end });
    }
  }
  hls.on(Hls.Events.LEVEL_UPDATED, (_ev, d) => dateRanges(d.details));
  hls.on(Hls.Events.LEVEL_LOADED, (_ev, d) => dateRanges(d.details));

  // Frames the browser presented without a frame callback before the current one (rVFC's presentedFrames jump):
  // a cue whose frame was among them can only go on screen at the next one.
  let lastPresented = null;
  function showCues(mediaTime, presentedFrames) {
    const skipped = lastPresented !== null && presentedFrames !== undefined ? Math.max(0, presentedFrames - lastPresented - 1) : 0;
    if (presentedFrames !== undefined) lastPresented = presentedFrames;
    const active = [];
    for (const c of cues.values()) {
      if (c.start === null || mediaTime + FRAME_EPSILON < c.start) continue;
      if (c.shownAt === null) {
        c.shownAt = mediaTime;
        c.shownWall = Date.now();
        c.shownLate = Math.round((mediaTime - c.start) * fps());
        c.framesSkippedBefore = skipped;
        trace(`cue ${c.id} shown at ${mediaTime.toFixed(3)} (start ${c.start.toFixed(3)})`);
      }
      if (c.end === null || c.end === undefined || mediaTime + FRAME_EPSILON < c.end) active.push(c);
    }
    if (!overlay) return;
    if (active.length === 0) {
      overlay.hidden = true;
      return;
    }
    const c = active[active.length - 1];
    overlay.hidden = false;
    overlay.querySelector('.cue-class').textContent = c.class || '';
    overlay.querySelector('.cue-data').textContent = typeof c.data === 'string' ? c.data : JSON.stringify(c.data);
  }
  if (typeof video.requestVideoFrameCallback === 'function') {
    const onFrame = (_now, meta) => {
      showCues(meta.mediaTime, meta.presentedFrames);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  } else {
    // Without frame callbacks (older browsers): the closest the page can get.
    video.addEventListener('timeupdate', () => showCues(video.currentTime));
  }

  hls.attachMedia(video);
  hls.loadSource(src);
}());
