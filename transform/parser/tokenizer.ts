// Single-pass tokenizer for an ALB access-log line: space-separated tokens,
// quoted tokens run to the next `"` (ALB writes a `"` inside a value as `\x22`,
// so the first quote closes the value). No regular expressions.
//
// Tokens are recorded as positions in the line, not as substrings: most fields
// are numbers, ports or timestamps that the parser reads in place, so only the
// values that end up in the document are ever sliced out (measured: creating a
// substring per token was most of the tokenizer's cost).

/** Reusable token buffer: the parser is synchronous, so one instance serves every call. */
export interface TokenBuffer {
  /** Token i is `line.slice(starts[i], ends[i])`: quotes removed, escapes NOT yet decoded. */
  starts: Int32Array;
  ends: Int32Array;
  quoted: Uint8Array;   // 1 when token i was quoted
  count: number;
  /** A closing quote was directly followed by another character (`"-"1`): recovered by starting a new token there. */
  gluedAfterQuote: boolean;
  /** The last token opened a quote that never closed; it holds the rest of the line. */
  unterminatedQuote: boolean;
  /** A bare (unquoted) token contains a `"`. */
  quoteInBareToken: boolean;
}

/** Tokens a line usually has (36 today); the buffer grows for lines with more. */
const INITIAL_CAPACITY = 64;

export function createTokenBuffer(): TokenBuffer {
  return {
    starts: new Int32Array(INITIAL_CAPACITY),
    ends: new Int32Array(INITIAL_CAPACITY),
    quoted: new Uint8Array(INITIAL_CAPACITY),
    count: 0,
    gluedAfterQuote: false,
    unterminatedQuote: false,
    quoteInBareToken: false,
  };
}

function grow(out: TokenBuffer): void {
  const capacity = out.starts.length * 2;
  const starts = new Int32Array(capacity);
  const ends = new Int32Array(capacity);
  const quoted = new Uint8Array(capacity);
  starts.set(out.starts);
  ends.set(out.ends);
  quoted.set(out.quoted);
  out.starts = starts;
  out.ends = ends;
  out.quoted = quoted;
}

const SPACE = 32;
const QUOTE = 34;

/** Splits `line` into `out`. Runs of spaces count as one separator. */
export function tokenize(line: string, out: TokenBuffer): void {
  let starts = out.starts;
  let ends = out.ends;
  let quoted = out.quoted;
  const length = line.length;
  let count = 0;
  let glued = false;
  let unterminated = false;
  let quoteInBare = false;
  let nextQuote = line.indexOf('"');
  let i = 0;
  while (i < length) {
    const c = line.charCodeAt(i);
    if (c === SPACE) {
      i++;
      continue;
    }
    if (count === starts.length) {
      grow(out);
      starts = out.starts;
      ends = out.ends;
      quoted = out.quoted;
    }
    if (c === QUOTE) {
      const close = line.indexOf('"', i + 1);
      starts[count] = i + 1;
      quoted[count] = 1;
      if (close === -1) {
        ends[count] = length;
        count++;
        unterminated = true;
        break;
      }
      ends[count] = close;
      count++;
      i = close + 1;
      if (i < length && line.charCodeAt(i) !== SPACE) glued = true;
      continue;
    }
    let end = line.indexOf(' ', i);
    if (end === -1) end = length;
    // the first quote at or after i, looked up only when a bare token needs it
    // (quoted tokens often follow each other: no search per quoted token)
    if (nextQuote !== -1 && nextQuote < i) nextQuote = line.indexOf('"', i);
    if (nextQuote !== -1 && nextQuote < end) {
      quoteInBare = true;
      nextQuote = line.indexOf('"', end);
    }
    starts[count] = i;
    ends[count] = end;
    quoted[count] = 0;
    count++;
    i = end + 1;
  }
  out.count = count;
  out.gluedAfterQuote = glued;
  out.unterminatedQuote = unterminated;
  out.quoteInBareToken = quoteInBare;
}
