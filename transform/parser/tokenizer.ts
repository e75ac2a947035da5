// Single-pass tokenizer for an ALB access-log line: space-separated tokens,
// quoted tokens run to the next `"` (ALB writes a `"` inside a value as `\x22`,
// so the first quote closes the value). No regular expressions.

/** Reusable token buffer: the parser is synchronous, so one instance serves every call. */
export interface TokenBuffer {
  values: string[];     // token text, quotes removed, escapes NOT yet decoded
  quoted: boolean[];
  count: number;
  /** A closing quote was directly followed by another character (`"-"1`): recovered by starting a new token there. */
  gluedAfterQuote: boolean;
  /** The last token opened a quote that never closed; it holds the rest of the line. */
  unterminatedQuote: boolean;
  /** A bare (unquoted) token contains a `"`. */
  quoteInBareToken: boolean;
}

export function createTokenBuffer(): TokenBuffer {
  return { values: [], quoted: [], count: 0, gluedAfterQuote: false, unterminatedQuote: false, quoteInBareToken: false };
}

const SPACE = 32;
const QUOTE = 34;

/** Splits `line` into `out`. Runs of spaces count as one separator. */
export function tokenize(line: string, out: TokenBuffer): void {
  const values = out.values;
  const quoted = out.quoted;
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
    if (c === QUOTE) {
      const close = line.indexOf('"', i + 1);
      nextQuote = close === -1 ? -1 : line.indexOf('"', close + 1);
      if (close === -1) {
        values[count] = line.slice(i + 1);
        quoted[count] = true;
        count++;
        unterminated = true;
        break;
      }
      values[count] = line.slice(i + 1, close);
      quoted[count] = true;
      count++;
      i = close + 1;
      if (i < length && line.charCodeAt(i) !== SPACE) glued = true;
      continue;
    }
    let end = line.indexOf(' ', i);
    if (end === -1) end = length;
    if (nextQuote !== -1 && nextQuote < end) {
      quoteInBare = true;
      nextQuote = line.indexOf('"', end);
    }
    values[count] = line.slice(i, end);
    quoted[count] = false;
    count++;
    i = end + 1;
  }
  out.count = count;
  out.gluedAfterQuote = glued;
  out.unterminatedQuote = unterminated;
  out.quoteInBareToken = quoteInBare;
}
