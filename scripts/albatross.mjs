#!/usr/bin/env node
// The `albatross` command. Sources are TypeScript run through tsx (esbuild), so
// there is no build step between `npm ci` and the first command.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
