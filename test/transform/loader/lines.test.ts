import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitLines, type Line } from '../../../transform/loader/lines.ts';

async function collect(chunks: Buffer[], maxLineBytes: number): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const group of splitLines(chunks, { maxLineBytes, headBytes: 4 })) lines.push(...group);
  return lines;
}

function chunked(text: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, text.length]) {
    if (p > from) chunks.push(text.subarray(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

describe('splitLines', () => {
  it('gives the same lines, offsets and lengths however the stream is chunked', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constant('')), { maxLength: 30 }),
      fc.boolean(), fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }),
      async (parts, crlf, finalNewline, cuts) => {
        const text = parts.join(crlf ? '\r\n' : '\n') + (finalNewline && parts.length > 0 ? '\n' : '');
        const bytes = Buffer.from(text);
        const lines = await collect(chunked(bytes, cuts), 8);
        // Reference: split the whole text at once.
        const expected: Array<[number, number, string | undefined]> = [];
        let offset = 0;
        const raw = text.split('\n');
        if (raw[raw.length - 1] === '') raw.pop();
        for (const [i, piece] of raw.entries()) {
          const size = Buffer.byteLength(piece);
          const terminated = i < raw.length - 1 || text.endsWith('\n');
          const body = terminated && piece.endsWith('\r') ? piece.slice(0, -1) : piece;
          const length = Buffer.byteLength(body);
          expected.push([offset, length, length > 8 ? undefined : body]);
          offset += size + 1;
        }
        expect(lines.map((l) => [l.offset, l.length, l.bytes?.toString()])).toEqual(expected);
        expect(lines.map((l) => l.index)).toEqual(expected.map((_, i) => i));
        for (const l of lines) if (l.bytes === undefined) expect(l.head).toEqual(bytes.subarray(l.offset, l.offset + 4));
        if (lines.length > 0) expect(lines[lines.length - 1]!.end).toBe(bytes.length);
      },
    ), { numRuns: 300 });
  });

  it('does not buffer an over-long line', async () => {
    const big = Buffer.alloc(1_000_000, 0x61);
    const chunks = [Buffer.from('ok\n'), ...Array.from({ length: 50 }, () => big), Buffer.from('\r\nnext')];
    const lines = await collect(chunks, 100);
    expect(lines.map((l) => [l.index, l.offset, l.length, l.bytes?.toString(), l.head?.toString()])).toEqual([
      [0, 0, 2, 'ok', undefined],
      [1, 3, 50_000_000, undefined, 'aaaa'],
      [2, 50_000_005, 4, 'next', undefined],
    ]);
  });

  it('does not yield the incomplete last line when the stream fails', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('a\nb\nincompl');
      throw Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' });
    }
    const seen: string[] = [];
    await expect((async () => {
      for await (const group of splitLines(failing(), { maxLineBytes: 100 })) seen.push(...group.map((l) => l.bytes!.toString()));
    })()).rejects.toThrow('unexpected end of file');
    expect(seen).toEqual(['a', 'b']);
  });
});
