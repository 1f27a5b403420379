// plumb's own workflows, bundled with every pipeline (see workers/workflow-entry.ts).
export { monitorModel } from './monitor.js';
