// The inspector page: open a capture, filter it, see it as a table, a timeline and one frame in detail.
import { codec, fromHex, isCaptureFormatError, runtimeMessages, type Direction } from '@corosync-ts/codec-wasm';
import { csErrorName } from '@corosync-ts/types';
import { detailOf, fieldAt, frameDetail, type FieldNode, type FrameDetail } from './detail.js';
import { instant, recordedText } from './ending.js';
import { ExportWriter } from './export.js';
import { EMPTY, applyFilters, filtersFromHash, filtersToHash, type Filters } from './filters.js';
import { MAX_FILES, MergeError, fileTitle, mergeCaptures, type LoadedFile } from './merge.js';
import { CaptureBuilder, DIRS, appendPiece, connName, isNoReply, isUnanswered, linePieces, lostInDrop, messageName, refusedSetup, type Capture, type ConnInfo, type LoadMessage, type Mark } from './model.js';
import { Timeline } from './timeline.js';

const ROW = 22;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface State {
  cap: Capture | null;
  rows: Int32Array;
  sel: number;
  filters: Filters;
  loadStart: number;
  /** the view's files: one, or several merged into `cap` */
  files: LoadedFile[];
}

const state: State = { cap: null, rows: new Int32Array(0), sel: -1, filters: { ...EMPTY }, loadStart: 0, files: [] };
// For tests and the benchmark: what is loaded and how long it took.
const probe: { warm: boolean; ready: boolean; error?: string; firstTableMs?: number; loadedMs?: number; frames?: number; timing?: Capture['timing']; rendered: number; exported?: { rows: number; pieces: number; ms: number } } = { warm: false, ready: false, rendered: 0 };
const timeline = new Timeline($('timeline') as HTMLCanvasElement, (i) => select(i, true), (m) => showMark(m));
(window as unknown as { __inspector: unknown }).__inspector = { probe, state, timeline };

// ---------------------------------------------------------------- loading
let loading = 0;

// The loader's code, bundled at build time (scripts/build.mjs). A classic worker from a blob:
// URL: Chromium refuses module and file workers to a page opened from file://.
declare const __INSPECTOR_WORKER__: string;
// `?worker=0` parses on the page's own thread instead (the tests compare both).
const inWorker = new URLSearchParams(location.search).get('worker') !== '0';
let workerUrl: string | undefined;
function startWorker(): Worker {
  const w = new Worker((workerUrl ??= URL.createObjectURL(new Blob([__INSPECTOR_WORKER__], { type: 'text/javascript' }))));
  probe.warm = false;
  w.onmessage = (e: MessageEvent<LoadMessage>) => {
    if (e.data.kind === 'ready') probe.warm = true;
  };
  return w;
}
// The next load's worker, started ahead (it compiles the codec as it starts), so that the first
// table of a dropped capture waits neither for a new thread nor for a WASM compile.
let spare: Worker | undefined;
if (inWorker) spare = startWorker();
else {
  // the codec that parses here compiles now, not when the first capture comes
  codec.inputBuffer(1);
  probe.warm = true;
}

