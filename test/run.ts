// `npm test`: type check, then every test file, against one Temporal dev server started here on
// free ports with a throwaway database, and torn down whatever happens.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../lib/dev-server.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { ensureChromium } from './chromium.js';
import { startThrowawayDevServer } from './standalone-stack.js';

const only = process.argv.slice(2); // optional: run just these test files
const say = (line: string) => process.stderr.write(`[test] ${line}\n`);

say('type check (tsc)');
const tsc = spawnSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', PROJECT_ROOT], { stdio: 'inherit' });
if (tsc.status !== 0) {
  say('type check failed');
  process.exit(1);
}

const files = only.length
  ? only
  : (
      await Promise.all(
        ['test/unit', 'test/integration'].map(async (dir) =>
          (await readdir(join(PROJECT_ROOT, dir))).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f)),
        ),
      )
    ).flat();

const work = await mkdtemp(join(tmpdir(), 'plumb-test-'));
ensureChromium(say);
const { server, devServer } = await startThrowawayDevServer(work, say);
const host = devServer.host;
const servingPort = await freePort();

// The stack file every integration test starts from (tests derive their own from it).
const configFile = join(work, 'temporal-dev.yml');
await writeFile(
  configFile,
  stringify({
    temporal: { namespace: 'default' },
    devServer,
    serving: { host, port: servingPort },
    artifacts: { dir: join(work, 'artifacts') },
    pipelines: { dirs: [join(PROJECT_ROOT, 'pipelines'), join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines')] },
    stateDir: join(work, 'state'),
    logLevel: 'warn',
  }),
);

let code = 1;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.stop().then(() => rm(work, { recursive: true, force: true })).finally(() => process.exit(130)));
}
try {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=600000', ...files],
    { cwd: PROJECT_ROOT, stdio: 'inherit', env: { ...process.env, PLUMB_TEST_CONFIG: configFile, PLUMB_TEST_WORKDIR: work } },
  );
  code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
process.exit(code);
