// Root of the `albatross` CLI: each sub-command lives in its own module under
// scripts/commands/ and is loaded only when it runs, so `albatross parse` does
// not pay for the CDK or OpenSearch client imports.
import { Command } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  opensearch: () => import('./commands/opensearch.ts'),
  parse: () => import('./commands/parse.ts'),
  'setup-templates': () => import('./commands/setup-templates.ts'),
  generate: () => import('./commands/generate.ts'),
  demo: () => import('./commands/demo.ts'),
  backfill: () => import('./commands/backfill.ts'),
  bench: () => import('./bench/index.ts'),
};

async function main(argv: string[]): Promise<void> {
  const program = new Command('albatross')
    .description('ALB access logs into OpenSearch')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode));
  const requested = argv[2];
  const names = requested && requested in COMMANDS ? [requested] : Object.keys(COMMANDS);
  for (const name of names) {
    const load = COMMANDS[name]!;
    (await load()).register(program);
  }
  await program.parseAsync(argv);
}

await main(process.argv);