/** The capture after each piece, parsed here; throws an Error whose message is for the user. */
async function* parseHere(source: ReadableStream<Uint8Array> | Blob, label: string): AsyncGenerator<Capture> {
  const builder = new CaptureBuilder();
  const timing: { inflate: number; cut?: string } = { inflate: 0 };
  try {
    for await (const piece of linePieces(source instanceof Blob ? (source.stream() as ReadableStream<Uint8Array>) : source, timing)) {
      builder.take(piece);
      builder.cap!.timing.inflate = timing.inflate;
      yield builder.cap!;
      // Let the page draw and take input between pieces.
      await new Promise((r) => setTimeout(r, 0));
    }
    if (!builder.cap) {
      if (timing.cut !== undefined) throw new Error(timing.cut);
      builder.add(new Uint8Array(0)); // no header: the reader's own error
      yield builder.cap!;
    }
    if (timing.cut !== undefined) builder.cap!.cut = timing.cut;
  } catch (e) {
    throw new Error(isCaptureFormatError(e) ? `not a readable capture: ${e.message}` : `cannot open ${label}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The capture after each piece, parsed by a worker that is ended when the caller stops. */
async function* parseInWorker(source: ReadableStream<Uint8Array> | Blob, label: string): AsyncGenerator<Capture> {
  const worker = spare ?? startWorker();
  spare = undefined;
  type Loaded = Exclude<LoadMessage, { kind: 'ready' }>;
  const queue: Loaded[] = [];
  let wake: (() => void) | undefined;
  const arrive = (m: Loaded): void => {
    queue.push(m);
    wake?.();
  };
  worker.onmessage = (e: MessageEvent<LoadMessage>) => {
    if (e.data.kind === 'ready') probe.warm = true;
    else arrive(e.data);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    arrive({ kind: 'error', message: `cannot open ${label}: the loader failed: ${e.message}` });
  };
  try {
    worker.postMessage({ source, label }, source instanceof Blob ? [] : [source]);
    let c: Capture | undefined;
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const m = queue.shift()!;
      if (m.kind === 'done') {
        if (c && m.cut !== undefined) c.cut = m.cut;
        return;
      }
      if (m.kind === 'error') throw new Error(m.message);
      const first = !c;
      c = appendPiece(c, m);
      yield c;
      if (first) worker.postMessage('drawn');
    }
  } finally {
    worker.terminate();
    spare ??= startWorker();
  }
}

/**
 * Reads a capture as it arrives: the table is drawn after the first piece and grows while the
 * rest loads, parsed by a worker so the page stays responsive.
 */
async function openSource(source: ReadableStream<Uint8Array> | Blob, label: string, sizeHint: number, t0 = performance.now()): Promise<void> {
  const me = ++loading;
  state.loadStart = t0;
  probe.ready = false;
  delete probe.error;
  delete probe.firstTableMs;
  state.cap = null;
  state.files = [];
  showFiles([]);
  showBadLines([]);
  ($('export') as HTMLButtonElement).disabled = true;
  setStatus(`reading ${label}${sizeHint ? ` (${(sizeHint / 1048576).toFixed(1)} MB)` : ''}…`);
  let c: Capture | undefined;
  try {
    for await (c of (inWorker ? parseInWorker : parseHere)(source, label)) {
      if (me !== loading) return; // another capture was opened meanwhile
      if (!state.cap) {
        state.cap = c;
        firstDraw(c);
        await painted();
        probe.firstTableMs = performance.now() - state.loadStart;
      } else scheduleGrow(`${label}: ${c.count.toLocaleString('en')} frames so far…`);
    }
  } catch (e) {
    if (me !== loading) return;
    state.cap = null;
    probe.error = (e as Error).message;
    state.files = [{ name: label, error: probe.error }];
    setStatus(probe.error, true);
    renderAll();
    return;
  }
  if (me !== loading || !c) return;
  state.files = [{ name: label, cap: c }];
  await shown(c, () => summary(label, c));
}

/** The view's capture is whole: the filters' lists, the table, the status line and the bad lines. */
async function shown(c: Capture, status: () => string): Promise<void> {
  if (state.cap !== c) {
    state.cap = c;
    firstDraw(c);
  }
  fillSelects(c);
  writeFilterInputs();
  refilter(true);
  await painted();
  probe.firstTableMs ??= performance.now() - state.loadStart;
  probe.loadedMs = performance.now() - state.loadStart;
  probe.frames = c.count;
  probe.timing = c.timing;
  setStatus(
    status() +
      `${c.bad.length ? ` — ${c.bad.length} bad lines (first: ${c.bad[0]!.message}; all listed below)` : ''}` +
      ` · loaded in ${probe.loadedMs.toFixed(0)} ms` +
      // a rate from a few frames would be the decoder's start-up, not its speed
      `${c.count >= 10_000 ? ` (decoded at ${Math.round(c.count / (Math.max(c.timing.decode, 0.1) / 1000)).toLocaleString('en')} frames/s)` : ''}`,
    c.bad.length > 0 || c.cut !== undefined || state.files.some((f) => f.error !== undefined || (f.cap !== undefined && recordedText(f.cap).warn)),
  );
  showBadLines(c.bad);
  if (state.sel >= 0 && state.sel < c.count) select(state.sel, true);
  probe.ready = true;
}

/** What a capture is: its frames and connections, then its header's story. */
function summary(label: string, c: Capture): string {
  const refused = [...c.conns.values()].filter((ci) => ci.refused !== undefined).length;
  return `${label}: ${plural(c.count, 'frame')}, ${plural(c.conns.size, 'connection')}${refused ? ` (${refused} refused at the handshake)` : ''}, ${headerInfo(c)}` +
    `${c.cut ? ` — the file ends early (${c.cut}): these are the frames before that point` : ''}`;
}

/** A capture's header and how its recording ended, as the status line (one file) and each line of the file list (several) say it. */
function headerInfo(c: Capture): string {
  const h = c.header;
  return `recorded by ${h.recorder.name} ${h.recorder.version} (${h.recorder.mode}) on ${h.host}${h.corosync ? `, corosync ${h.corosync}` : ''}, ${recordedText(c).text}`;
}

/** A view of several captures: one line per file under the status line, a failed one with its error. */
function showFiles(files: readonly LoadedFile[]): void {
  const box = $('files');
  box.hidden = files.length < 2;
  if (box.hidden) return box.replaceChildren();
  let tag = 0;
  box.replaceChildren(...files.map((f) => {
    const li = document.createElement('li');
    if (f.cap) {
      // no view (the files could not share one): no tags either
      li.textContent = summary(state.cap?.files ? fileTitle(state.cap.files[tag++]!) : f.name, f.cap);
      if (recordedText(f.cap).warn) li.className = 'warn';
    } else {
      li.textContent = `${f.name}: ${f.error ?? 'not loaded'}`;
      li.className = 'warn';
    }
    return li;
  }));
}

/** Sources to read, each to the end, in parallel. */
interface Source {
  source: ReadableStream<Uint8Array> | Blob;
  label: string;
}

/** A capture read to its end, or why it could not be (its own error: the other files still load). */
async function readWhole(s: Source): Promise<LoadedFile> {
  let c: Capture | undefined;
  try {
    for await (const got of (inWorker ? parseInWorker : parseHere)(s.source, s.label)) c = got;
  } catch (e) {
    return { name: s.label, error: (e as Error).message };
  }
  return c ? { name: s.label, cap: c } : { name: s.label, error: 'nothing read' };
}

/**
 * Several captures in one view (merge.ts), or more added to the open view (`add`): each is read
 * whole, then they are merged on one time axis; the table comes when all are in.
 */
async function openMany(loads: Promise<LoadedFile>[], add: boolean, t0 = performance.now()): Promise<void> {
  const kept = add ? state.files : [];
  // the view's connection ids and rows are renumbered: a connection or a frame the URL names would be another one
  if (add) history.replaceState(null, '', `${location.pathname}${location.search}${filtersToHash({ ...filtersFromHash(location.hash).filters, conn: '' }, -1)}`);
  const me = ++loading;
  state.loadStart = t0;
  probe.ready = false;
  delete probe.error;
  delete probe.firstTableMs;
  ($('export') as HTMLButtonElement).disabled = true;
  setStatus(`reading ${plural(loads.length, 'capture')}${add ? ` to add to the ${plural(kept.length, 'open one')}` : ''}…`);
  const got = await Promise.all(loads);
  if (me !== loading) return;
  // the limit is on the captures shown: a file that could not be read takes no place in the view
  let opened = 0;
  const files = [...kept, ...got].map((f): LoadedFile => (!f.cap || opened++ < MAX_FILES ? f : { name: f.name, error: `not opened: a view holds ${MAX_FILES} captures at most` }));
  const good = files.filter((f): f is LoadedFile & { cap: Capture } => f.cap !== undefined);
  state.files = files;
  const nothing = (why: string): void => {
    state.cap = null;
    probe.error = why;
    setStatus(why, true);
    showFiles(files);
    showBadLines([]);
    renderAll();
  };
  if (good.length === 0) return nothing(files.map((f) => `${f.name}: ${f.error}`).join(' · '));
  let c: Capture;
  try {
    c = files.length === 1 ? good[0]!.cap : mergeCaptures(good);
  } catch (e) {
    if (!(e instanceof MergeError)) throw e;
    return nothing(e.message);
  }
  state.cap = null;
  await shown(c, () => (files.length === 1 ? summary(files[0]!.name, c) : `${plural(files.length, 'capture')}${good.length < files.length ? ` (${files.length - good.length} could not be read: see the list)` : ''}: ${plural(c.count, 'frame')}, ${plural(c.conns.size, 'connection')} on one time axis from ${instant(c, 0)}${c.cut ? ` — some end early (${c.cut})` : ''}`));
  showFiles(files);
  if (good.length < files.length) probe.error = files.filter((f) => f.error).map((f) => `${f.name}: ${f.error}`).join(' · ');
}

// A capture that is mostly bad lines (the wrong file) must not make a list of a million.
const MAX_BAD_SHOWN = 200;

/** Every bad line, not just the first the status line has room for: the list under it, capped. */
function showBadLines(bad: readonly Error[]): void {
  const box = $('bad') as HTMLDetailsElement;
  box.hidden = bad.length === 0;
  box.querySelector('summary')!.textContent = `${bad.length.toLocaleString('en')} bad line${bad.length === 1 ? '' : 's'}${bad.length > MAX_BAD_SHOWN ? ` (the first ${MAX_BAD_SHOWN} listed)` : ''}`;
  const items = bad.slice(0, MAX_BAD_SHOWN).map((b) => Object.assign(document.createElement('li'), { textContent: b.message }));
  if (bad.length > MAX_BAD_SHOWN) items.push(Object.assign(document.createElement('li'), { textContent: `… and ${(bad.length - MAX_BAD_SHOWN).toLocaleString('en')} more` }));
  box.querySelector('ol')!.replaceChildren(...items);
}

/** Resolves once the page has painted what is in the DOM now: a task queued from the next animation frame runs after its paint. */
const painted = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

/** The first piece is in: filters from the URL, the table and the timeline. */
function firstDraw(c: Capture): void {
  ($('export') as HTMLButtonElement).disabled = false;
  fillSelects(c);
  const { filters, sel } = filtersFromHash(location.hash);
  state.filters = filters;
  state.sel = sel;
  writeFilterInputs();
  refilter(true);
}

/** Files dropped or picked: they replace the view, or with `add` join it. */
function openFiles(list: readonly File[], add: boolean): void {
  // The clock starts when the file is handed over (drop or picker): reading it counts too.
  // The File itself goes to the worker, which reads it there: a stream made here would pass
  // every chunk through this thread.
  const t0 = performance.now();
  if (list.length === 0) return;
  if (list.length === 1 && !(add && state.files.length > 0)) void openSource(list[0]!, list[0]!.name, list[0]!.size, t0);
  else void openMany(list.map((f) => readWhole({ source: f, label: f.name })), add, t0);
}

const plural = (n: number, what: string): string => `${n.toLocaleString('en')} ${what}${n === 1 ? '' : 's'}`;

function setStatus(text: string, warn = false): void {
  const s = $('status');
  s.textContent = text;
  s.title = text; // whole, where the line cuts it
  s.classList.toggle('warn', warn);
}

// ---------------------------------------------------------------- filters
const FILTER_IDS: (keyof Filters)[] = ['file', 'service', 'dir', 'msg', 'error', 'conn', 'q'];

function fillSelects(c: Capture): void {
  const opt = (sel: HTMLSelectElement, values: [string, string][]) => {
    sel.replaceChildren(...values.map(([v, label]) => Object.assign(document.createElement('option'), { value: v, textContent: label })));
  };
  const fileSel = $('f-file') as HTMLSelectElement;
  fileSel.hidden = !c.files;
  opt(fileSel, [['', 'all files'], ...(c.files ?? []).map((f, k): [string, string] => [String(k), fileTitle(f)])]);
  opt($('f-service'), [['', 'all services'], ...c.services.map((s): [string, string] => [s, s])]);
  const names = new Set<string>();
  for (let i = 0; i < c.count; i++) if (c.msg[i]! >= 0) names.add(messageName(c, i));
  opt($('f-msg'), [['', 'all messages'], ...[...names].sort().map((n): [string, string] => [n, n])]);
  // A million connections would be a million options (seconds to build, a list nobody reads):
  // the first ones, and the one the URL names; the text filter finds any other.
  const listed: ConnInfo[] = [];
  for (const ci of c.conns.values()) {
    if (listed.length === MAX_CONN_OPTIONS) break;
    listed.push(ci);
  }
  const chosen = c.conns.get(Number(state.filters.conn));
  if (chosen && !listed.includes(chosen)) listed.push(chosen);
  const more = c.conns.size - listed.length;
  opt($('f-conn'), [
    ['', 'all connections'],
    ...listed.map((ci): [string, string] => [String(ci.conn), `${connName(ci)}: ${ci.proc ?? '?'}${ci.pid ? ` [${ci.pid}]` : ''} ${ci.service}/${ci.transport}`]),
    ...(more > 0 ? [['', `… ${more.toLocaleString('en')} more: find them with the text filter`] as [string, string]] : []),
  ]);
  const errs = new Set<number>();
  for (let i = 0; i < c.count; i++) if ((c.dir[i] === 1 || c.dir[i] === 2) && c.err[i] !== 1) errs.add(c.err[i]!);
  opt($('f-error'), [['', 'any result'], ['ok', 'OK only'], ['err', 'errors'], ['decode', 'undecodable'], ...[...errs].sort((a, b) => a - b).map((e): [string, string] => [String(e), `${e} ${csErrorName(e) ?? ''}`])]);
  sizeColumns(c, names, errs);
}

// ---------------------------------------------------------------- table columns
const HEADS = ['#', 'time ms', 'conn', 'process', 'service', 'dir', 'message', 'size', 'result', 'latency'];
const CELL_PAD = 4 + 1; // the cell's padding, and a pixel for rounding
// The columns that give up room (their cut text whole in the tooltip) when the window is too narrow.
const SHRINKS = new Set([3, 6, 8]);
const SHRINK_MIN = 64;
const MAX_CONN_OPTIONS = 2000;
// Texts measured per column: the longest by length of a column's many different ones (a
// million processes' names took half a minute of measureText).
const MAX_MEASURED = 200;
const GROW_MAX = 280;
let measure: CanvasRenderingContext2D | null = null;

/**
 * Each column as wide as the widest text it can hold in this capture (the index and time of the
 * last frame, the processes, messages, results and latencies there are), measured in the table's font:
 * fixed widths sized for any capture left the process column a few pixels, cut even for short names.
 */
function sizeColumns(c: Capture, names: Set<string>, errs: Set<number>): void {
  measure ??= document.createElement('canvas').getContext('2d');
  const head = document.querySelector('.row.head span');
  if (!measure || !head) return;
  const font = getComputedStyle(head);
  const widest = (texts: Iterable<string>, weight: string): number => {
    measure!.font = `${weight} ${font.fontSize} ${font.fontFamily}`;
    let w = 0;
    let list = [...new Set(texts)];
    if (list.length > MAX_MEASURED) list = list.sort((a, b) => b.length - a.length).slice(0, MAX_MEASURED);
    for (const t of list) w = Math.max(w, measure!.measureText(t).width);
    return Math.ceil(w) + CELL_PAD;
  };
  let maxT = 0;
  let maxLen = 0;
  let maxConn = 0;
  let retry = false;
  let maxUs = 0;
  let maxMs = -1;
  const results = new Set<string>(['OK']);
  const messages = new Set(names);
  for (let i = 0; i < c.count; i++) {
    if (c.t[i]! > maxT) maxT = c.t[i]!;
    if (c.len[i]! > maxLen) maxLen = c.len[i]!;
    if (c.retry[i]) retry = true;
    if (refusedSetup(c, i)) results.add(`refused: ${errnoName(-c.err[i]!)}`);
    if (c.msg[i]! < 0) messages.add(messageName(c, i)); // not in the message filter's names: DecodeError, service#id
    const p = c.pair[i]!;
    if (p > i) {
      const us = (c.t[p]! - c.t[i]!) / 1000;
      if (us < 10_000) maxUs = Math.max(maxUs, us);
      else maxMs = Math.max(maxMs, us / 1000);
    }
  }
  let connText = '';
  if (c.files) {
    for (const ci of c.conns.values()) if (connName(ci).length > connText.length) connText = connName(ci);
  } else {
    for (const k of c.conns.keys()) maxConn = Math.max(maxConn, k);
    connText = String(maxConn);
  }
  if (retry) results.add('retry after TRY_AGAIN');
  for (const e of errs) results.add(`${e} ${(csErrorName(e) ?? '').replace(/^CS_ERR_/, '')}`);
  for (const e of c.decodeErrors.values()) results.add(`DecodeError ${e.kind}${e.field ? ` (${e.field})` : ''}`);
  const content: string[][] = [
    [String(Math.max(0, c.count - 1))],
    [(maxT / 1e6).toFixed(3)],
    [connText],
    [...c.conns.values()].map((ci) => `${ci.proc ?? ''}${ci.pid ? ` [${ci.pid}]` : ''}`),
    c.services,
    [...DIRS],
    [...messages],
    [String(maxLen)],
    [...results],
    [`${maxUs.toFixed(1)} µs`, ...(maxMs >= 0 ? [`${maxMs.toFixed(1)} ms`] : []), 'dropped?', 'no reply'],
  ];
  const cols = content.map((texts, k) => {
    const w = Math.max(widest(texts, 'normal'), widest([HEADS[k]!], font.fontWeight));
    return SHRINKS.has(k) ? `minmax(${Math.min(w, SHRINK_MIN)}px, ${Math.min(w, GROW_MAX)}px)` : `${w}px`;
  });
  $('table').style.setProperty('--cols', cols.join(' '));
}

function writeFilterInputs(): void {
  for (const k of FILTER_IDS) ($(`f-${k}`) as HTMLInputElement).value = state.filters[k];
}

// The filtered rows live at the start of `rowBuf` (room to grow while a capture loads); frames
// before `filteredUpTo` have been through the filters.
let rowBuf: Int32Array = new Int32Array(0);
let filteredUpTo = 0;

function refilter(fit = false): void {
  if (!state.cap) return;
  rowBuf = applyFilters(state.cap, state.filters);
  state.rows = rowBuf;
  filteredUpTo = state.cap.count;
  showRows(fit, 0);
  syncHash();
}

function showRows(fit: boolean, from: number): void {
  const c = state.cap!;
  timeline.setData(c, state.rows, fit, state.filters.conn === '' ? undefined : Number(state.filters.conn), from);
  $('count').textContent = `${state.rows.length.toLocaleString('en')} of ${c.count.toLocaleString('en')} frames`;
  ($('spacer') as HTMLElement).style.height = `${state.rows.length * ROW}px`;
  renderRows();
}

// While a capture loads: at most one redraw per animation frame, and only the frames that came
// since the last one go through the filters (the rest is as it was). The full pass at the end of
// the load settles what later lines change about earlier frames (a refusal after its setup frames).
let growPending = false;
let growStatus = '';
function scheduleGrow(status: string): void {
  growStatus = status;
  if (growPending) return;
  growPending = true;
  requestAnimationFrame(() => {
    growPending = false;
    const c = state.cap;
    if (!c || filteredUpTo >= c.count) return;
    const added = applyFilters(c, state.filters, filteredUpTo);
    filteredUpTo = c.count;
    const n = state.rows.length;
    if (n + added.length > rowBuf.length) {
      const bigger = new Int32Array(Math.max(2 * rowBuf.length, n + added.length, 4096));
      bigger.set(state.rows);
      rowBuf = bigger;
    }
    rowBuf.set(added, n);
    state.rows = rowBuf.subarray(0, n + added.length);
    showRows(true, n);
    setStatus(growStatus);
  });
}

function syncHash(): void {
  const h = filtersToHash(state.filters, state.sel);
  if (h !== location.hash) history.replaceState(null, '', `${location.pathname}${location.search}${h}`);
}

for (const k of FILTER_IDS) {
  const el = $(`f-${k}`) as HTMLInputElement;
  el.addEventListener(el.tagName === 'SELECT' ? 'change' : 'input', () => {
    state.filters = { ...state.filters, [k]: el.value };
    refilter();
  });
}
$('f-clear').addEventListener('click', () => {
  state.filters = { ...EMPTY };
  writeFilterInputs();
  refilter();
});
window.addEventListener('hashchange', () => {
  const { filters, sel } = filtersFromHash(location.hash);
  state.filters = filters;
  writeFilterInputs();
  refilter();
  if (sel >= 0) select(sel, true);
});

// ---------------------------------------------------------------- table (virtualised)
const scroller = $('scroller');
const rowsEl = $('rows');
const headEl = document.querySelector('.row.head') as HTMLElement;
let rafPending = false;
scroller.addEventListener('scroll', () => {
  if (rafPending) return;
  rafPending = true;
  requestAnimationFrame(() => {
    rafPending = false;
    renderRows();
  });
});
new ResizeObserver(() => renderRows()).observe(scroller);

/** A row's cells: a text, or a short text and the whole story for its tooltip. */
function cells(c: Capture, i: number): (string | { text: string; title: string })[] {
  const d = c.dir[i]!;
  const ci = c.conns.get(c.conn[i]!);
  let err: string | { text: string; title: string } = '';
  if (c.msg[i] === -1) {
    const e = c.decodeErrors.get(i);
    err = `DecodeError ${e?.kind ?? ''}${e?.field ? ` (${e.field})` : ''}`;
  }
  else if ((d === 1 || d === 2) && !runtimeMessages[c.msg[i]!]?.errorUnset) {
    const e = c.err[i]!;
    const name = csErrorName(e) ?? '';
    // without its CS_ERR_ prefix the common names fit the column (12 NOT_EXIST, 6 TRY_AGAIN)
    err = e === 1 ? 'OK' : { text: `${e} ${name.replace(/^CS_ERR_/, '')}`, title: `${e} ${name}` };
  }
  else if (refusedSetup(c, i)) err = `refused: ${errnoName(-c.err[i]!)}`;
  else if (c.retry[i]) err = 'retry after TRY_AGAIN';
  let lat: string | { text: string; title: string } = '';
  const p = c.pair[i]!;
  const lost = p >= 0 ? undefined : lostInDrop(c, i);
  if (p >= 0) {
    // µs up to 10 ms, then ms: the column holds answers of up to 100 s whole
    const us = (c.t[Math.max(i, p)]! - c.t[Math.min(i, p)]!) / 1000;
    lat = us < 10_000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(1)} ms`;
  }
  // "answer dropped?" does not fit the column: the word that says it, the rest in the tooltip
  else if (lost === 'answer') lat = { text: 'dropped?', title: 'answer dropped? the recorder dropped frames after this request: its answer may be one of them' };
  else if (lost) lat = { text: 'dropped?', title: 'request dropped? the recorder dropped frames before this answer: its request may be one of them' };
  else if (isUnanswered(c, i)) lat = 'no reply';
  const conn = ci?.file !== undefined ? { text: connName(ci), title: `connection ${ci.fileConn} of ${fileTitle(c.files![ci.file]!)}` } : String(c.conn[i]);
  return [String(i), (c.t[i]! / 1e6).toFixed(3), conn, `${ci?.proc ?? ''}${ci?.pid ? ` [${ci.pid}]` : ''}`, c.services[c.svc[i]!]!, DIRS[d]!, messageName(c, i), String(c.len[i]), err, lat];
}

function renderRows(): void {
  const c = state.cap;
  if (!c) {
    rowsEl.replaceChildren();
    return;
  }
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - 5);
  const visible = Math.ceil(scroller.clientHeight / ROW) + 10;
  const last = Math.min(state.rows.length, first + visible);
  rowsEl.style.transform = `translateY(${first * ROW}px)`;
  // the head as wide as the rows beside the scrollbar, so that a column that shrinks shrinks alike in both
  headEl.style.paddingRight = `${scroller.offsetWidth - scroller.clientWidth}px`;
  const frag = document.createDocumentFragment();
  for (let r = first; r < last; r++) {
    const i = state.rows[r]!;
    const div = document.createElement('div');
    div.className = 'row';
    div.dataset.i = String(i);
    const d = c.dir[i]!;
    div.classList.add(DIRS[d]!);
    if (c.msg[i] === -1 || ((d === 1 || d === 2) && c.err[i] !== 1) || refusedSetup(c, i)) div.classList.add('err');
    if (c.retry[i]) div.classList.add('retry');
    if (c.pair[i] === -1 && lostInDrop(c, i)) div.classList.add('lost');
    if (c.err[i] === 6 && (d === 1 || d === 2)) div.classList.add('tryagain');
    if (i === state.sel) div.classList.add('sel');
    for (const cell of cells(c, i)) {
      const s = document.createElement('span');
      s.textContent = typeof cell === 'string' ? cell : cell.text;
      s.title = typeof cell === 'string' ? cell : cell.title; // the whole text where the column cuts it
      div.appendChild(s);
    }
    frag.appendChild(div);
  }
  rowsEl.replaceChildren(frag);
  probe.rendered++;
}

