#!/usr/bin/env -S node --max-semi-space-size=32
// The `albatross` command. Sources are TypeScript run through tsx (esbuild), so
// there is no build step between `npm ci` and the first command.
// --max-semi-space-size=32 (MiB; Node 20's default is 16): the demo, backfill and benchmarks
// allocate many short-lived strings per log line, and a larger young generation cut the local
// pipeline's CPU per document by ~10-20 % (docs/benchmarks.md). `npm run demo`/`bench` pass it too.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
