// Deterministic event.id: the same input from the same place always gets the
// same id, so a re-delivered line overwrites its document instead of adding a
// duplicate. With a source: <hash of bucket+key>-<byte offset> (the key hash
// is computed once per object, the offset makes it unique within it). Without
// one: a hash of the line. 132 bits of SHA-256 (22 base64url chars): no
// security role, only collision resistance.
import { hash } from 'node:crypto';
import type { LineSource } from './types.ts';

function digest(text: string): string {
  return hash('sha256', text, 'base64url').slice(0, 22);
}

let cachedBucket: string | undefined;
let cachedKey: string | undefined;
let cachedKeyDigest = '';

export function eventId(line: string, source: LineSource | undefined): string {
  if (source === undefined) return digest(line);
  if (source.key !== cachedKey || source.bucket !== cachedBucket) {
    cachedKey = source.key;
    cachedBucket = source.bucket;
    cachedKeyDigest = digest(`${source.bucket ?? ''}\u0000${source.key}`);
  }
  return `${cachedKeyDigest}-${source.offset}`;
}