// Escape in the filters or the detail: back to the table (a filter keeps its value: Clear clears).
for (const id of ['filters', 'detail']) {
  $(id).addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    scroller.focus();
  });
}

rowsEl.addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest('.row') as HTMLElement | null;
  if (row) select(Number(row.dataset.i), false);
});
// The keys of a list: the selection moves, and the table scrolls to it.
scroller.addEventListener('keydown', (e) => {
  const n = state.rows.length;
  if (!state.cap || n === 0) return;
  const r = rowOf(state.sel);
  const page = Math.max(1, Math.floor(scroller.clientHeight / ROW) - 1);
  const to: Record<string, number> = { ArrowDown: r + 1, ArrowUp: r < 0 ? 0 : r - 1, PageDown: Math.max(r, 0) + page, PageUp: r - page, Home: 0, End: n - 1 };
  // The detail already shows the selected frame: Enter takes the keyboard there, to scroll its
  // fields and bytes ("go to pair" is the Tab stop before them); Escape comes back.
  if (e.key === 'Enter' && state.sel >= 0) {
    e.preventDefault();
    $('d-tree').focus();
    return;
  }
  const next = to[e.key];
  if (next === undefined) return;
  e.preventDefault();
  select(state.rows[Math.min(n - 1, Math.max(0, next))]!, true);
});

