// Splits a byte stream into lines with their byte offsets, in bounded memory.
// Lines are yielded in groups (one group per input chunk) because a per-line async
// yield costs more than the split itself at 100+ MB/s.

const LF = 0x0a;
const CR = 0x0d;

export interface Line {
  /** 0-based line number in the object (empty lines count). */
  index: number;
  /** Byte offset of the line's first byte in the uncompressed object. */
  offset: number;
  /** Line length in bytes, without the terminating LF / CRLF. */
  length: number;
  /** Offset just past the line terminator: where the next line starts. */
  end: number;
  /**
   * The line's bytes (a view, copy before keeping it beyond the batch); absent when the line is
   * longer than the splitter's limit, then only `head` is kept.
   */
  bytes?: Buffer;
  /** First bytes of an over-long line, for the failure record. */
  head?: Buffer;
}

export interface SplitOptions {
  /** Lines longer than this are not buffered: only their first `headBytes`, offset and length are kept. */
  maxLineBytes: number;
  headBytes?: number;
}

/**
 * Yields groups of lines from `chunks`. A final line without a terminator is yielded at the end;
 * if `chunks` throws (a truncated gzip), the incomplete trailing line is NOT yielded.
 */
export async function* splitLines(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, options: SplitOptions): AsyncGenerator<Line[]> {
  const { maxLineBytes } = options;
  const headBytes = options.headBytes ?? 1024;
  let index = 0;
  let position = 0;          // offset of the current chunk's first byte
  let lineStart = 0;         // offset of the current line
  let carry: Buffer[] = [];  // pieces of the current line from earlier chunks
  let carryLength = 0;
  let head: Buffer | undefined;  // set while counting (not buffering) an over-long line
  let skippedLength = 0;
  let skippedLastByte = -1;

  const complete = (tail: Buffer, end: number, terminated: boolean): Line => {
    let line: Line;
    if (head !== undefined) {
      let length = skippedLength + tail.length;
      const last = tail.length > 0 ? tail[tail.length - 1] : skippedLastByte;
      if (terminated && last === CR) length -= 1;
      line = { index, offset: lineStart, length, end, head };
      head = undefined;
      skippedLength = 0;
    } else {
      let bytes = carry.length === 0 ? tail : Buffer.concat([...carry, tail], carryLength + tail.length);
      if (terminated && bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
      line = bytes.length > maxLineBytes
        ? { index, offset: lineStart, length: bytes.length, end, head: Buffer.from(bytes.subarray(0, headBytes)) }
        : { index, offset: lineStart, length: bytes.length, end, bytes };
      carry = [];
      carryLength = 0;
    }
    index += 1;
    lineStart = end;
    return line;
  };

  for await (const chunk of chunks) {
    const group: Line[] = [];
    let from = 0;
    for (let lf = chunk.indexOf(LF, from); lf >= 0; lf = chunk.indexOf(LF, from)) {
      group.push(complete(chunk.subarray(from, lf), position + lf + 1, true));
      from = lf + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      if (head !== undefined) {
        skippedLength += rest.length;
        skippedLastByte = rest[rest.length - 1]!;
      } else if (carryLength + rest.length > maxLineBytes + 1) { // + 1: the line may still end in CRLF
        // Too long to ever be sent: keep its head, count the rest without buffering it.
        const all = Buffer.concat([...carry, rest]);
        head = Buffer.from(all.subarray(0, headBytes));
        skippedLength = all.length;
        skippedLastByte = all[all.length - 1]!;
        carry = [];
        carryLength = 0;
      } else {
        carry.push(rest);
        carryLength += rest.length;
      }
    }
    position += chunk.length;
    if (group.length > 0) yield group;
  }
  if (carryLength > 0 || head !== undefined) yield [complete(Buffer.alloc(0), position, false)];
}
