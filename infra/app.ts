// cdk.json "app": `npx tsx infra/app.ts`.
import { createApp } from './albatross-app.ts';

createApp().app.synth();
