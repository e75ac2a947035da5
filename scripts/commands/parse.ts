// `albatross parse [FILE|FOLDER...]`: ALB access-, connection- or health-check-log lines (plain
// or gzip files, folders of them, or stdin; --type, by default from the file name or each line's
// shape) -> one JSON document per line on stdout, in input
// order; one JSON error object per unparseable line and a one-line summary on
// stderr. Exit status 0 only when every line parsed (skipped control/empty lines
// are fine). With --firehose-errors the input is Firehose's processing-failed
// backup records instead, each parsed with the source its envelope carries.
// Streams with bounded memory: output is written with back-pressure and a
// line longer than MAX_LINE_BYTES is reported, not buffered.
import type { Command } from 'commander';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isatty } from 'node:tty';
import type { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isAscii as isAsciiBytes } from 'node:buffer';
import { unwrapErrorRecord } from '../../transform/firehose-error-record.ts';
import { parseEnrichSetting } from '../../transform/enrich/settings.ts';
import type { Enricher } from '../../transform/enrich/index.ts';
import type { LineSource } from '../../transform/parser/index.ts';
import { FALLBACK, lastDocumentTagged, maxDocumentBytes, writeAccessJson } from '../../transform/parser/fast-access.ts';
import { LOG_TYPE_SPECS, LOG_TYPES, logTypeOfKey, logTypeOfLine, type LogType } from '../../transform/log-types.ts';
import { ENRICH_OPTION_HELP, enrichSetting, logTypeOrAuto } from './option-values.ts';
import { gunzipIfCompressed } from '../decompress.ts';

export const MAX_LINE_BYTES = 1024 * 1024;
/** Output is written out in batches of about this many bytes (and when a line would not fit). */
const FLUSH_BYTES = 256 * 1024;
const OUTPUT_BYTES = 512 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;
/** Below V8's large-object size (strings above it are mapped per allocation). */
const DECODE_BYTES = 64 * 1024;

export interface ParseStats {
  lines: number;
  documents: number;
  tagged: number;      // documents carrying a malformed-value tag
  skipped: number;
  failed: number;
  /** Documents per log type. */
  byType: Record<LogType, number>;
}

export function emptyStats(): ParseStats {
  return { lines: 0, documents: 0, tagged: 0, skipped: 0, failed: 0, byType: { access: 0, connection: 0, health: 0 } };
}

/**
 * Buffered line writer that honours back-pressure; `closed` once the reader went away (EPIPE).
 * Each line is encoded into one reused byte buffer as it comes (no string of the whole batch:
 * joined, a batch was a string larger than V8's young objects, mapped afresh each time, a page
 * fault per 4 KiB). A full buffer goes to a file descriptor with a synchronous write (a file or
 * /dev/null: nothing to wait for) or, as a copy, to a stream.
 */
