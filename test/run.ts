// Placeholder runner replaced by the full harness in the foundation work.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
const tsc = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(1);
const files = ['test/unit', 'test/integration'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.ts')).map((f) => `${d}/${f}`));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
