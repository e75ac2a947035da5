import { Readable, Writable } from 'node:stream';
import { parseAlbLineToJson } from '../transform/parser/index.ts';
import { parseStream } from './commands/parse.ts';
import { accessLogSampleLines } from './bench/transform.ts';
const lines = accessLogSampleLines();
const mode = process.argv[2];
let sink = 0;
const t = Date.now();
class Discard extends Writable { override _write(_c: unknown, _e: BufferEncoding, cb: () => void) { cb(); } }
const text = Buffer.from(Array.from({ length: 30 }, () => lines.join('\n')).join('\n') + '\n');
while (Date.now() - t < 8000) {
  if (mode === 'json') for (let i = 0; i < lines.length; i++) { const r = parseAlbLineToJson(lines[i]!, { source: { key: 'k', offset: i } }); if (r.kind === 'document') sink += r.json.length; }
  else { const chunks: Buffer[] = []; for (let at = 0; at < text.length; at += 65536) chunks.push(text.subarray(at, at + 65536)); sink += (await parseStream(Readable.from(chunks), new Discard(), new Discard(), { path: 'x' })).documents; }
}
console.log(sink);
