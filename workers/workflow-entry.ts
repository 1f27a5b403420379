import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { badInput } from '../lib/errors.js';
import { PROJECT_ROOT } from '../lib/project-root.js';

const PIPELINE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export interface PipelineFile {
  name: string;
  path: string;
}

/** Every top-level `<name>.ts` in the pipeline folders; later folders cannot redefine a name. */
export async function findPipelineFiles(dirs: string[]): Promise<PipelineFile[]> {
  const found = new Map<string, PipelineFile>();
  for (const dir of dirs) {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw badInput(`pipelines.dirs: folder not found: ${dir}`);
      throw err;
    });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      const name = basename(entry.name, '.ts');
      if (!PIPELINE_NAME.test(name)) {
        throw badInput(`pipeline file ${join(dir, entry.name)}: the name must be an identifier (letters, digits, _), as it becomes the workflow type`);
      }
      const previous = found.get(name);
      if (previous) throw badInput(`pipeline "${name}" is defined twice: ${previous.path} and ${join(dir, entry.name)}`);
      found.set(name, { name, path: join(dir, entry.name) });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Writes the module the Temporal worker bundles: plumb's own workflows plus one workflow per
 * pipeline file, exported under the pipeline's name (its workflow type). Adding a pipeline is
 * adding a file; nothing else lists them.
 */
export async function writeWorkflowEntry(pipelineDirs: string[]): Promise<string> {
  const pipelines = await findPipelineFiles(pipelineDirs);
  const lines = [`export * from ${JSON.stringify(join(PROJECT_ROOT, 'workflows', 'index.ts'))};`];
  for (const [i, p] of pipelines.entries()) {
    lines.push(`import pipeline${i} from ${JSON.stringify(p.path)};`);
    lines.push(`export const ${p.name} = pipeline${i}.workflow;`);
  }
  const source = lines.join('\n') + '\n';
  // Inside the project so the bundler resolves @temporalio/* from our node_modules.
  const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'plumb', 'workflow-entries');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(source).digest('hex').slice(0, 16)}.ts`);
  await writeFile(file, source);
  return file;
}
