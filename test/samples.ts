// Tests read the shared sample ALB logs through scripts/samples.ts; fail the file early, with the
// fix, when they are not there.
import { existsSync } from 'node:fs';
import { readSampleLines, SAMPLES_DIR } from '../scripts/samples.ts';

export { readSampleLines, SAMPLES_DIR };

if (!existsSync(SAMPLES_DIR)) {
  throw new Error(`sample ALB logs not found at ${SAMPLES_DIR}: check out the repository beside shared/, or set ALBATROSS_SAMPLES_DIR`);
}