class Output {
  private buffer = Buffer.allocUnsafeSlow(OUTPUT_BYTES);
  private length = 0;
  /** A stream write returned false: wait for 'drain' before the next batch. */
  private pending = false;
  closed = false;
  constructor(private readonly target: Writable | number) {}
  /** Adds one line; `text` has no newline, the writer adds it. */
  addLine(text: string): void {
    if (this.length + text.length * 3 + 1 > this.buffer.length) {
      this.writeOut();
      if (text.length * 3 + 1 > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(text.length * 3 + 1);
    }
    this.length += this.buffer.write(text, this.length);
    this.buffer[this.length++] = 10;
  }
  /**
   * Adds the document of an access-log line written straight from its bytes (fast-access.ts);
   * false, with nothing added, when the line needs the string parser.
   */
  addAccessDocument(line: Line, source: LineSource | undefined): boolean {
    const room = maxDocumentBytes(line.end - line.start, source) + 1;
    if (this.length + room > this.buffer.length) {
      this.writeOut();
      if (room > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(room);
    }
    const end = writeAccessJson(line.data, line.start, line.end, source, this.buffer, this.length);
    if (end === FALLBACK) return false;
    this.buffer[end] = 10;
    this.length = end + 1;
    return true;
  }
  /** Writes out what is buffered: synchronously to a descriptor, else a copy to the stream (awaited by flush). */
  private writeOut(): void {
    if (this.length === 0 || this.closed) {
      this.length = 0;
      return;
    }
    const bytes = this.buffer.subarray(0, this.length);
    this.length = 0;
    try {
      if (typeof this.target === 'number') {
        for (let written = 0; written < bytes.length;) written += writeSync(this.target, bytes, written);
      } else {
        if (!this.target.write(Buffer.from(bytes))) this.pending = true;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      this.closed = true;
    }
  }
  async flushIfFull(): Promise<void> {
    if (this.length >= FLUSH_BYTES) await this.flush();
    else if (this.pending) await this.drain();
  }
  async flush(): Promise<void> {
    this.writeOut();
    await this.drain();
  }
  private async drain(): Promise<void> {
    if (!this.pending || typeof this.target === 'number') return;
    this.pending = false;
    try {
      await once(this.target, 'drain');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      this.closed = true;
    }
  }
}

export interface ParseStreamOptions {
  /** File path: becomes the line source (log.file.path, byte offsets, event.id). */
  path?: string;
  original?: boolean;
  /**
   * Each input line is a Firehose error record (`errors/processing-failed/` in the backup bucket):
   * its base64 `rawData` is the record as the loader sent it. The line is parsed with the source
   * its envelope carries, so a document gets the event.id the transform would have given it.
   */
  firehoseErrors?: boolean;
  /** Adds source.geo, source.as and user_agent fields, as the transform does. */
  enrich?: Enricher | undefined;
  /**
   * The log type of the lines; `auto` (default): from the file name (conn_log_…, health_check_log_…),
   * else from the shape of the input's first line. Firehose error records name their type in the envelope.
   */
  type?: LogType | 'auto';
}

/** Whether bytes [start, end) are all ASCII (then latin1 decoding equals UTF-8 decoding). */
function isAscii(data: Buffer, start: number, end: number): boolean {
  return isAsciiBytes(data.subarray(start, end));
}

interface Line {
  /** The line is data[start, end) (without its newline). */
  data: Buffer;
  start: number;
  end: number;
  /** Its text: decoded with the block (or lazily, see lineText). */
  text: string | undefined;
  offset: number;      // byte offset of the line's first byte
  tooLong: boolean;    // longer than MAX_LINE_BYTES: `text` holds only its start
}

function lineText(line: Line): string {
  return (line.text ??= line.data.toString('utf8', line.start, line.end));
}

/**
 * Appends the lines of data[from, to) (which ends with a newline) to `batch`; `base` is data[0]'s
 * offset. With `decode`, an ASCII block is decoded as one string and split; without, lines stay
 * bytes (the byte path reads them so) and are decoded one by one only when a line needs its text.
 */
function splitBlock(data: Buffer, from: number, to: number, base: number, batch: Line[], decode: boolean): void {
  if (decode && isAscii(data, from, to)) {
    const text = data.toString('latin1', from, to);
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      batch.push({ data, start: from + start, end: from + newline, text: text.slice(start, newline), offset: base + from + start, tooLong: false });
      start = newline + 1;
    }
  } else {
    for (let start = from, newline = data.indexOf(10, start); newline !== -1 && newline < to; newline = data.indexOf(10, start)) {
      batch.push({ data, start, end: newline, text: undefined, offset: base + start, tooLong: false });
      start = newline + 1;
    }
  }
}

/**
 * Splits bytes into lines with the byte offset of each. Yields one batch per
 * input chunk (a promise per line would cost more than parsing it).
 */
async function* splitLines(input: AsyncIterable<Buffer>, decode: boolean): AsyncGenerator<Line[]> {
  let carry: Buffer | undefined;
  let carryOffset = 0;     // offset of carry[0]
  let discarding = false;  // inside an over-long line, skipping to its end
  let discardOffset = 0;
  let discardHead = '';    // first bytes of the over-long line, for the error report
  for await (const chunk of input) {
    const batch: Line[] = [];
    let data: Buffer = chunk;
    let base = carryOffset + (carry?.length ?? 0);
    if (carry !== undefined) {
      data = Buffer.concat([carry, chunk]);
      base = carryOffset;
      carry = undefined;
    }
    let start = 0;
    const lastNewline = data.lastIndexOf(10);
    if (lastNewline !== -1) {
      if (discarding) {
        // the over-long line ends at the first newline
        discarding = false;
        start = data.indexOf(10) + 1;
        batch.push(tooLongLine(discardHead, discardOffset));
      }
      // Unless the byte path reads them as bytes, decode complete lines a block at a time, then
      // split the string: one native call per block instead of one per line. Blocks of at most DECODE_BYTES (a whole 256 KiB chunk as one
      // string would be a large object in V8, mapped and unmapped per chunk: a page fault per 4 KiB,
      // measured as most of the process's system time). Byte offsets follow from string lengths only
      // when every byte is ASCII; otherwise (multi-byte or invalid UTF-8) decode line by line.
      const end = lastNewline + 1;
      for (let from = start; from < end;) {
        let to = end;
        if (end - from > DECODE_BYTES) {
          const newline = data.lastIndexOf(10, from + DECODE_BYTES - 1);
          to = newline >= from ? newline + 1 : data.indexOf(10, from + DECODE_BYTES) + 1;
        }
        splitBlock(data, from, to, base, batch, decode);
        from = to;
      }
      start = lastNewline + 1;
    }
    if (start < data.length) {
      if (discarding) {
        // still inside the over-long line: drop the bytes
      } else if (data.length - start > MAX_LINE_BYTES) {
        discarding = true;
        discardOffset = base + start;
        discardHead = data.toString('utf8', start, start + 200);
      } else {
        carry = data.subarray(start);
      }
    }
    carryOffset = base + data.length - (carry?.length ?? 0);
    if (batch.length > 0) yield batch;
  }
  if (discarding) yield [tooLongLine(discardHead, discardOffset)];
  else if (carry !== undefined && carry.length > 0) yield [{ data: carry, start: 0, end: carry.length, text: undefined, offset: carryOffset, tooLong: false }];
}

function tooLongLine(head: string, offset: number): Line {
  return { data: EMPTY, start: 0, end: 0, text: head, offset, tooLong: true };
}
const EMPTY = Buffer.alloc(0);

/**
 * Parses every line of `input`, writing documents to `stdout` (a stream, or a file descriptor
 * written synchronously) and error objects to `stderr`.
 * Adds to `stats` and returns it.
 */
export async function parseStream(
  input: AsyncIterable<Buffer>,
  stdout: Writable | number,
  stderr: Writable,
  options: ParseStreamOptions = {},
  stats: ParseStats = emptyStats(),
): Promise<ParseStats> {
  const documents = new Output(stdout);
  const errors = new Output(stderr);
  const key = options.path === undefined ? undefined : resolve(options.path);
  const file = options.path === undefined ? {} : { file: options.path };
  const original = options.original === true;
  const enrich = options.enrich;
  const requested = options.type ?? 'auto';
  // one input holds one log type: from --type, else the file name, else the shape of its first line
  let fileType = requested !== 'auto' ? requested : key === undefined ? undefined : logTypeOfKey(key);
  // Access-log lines as they are (no envelope, enrichment or event.original) go the byte path
  // (transform/parser/fast-access.ts), which takes most lines and hands back the rest.
  const bytePath = !options.firehoseErrors && !original && enrich === undefined && (requested === 'access' || requested === 'auto');
  let lineNumber = 0;
  const fail = (line: string, error: string, source?: LineSource): void => {
    stats.failed++;
    errors.addLine(JSON.stringify({ ...file, line: lineNumber, error, raw: line, ...(source && { source }) }));
  };
  try {
    // (256 KiB of output per gunzip step rather than 16: fewer round trips to the thread pool)
    for await (const batch of splitLines(gunzipIfCompressed(input, READ_CHUNK_BYTES), !bytePath)) {
      if (documents.closed) break;
      for (const line of batch) {
        lineNumber++;
        stats.lines++;
        if (line.tooLong) {
          fail(line.text!, `line longer than ${MAX_LINE_BYTES} bytes`);
          continue;
        }
        let source: LineSource | undefined = key === undefined ? undefined : { key, offset: line.offset };
        if (bytePath && (requested === 'access' || fileType === 'access') && documents.addAccessDocument(line, source)) {
          stats.documents++;
          stats.byType.access++;
          if (lastDocumentTagged()) stats.tagged++;
          continue;
        }
        let text = lineText(line);
        let recordType: LogType | undefined;
        if (options.firehoseErrors) {
          if (text.trim() === '') { // a blank line between records: skipped, like an empty log line
            stats.skipped++;
            continue;
          }
          const unwrapped = unwrapErrorRecord(text);
          if (unwrapped.kind === 'invalid') {
            fail(unwrapped.raw, unwrapped.error);
            continue;
          }
          if (unwrapped.kind === 'document') {
            fail(unwrapped.document, `a document OpenSearch refused (${unwrapped.reason || 'no reason given'}), not a log line: replay it with \`albatross backfill --firehose-errors\``);
            continue;
          }
          ({ line: text, source, type: recordType } = unwrapped);
        }
        // a record's envelope names its type (absent: access); a bare line falls back to the file's or its shape
        let type: LogType;
        if (requested !== 'auto') type = requested;
        else if (options.firehoseErrors) type = recordType ?? logTypeOfLine(text);
        else if (fileType !== undefined) type = fileType;
        else if (text.trim() === '') type = 'access'; // (skipped by any parser; the type is decided by the first real line)
        else type = fileType = logTypeOfLine(text);
        // Enrichment applies to access logs (client address, user agent).
        const lineEnrich = type === 'access' ? enrich : undefined;
        const result = LOG_TYPE_SPECS[type].parseToJson(text, source === undefined ? { original, enrich: lineEnrich } : { source, original, enrich: lineEnrich });
        if (result.kind === 'document') {
          stats.documents++;
          stats.byType[type]++;
          if (result.tagged) stats.tagged++;
          documents.addLine(result.json);
        } else if (result.kind === 'skipped') {
          stats.skipped++;
        } else {
          fail(text, result.reason, options.firehoseErrors ? source : undefined);
        }
      }
      await documents.flushIfFull();
      await errors.flushIfFull();
    }
  } catch (error) {
    if (documents.closed) return stats;
    // unreadable file or corrupt gzip: the rest of this input is lost, say so
    lineNumber++;
    fail('', `cannot read input: ${(error as Error).message}`);
  }
  await documents.flush();
  await errors.flush();
  return stats;
}

export function summaryLine(stats: ParseStats, seconds: number): string {
  // the split by type only when there is more than access logs
  const byType = stats.documents > stats.byType.access ? ` [${LOG_TYPES.map((t) => `${t} ${stats.byType[t]}`).join(', ')}]` : '';
  return `albatross parse: ${stats.lines} lines, ${stats.documents} documents${byType} (${stats.tagged} with malformed values tagged), ` +
    `${stats.skipped} skipped, ${stats.failed} failed in ${seconds.toFixed(2)} s`;
}

/**
 * The bytes of a file (or of stdin when it is a regular file), read synchronously in 256 KiB chunks.
 * A read stream hands each 64 KiB chunk to libuv's thread pool and back: on one CPU those thread
 * switches cost more than the reads. The event loop still turns once per chunk (EPIPE, signals).
 * Errors (a missing file, say) surface from the first read, where parseStream reports them.
 */
async function* readChunks(path: string): AsyncGenerator<Buffer> {
  const stdin = path === '-';
  const fd = stdin ? 0 : openSync(path, 'r');
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
      const bytes = readSync(fd, chunk, 0, chunk.length, null);
      if (bytes === 0) return;
      yield bytes === chunk.length ? chunk : chunk.subarray(0, bytes);
      await nextTurn();
    }
  } finally {
    if (!stdin) closeSync(fd);
  }
}

