// The Web UI test drives Debian's Chromium (no browser download). On a fresh machine where we are
// root, `npm test` installs it with apt-get, as it installs the Temporal CLI.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.PLUMB_CHROMIUM ?? '/usr/bin/chromium';

export function ensureChromium(say: (line: string) => void): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    say(`Chromium not found at ${CHROMIUM}; install Debian's chromium package (or set PLUMB_CHROMIUM) for the Web UI test`);
    return;
  }
  say('installing Chromium for the Web UI test (apt-get install chromium)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'chromium']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      say(`apt-get ${args.join(' ')} failed (exit ${r.status}); the Web UI test will fail`);
      return;
    }
  }
}
