#!/usr/bin/env -S node --max-semi-space-size=64
// The `albatross` command. Sources are TypeScript run through tsx (esbuild), so
// there is no build step between `npm ci` and the first command.
// --max-semi-space-size=64 (MiB; Node 20's default is 16): the demo, backfill and benchmarks
// allocate many short-lived strings per log line; a larger young generation cut the local
// pipeline's Node CPU per document from 42-48 to 30-34 µs (A/B runs of 16/32/64/128 MiB, docs/benchmarks.md).
// `npm run demo`/`bench` pass it too.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