function rowOf(i: number): number {
  // rows is sorted: binary search
  let lo = 0;
  let hi = state.rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = state.rows[mid]!;
    if (v === i) return mid;
    if (v < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function select(i: number, scroll: boolean): void {
  const c = state.cap;
  if (!c || i < 0 || i >= c.count) return;
  state.sel = i;
  const r = rowOf(i);
  if (scroll && r >= 0) {
    const top = r * ROW;
    if (top < scroller.scrollTop || top > scroller.scrollTop + scroller.clientHeight - ROW) scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 2);
  }
  renderRows();
  timeline.setSelected(i);
  showDetail(frameDetail(c, i), i);
  syncHash();
}

// ---------------------------------------------------------------- detail: tree + hex, in sync
const ERRNO: Record<number, string> = { 1: 'EPERM', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 24: 'EMFILE', 28: 'ENOSPC', 38: 'ENOSYS', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED' };
const errnoName = (e: number): string => ERRNO[e] ?? `errno ${e}`;

/** A connection-state mark picked on the timeline: what happened, in the detail title. */
function showMark(m: Mark): void {
  const ci = state.cap?.conns.get(m.conn);
  $('d-title').textContent = `connection ${ci ? connName(ci) : m.conn}${ci?.proc ? ` (${ci.proc}${ci.pid ? ` [${ci.pid}]` : ''})` : ''} ${ci?.service ?? ''} at ${(m.t / 1e6).toFixed(3)} ms: ${m.text}`;
  ($('d-pair') as HTMLButtonElement).hidden = true;
  $('d-error').hidden = true;
  $('d-tree').replaceChildren();
  $('d-hex').replaceChildren();
  current = null;
}

const MAX_HEX = 65536;

function showDetail(d: FrameDetail, i: number): void {
  const c = state.cap;
  const title = $('d-title');
  let pairText = '';
  if (c && i >= 0) {
    const p = c.pair[i]!;
    const lost = lostInDrop(c, i);
    pairText =
      p >= 0 ? ` · ${c.dir[i] === 0 || (c.dir[i] === 3 && c.len[i]! <= 24) ? 'answered by' : 'answers'} #${p} after ${(Math.abs(c.t[p]! - c.t[i]!) / 1000).toFixed(1)} µs`
      : lost ? ` · not paired: the recorder dropped frames ${lost === 'answer' ? 'after it (its answer may be one of them)' : 'before it (its request may be one of them)'}`
      : isUnanswered(c, i) ? ' · no reply in the capture'
      : isNoReply(c, i) ? ` · no reply: corosync does not answer ${d.name}` : '';
  }
  title.textContent = `${i >= 0 ? `#${i} ` : ''}${d.name} (${d.bytes.length} bytes)${pairText}`;
  const pairLink = $('d-pair') as HTMLButtonElement;
  pairLink.hidden = !(c && i >= 0 && c.pair[i]! >= 0);
  pairLink.onclick = () => c && select(c.pair[i]!, true);
  const errBox = $('d-error');
  if (d.error) {
    errBox.hidden = false;
    errBox.textContent = `DecodeError (${d.error.kind})${d.error.messageName ? ` in ${d.error.messageName}` : ''}${d.error.field ? `, field ${d.error.field}` : ''}${d.error.offset !== undefined ? ` at offset ${d.error.offset}` : ''}: ${d.error.message}`;
  } else {
    errBox.hidden = true;
  }
  // tree
  const tree = $('d-tree');
  const build = (nodes: FieldNode[]): HTMLUListElement => {
    const ul = document.createElement('ul');
    for (const n of nodes) {
      const li = document.createElement('li');
      const s = document.createElement('span');
      s.className = 'field';
      s.dataset.start = String(n.start);
      s.dataset.end = String(n.end);
      s.innerHTML = '';
      const k = document.createElement('b');
      k.textContent = n.label;
      const v = document.createElement('code');
      v.textContent = n.value;
      const o = document.createElement('small');
      o.textContent = ` @${n.start}${n.end > n.start ? `..${n.end - 1}` : ''}`;
      s.append(k, ' ', v, o);
      li.appendChild(s);
      if (n.children) li.appendChild(build(n.children));
      ul.appendChild(li);
    }
    return ul;
  };
  tree.replaceChildren(build(d.fields));
  // hex
  const hex = $('d-hex');
  const shown = Math.min(d.bytes.length, MAX_HEX);
  const frag = document.createDocumentFragment();
  for (let line = 0; line < shown; line += 16) {
    const div = document.createElement('div');
    const addr = document.createElement('i');
    addr.textContent = line.toString(16).padStart(6, '0');
    div.appendChild(addr);
    for (let b = line; b < Math.min(line + 16, shown); b++) {
      const s = document.createElement('span');
      s.dataset.b = String(b);
      s.textContent = d.bytes[b]!.toString(16).padStart(2, '0');
      div.appendChild(s);
    }
    frag.appendChild(div);
  }
  if (shown < d.bytes.length) frag.appendChild(Object.assign(document.createElement('div'), { textContent: `… ${d.bytes.length - shown} more bytes` }));
  hex.replaceChildren(frag);
  if (d.error?.offset !== undefined) hex.querySelector(`[data-b="${d.error.offset}"]`)?.classList.add('bad');
  current = d;
}

let current: FrameDetail | null = null;

function highlight(start: number, end: number, node: Element | null): void {
  for (const el of document.querySelectorAll('#d-hex .hl, #d-tree .hl')) el.classList.remove('hl');
  for (let b = start; b < end && b < MAX_HEX; b++) document.querySelector(`#d-hex [data-b="${b}"]`)?.classList.add('hl');
  node?.classList.add('hl');
  document.querySelector(`#d-hex [data-b="${start}"]`)?.scrollIntoView({ block: 'nearest' });
}

$('d-tree').addEventListener('click', (e) => {
  const f = (e.target as HTMLElement).closest('.field') as HTMLElement | null;
  if (f) highlight(Number(f.dataset.start), Number(f.dataset.end), f);
});
$('d-hex').addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).dataset.b;
  if (b === undefined || !current) return;
  const path = fieldAt(current.fields, Number(b));
  const n = path.at(-1);
  if (!n) return highlight(Number(b), Number(b) + 1, null);
  const el = [...document.querySelectorAll<HTMLElement>('#d-tree .field')].find((x) => Number(x.dataset.start) === n.start && Number(x.dataset.end) === n.end && x.querySelector('b')?.textContent === n.label) ?? null;
  highlight(n.start, n.end, el);
  el?.scrollIntoView({ block: 'nearest' });
});