/**
 * Whether stdout is a regular file or a device other than a terminal (`> out.json`, `> /dev/null`):
 * then documents are written to it directly with synchronous writes, which never block for long
 * there. Pipes and terminals are written through process.stdout (non-blocking, with back-pressure).
 */
function stdoutIsFile(): boolean {
  try {
    const info = fstatSync(1);
    return info.isFile() || (info.isCharacterDevice() && !isatty(1));
  } catch {
    return false;
  }
}

/** Whether stdin is a regular file (`< file`), which readChunks can read; a pipe or terminal is read as a stream. */
function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile();
  } catch {
    return false;
  }
}

/** Files as given; a folder becomes every file under it, in name order (e.g. an AWSLogs/... tree or a backup prefix). */
async function expandFolders(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = path === '-' ? undefined : await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) {
      files.push(path); // a missing file is reported by parseStream like any unreadable input
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    files.push(...entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort());
  }
  return files;
}

export function register(program: Command): void {
  program
    .command('parse')
    .description('parse ALB access-, connection- or health-check-log lines (plain or .gz files, or stdin) into JSON documents, one per line')
    .argument('[files...]', 'log files (plain or gzip) or folders (every file under them); stdin when none or "-"')
    .option('--type <type>', 'log type: access, connection, health, or auto (from the file name, else the first line\'s shape)', logTypeOrAuto, 'auto')
    .option('--original', 'add the raw line as event.original')
    .option('--firehose-errors', 'the input is Firehose error records (errors/processing-failed/ in the backup bucket): parse the line inside each, with its original source and event.id')
    .option('--enrich <parts>', ENRICH_OPTION_HELP, enrichSetting)
    .action(async (files: string[], options: { original?: boolean; firehoseErrors?: boolean; enrich?: string; type: LogType | 'auto' }) => {
      const started = process.hrtime.bigint();
      const stats = emptyStats();
      let stdoutClosed = false;
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        // e.g. `albatross parse x.log | head`: stop quietly
        if (error.code === 'EPIPE') stdoutClosed = true;
        else throw error;
      });
      // the enrichment code and its packages load only when asked for (start-up of `--enrich none`)
      const enrich = parseEnrichSetting(options.enrich ?? process.env.ALBATROSS_ENRICH).size === 0
        ? undefined
        : (await import('../../transform/enrich/data.ts')).sharedEnricher(options.enrich);
      const toFile = stdoutIsFile();
      const inputs = files.length === 0 ? ['-'] : await expandFolders(files);
      for (const file of inputs) {
        if (stdoutClosed) break;
        const input = file === '-' && !stdinIsFile() ? process.stdin : readChunks(file);
        await parseStream(input, toFile ? 1 : process.stdout, process.stderr, {
          ...(file !== '-' && { path: file }),
          ...(options.original && { original: true }),
          ...(options.firehoseErrors && { firehoseErrors: true }),
          enrich,
          type: options.type,
        }, stats);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      process.stderr.write(`${summaryLine(stats, seconds)}\n`);
      process.exitCode = stats.failed === 0 ? 0 : 1;
    });
}
