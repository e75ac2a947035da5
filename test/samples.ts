// Where the shared sample ALB logs live: ../shared/samples beside the checkout (they are public
// material we read, never copy into the repo), or ALBATROSS_SAMPLES_DIR when the checkout is elsewhere.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const SAMPLES_DIR = path.resolve(process.env['ALBATROSS_SAMPLES_DIR'] ?? path.join(REPO_ROOT, '../shared/samples'));

if (!existsSync(SAMPLES_DIR)) {
  throw new Error(`sample ALB logs not found at ${SAMPLES_DIR}: check out the repository beside shared/, or set ALBATROSS_SAMPLES_DIR`);
}