// ---------------------------------------------------------------- paste one frame
$('p-decode').addEventListener('click', () => {
  const text = ($('p-text') as HTMLTextAreaElement).value.trim();
  let bytes = fromHex(text);
  if (!bytes) {
    try {
      bytes = Uint8Array.from(atob(text.replace(/\s+/g, '')), (ch) => ch.charCodeAt(0));
    } catch {
      bytes = undefined;
    }
  }
  if (!bytes || bytes.length === 0) {
    setStatus('pasted text is neither hex nor base64', true);
    return;
  }
  const service = ($('p-service') as HTMLSelectElement).value;
  const dir = ($('p-dir') as HTMLSelectElement).value as Direction;
  showDetail(detailOf(bytes, service, dir), -1);
});

// ---------------------------------------------------------------- export
// A piece of the export ends after this long, or this many rows (the page draws and takes input
// between pieces): rows take ~1 µs each here, and a yield costs ~4 ms (the timers' clamp).
const EXPORT_SLICE_MS = 25;
const EXPORT_PIECE = 8192;
let exporting: { cancelled: boolean } | undefined;

/**
 * The selection as a JSON array, one row per line, built piece by piece into a Blob: a million
 * rows as one string would pass V8's string length limit, and building it at once freezes the page.
 */
async function exportSelection(): Promise<void> {
  const c = state.cap;
  if (!c) return;
  const rows = state.rows; // the filters may change while this runs: the rows of the click
  const me = loading;
  const job = { cancelled: false };
  exporting = job;
  const button = $('export');
  button.textContent = 'Cancel export';
  // The writer's bytes as Blobs of a few MB: a Blob copies the bytes it is made of (the writer
  // reuses its buffer), and the file's Blob made of them copies nothing.
  const parts: Blob[] = [];
  const writer = new ExportWriter(c, (bytes) => parts.push(new Blob([bytes])));
  const t0 = performance.now();
  let pieces = 0;
  delete probe.exported;
  try {
    for (let r = 0; r < rows.length; ) {
      const start = performance.now();
      const end = Math.min(rows.length, r + EXPORT_PIECE);
      while (r < end) {
        const stop = Math.min(end, r + 64);
        for (; r < stop; r++) writer.row(rows[r]!);
        if (performance.now() - start >= EXPORT_SLICE_MS) break;
      }
      pieces++;
      setStatus(`exporting ${r.toLocaleString('en')} of ${rows.length.toLocaleString('en')} rows… (click Cancel export to stop)`);
      await new Promise((res) => setTimeout(res, 0));
      if (job.cancelled || me !== loading) {
        setStatus('export cancelled');
        return;
      }
    }
    writer.end();
    const blob = new Blob(parts, { type: 'application/json' });
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: 'corosync-capture-selection.json' });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    probe.exported = { rows: rows.length, pieces, ms: performance.now() - t0 };
    setStatus(`exported ${rows.length.toLocaleString('en')} rows (${(blob.size / 1048576).toFixed(1)} MB)`);
  } catch (e) {
    setStatus(`export failed: ${e instanceof Error ? e.message : String(e)}`, true);
  } finally {
    exporting = undefined;
    button.textContent = 'Export JSON';
  }
}
$('export').addEventListener('click', () => {
  if (exporting) exporting.cancelled = true;
  else void exportSelection();
});

