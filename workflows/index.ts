// plumb's own workflows, bundled with every pipeline (see workers/workflow-entry.ts).
export { modelRegistry } from './registry.js';
export { deployModel } from './deploy.js';
export { retireModel } from './retire.js';
export { monitorModel } from './monitor.js';
export { batchScore } from './batch-score.js';
export { canaryRollout } from './canary.js';
