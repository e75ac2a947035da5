// ALB writes bytes inside quoted values as `\xHH` (a `"` as `\x22`, `\` as
// `\x5C`, every non-ASCII byte as its own escape; an 8-digit `\x000000HH` form
// has also been seen). Decoding turns runs of escaped bytes back into UTF-8
// text. Bytes that do not form valid UTF-8 keep their `\xHH` spelling, so no
// information is lost and nothing becomes U+FFFD.

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** Reads the escape at `i` (text[i] === '\\'); returns [byte, length] or undefined when it is not an escape. */
function readEscape(text: string, i: number): number {
  // returns byte | (length << 8), or -1
  if (text.charCodeAt(i + 1) !== 120 /* x */) return -1;
  const h1 = hexValue(text.charCodeAt(i + 2));
  const h2 = hexValue(text.charCodeAt(i + 3));
  if (h1 < 0 || h2 < 0) return -1;
  if (h1 === 0 && h2 === 0 && text.startsWith('0000', i + 4)) {
    // `\x000000HH`
    const h7 = hexValue(text.charCodeAt(i + 8));
    const h8 = hexValue(text.charCodeAt(i + 9));
    if (h7 >= 0 && h8 >= 0) return (h7 * 16 + h8) | (10 << 8);
  }
  return (h1 * 16 + h2) | (4 << 8);
}

function hex2(byte: number): string {
  return '\\x' + (byte < 16 ? '0' : '') + byte.toString(16).toUpperCase();
}

/** Appends the decoded form of `bytes` to `parts`: valid UTF-8 sequences as text, the rest as `\xHH`. */
function decodeBytes(bytes: number[], parts: string[]): void {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b0 = bytes[i]!;
    let need = 0;
    let codePoint = 0;
    let min = 0;
    if (b0 < 0x80) {
      parts.push(String.fromCharCode(b0));
      i++;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1; codePoint = b0 & 0x1f; min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2; codePoint = b0 & 0x0f; min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3; codePoint = b0 & 0x07; min = 0x10000;
    } else {
      parts.push(hex2(b0));
      i++;
      continue;
    }
    let ok = i + need < n;
    for (let k = 1; ok && k <= need; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) ok = false;
      else codePoint = (codePoint << 6) | (b & 0x3f);
    }
    if (ok && codePoint >= min && codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      parts.push(String.fromCodePoint(codePoint));
      i += need + 1;
    } else {
      parts.push(hex2(b0));
      i++;
    }
  }
}

/** Decodes `\xHH` escapes; returns `text` itself when it has none. */
export function decodeAlbEscapes(text: string): string {
  let backslash = text.indexOf('\\');
  if (backslash === -1) return text;
  const parts: string[] = [];
  let copied = 0;
  while (backslash !== -1) {
    let escape = readEscape(text, backslash);
    if (escape < 0) {
      backslash = text.indexOf('\\', backslash + 1);
      continue;
    }
    if (backslash > copied) parts.push(text.slice(copied, backslash));
    // collect the run of consecutive escapes: a UTF-8 character spans several
    const bytes: number[] = [];
    let i = backslash;
    while (escape >= 0) {
      bytes.push(escape & 0xff);
      i += escape >> 8;
      escape = text.charCodeAt(i) === 92 ? readEscape(text, i) : -1;
    }
    decodeBytes(bytes, parts);
    copied = i;
    backslash = text.indexOf('\\', i);
  }
  if (copied < text.length) parts.push(text.slice(copied));
  return parts.join('');
}