// ---------------------------------------------------------------- opening: picker, drop, URL
// Open replaces the view, Add joins it: two inputs, two drop targets (the page, the Add button).
for (const [id, add] of [['file', false], ['add', true]] as const) {
  $(id).addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    openFiles([...(input.files ?? [])], add);
    input.value = ''; // the same file picked again is a change too
  });
}
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  const add = (e.target as Element | null)?.closest?.('#add-zone') != null;
  openFiles([...(e.dataTransfer?.files ?? [])], add);
});

function renderAll(): void {
  renderRows();
  if (state.cap) timeline.setData(state.cap, state.rows);
}

/**
 * The capture a link names, if the page may fetch it: its own origin only. A link is anyone's
 * to make: from another origin the page would show a stranger's file as if it were the
 * server's own and tell that stranger who opened it; javascript: and data: are no files at all.
 */
function sameOriginCapture(u: string): URL | undefined {
  try {
    const resolved = new URL(u, location.href);
    return (resolved.protocol === 'http:' || resolved.protocol === 'https:') && resolved.origin === location.origin ? resolved : undefined;
  } catch {
    return undefined;
  }
}

const refusal = (u: string): string => `refused ?url=${u}: only a capture of this page's own origin (${location.origin}) is fetched; download it and open the file instead`;
const fetchCapture = (u: URL): Promise<Response> =>
  fetch(u, { credentials: 'same-origin', redirect: 'error' }).then((r) => {
    if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
    return r;
  });
const urls = new URLSearchParams(location.search).getAll('url');
const url = urls.length === 1 ? urls[0] : undefined;
const target = url ? sameOriginCapture(url) : undefined;
if (urls.length > 1) {
  setStatus(`fetching ${plural(urls.length, 'capture')}…`);
  void openMany(urls.map(async (u): Promise<LoadedFile> => {
    const to = sameOriginCapture(u);
    if (!to) return { name: u, error: refusal(u) };
    let r: Response;
    try {
      r = await fetchCapture(to);
    } catch (e) {
      return { name: u, error: `cannot fetch ${u}: ${e instanceof Error ? e.message : String(e)}` };
    }
    return readWhole({ source: r.body!, label: u });
  }), false);
} else if (url && !target) {
  probe.error = refusal(url);
  setStatus(probe.error, true);
} else if (url && target) {
  setStatus(`fetching ${url}…`);
  fetchCapture(target)
    .then((r) => openSource(r.body!, url, Number(r.headers.get('content-length') ?? 0)))
    .catch((e: unknown) => {
      probe.error = `cannot fetch ${url}: ${e instanceof Error ? e.message : String(e)}`;
      setStatus(probe.error, true);
    });
}
