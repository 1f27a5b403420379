import type { ArtifactStore } from '../../lib/artifact-store.js';
import type { DriftResult, FeatureDrift } from '../../lib/drift-contracts.js';
import type { PerformanceResult } from '../../lib/metrics/windowed-performance.js';
import { artifactUri, type ArtifactRef } from '../../lib/refs.js';

export interface DriftReportInput {
  title: string;
  /** When the monitoring run happened (workflow time), shown in the header. */
  generatedAt: string;
  drift: DriftResult;
  performance?: PerformanceResult;
}

/**
 * A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched) a person reads to
 * see what drifted: the verdicts, every score, and reference-vs-current histograms per column.
 */
export function renderDriftReport(input: DriftReportInput): string {
  const { drift } = input;
  const verdict = drift.dataset.drifted ? 'Dataset drift detected' : 'No dataset drift';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${esc(input.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(input.title)}</h1>
<p class="meta">Generated ${esc(input.generatedAt)} · reference ${fmtInt(drift.rows.reference)} rows · current ${fmtInt(drift.rows.current)} rows</p>
<p class="verdict ${drift.dataset.drifted ? 'bad' : drift.dataset.driftedFeatures.length > 0 ? 'warn' : 'good'}">${verdict}: ${drift.dataset.driftedFeatures.length} of ${drift.features.length} features drifted (share ${fmt(drift.dataset.share)}, threshold ${fmt(drift.dataset.threshold)})</p>
<p class="legend"><span class="swatch ref"></span> reference <span class="swatch cur"></span> current · bars are shares of each sample</p>
</header>
<main>
<section>
<h2>Features</h2>
${scoreTable(drift.features)}
<div class="cards">
${drift.features.map(card).join('\n')}
</div>
</section>
${
  drift.predictions.length > 0
    ? `<section>
<h2>Prediction drift</h2>
${scoreTable(drift.predictions)}
<div class="cards">
${drift.predictions.map(card).join('\n')}
</div>
</section>`
    : ''
}
${input.performance ? performanceSection(input.performance) : ''}
</main>
</body>
</html>
`;
}

/** Renders the report and stores it as an immutable artifact (`text/html`). */
export async function writeDriftReport(input: DriftReportInput, store: ArtifactStore): Promise<ArtifactRef> {
  const stored = await store.put(renderDriftReport(input));
  return { kind: 'artifact', uri: artifactUri(stored.sha256), sha256: stored.sha256, bytes: stored.bytes, mediaType: 'text/html; charset=utf-8' };
}

function scoreTable(columns: readonly FeatureDrift[]): string {
  const rows = columns
    .map(
      (f) => `<tr class="${f.drifted ? 'drifted' : ''}">
<td><a href="#col-${slug(f.name)}">${esc(f.name)}</a></td><td>${f.type}</td>
<td class="${f.drifted ? 'bad' : 'good'}">${f.drifted ? 'drifted' : 'ok'}</td>
<td>${methodLabel[f.method]}</td><td class="num">${fmt(f.score)}</td><td class="num">${fmt(f.threshold)}</td>
<td class="num">${fmt(f.psi)}</td><td class="num">${fmt(f.jensenShannon)}</td>
<td class="num">${f.ks ? fmt(f.ks.statistic) : '—'}</td><td class="num">${f.ks ? fmt(f.ks.pValue) : '—'}</td>
<td class="num">${f.wasserstein ? fmt(f.wasserstein.normalised) : '—'}</td>
<td class="num">${f.chiSquared ? fmt(f.chiSquared.pValue) : '—'}</td>
<td class="num">${fmtInt(f.current.nulls)}</td>
</tr>`,
    )
    .join('\n');
  return `<table>
<thead><tr><th>column</th><th>type</th><th>verdict</th><th>method</th><th>score</th><th>threshold</th><th>PSI</th><th>JS distance</th><th>KS D</th><th>KS p</th><th>Wasserstein / σ</th><th>χ² p</th><th>current nulls</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

const methodLabel: Record<FeatureDrift['method'], string> = {
  ks: 'KS p-value',
  wasserstein: 'Wasserstein / σ',
  psi: 'PSI',
  jensenShannon: 'JS distance',
  chiSquared: 'χ² p-value',
};

function card(f: FeatureDrift): string {
  const h = f.histogram;
  const labels =
    h.kind === 'numeric'
      ? h.reference.map((_, i) => `${fmt(h.edges[i] ?? 0)} – ${fmt(h.edges[i + 1] ?? 0)}`)
      : [...h.categories, ...(h.otherReference + h.otherCurrent > 0 ? ['(other)'] : [])];
  const ref = h.kind === 'numeric' ? h.reference : [...h.reference, ...(labels.length > h.categories.length ? [h.otherReference] : [])];
  const cur = h.kind === 'numeric' ? h.current : [...h.current, ...(labels.length > h.categories.length ? [h.otherCurrent] : [])];
  const axis =
    h.kind === 'numeric'
      ? `<text x="${PAD}" y="${HEIGHT - 4}">${esc(fmt(h.edges[0] ?? 0))}</text><text x="${WIDTH - PAD}" y="${HEIGHT - 4}" text-anchor="end">${esc(fmt(h.edges[h.edges.length - 1] ?? 0))}</text>`
      : '';
  return `<figure class="card ${f.drifted ? 'drifted' : ''}" id="col-${slug(f.name)}">
<figcaption><strong>${esc(f.name)}</strong> <span class="${f.drifted ? 'bad' : 'good'}">${f.drifted ? 'drifted' : 'ok'}</span>
<span class="score">${methodLabel[f.method]} ${fmt(f.score)} (threshold ${fmt(f.threshold)})</span></figcaption>
${histogram(labels, ref, cur, h.kind === 'categorical', axis)}
</figure>`;
}

const WIDTH = 360;
const HEIGHT = 150;
const PAD = 8;

function histogram(labels: string[], reference: number[], current: number[], categorical: boolean, axis: string): string {
  const share = (xs: number[]) => {
    const total = xs.reduce((s, v) => s + v, 0);
    return xs.map((v) => (total > 0 ? v / total : 0));
  };
  const r = share(reference);
  const c = share(current);
  const top = Math.max(...r, ...c, 1e-9);
  const plotH = HEIGHT - (categorical ? 34 : 22);
  const slot = (WIDTH - 2 * PAD) / Math.max(labels.length, 1);
  const bar = Math.max(slot / 2 - 1, 1);
  const bars = labels
    .map((label, i) => {
      const x = PAD + i * slot;
      const rh = (r[i]! / top) * (plotH - 4);
      const ch = (c[i]! / top) * (plotH - 4);
      const title = `${label}: reference ${pct(r[i]!)}, current ${pct(c[i]!)}`;
      const text = categorical
        ? `<text x="${(x + slot / 2).toFixed(1)}" y="${HEIGHT - 18}" text-anchor="middle">${esc(truncate(label, Math.max(2, Math.floor(slot / 7))))}</text>`
        : '';
      return `<g><title>${esc(title)}</title><rect class="ref" x="${x.toFixed(1)}" y="${(plotH - rh).toFixed(1)}" width="${bar.toFixed(1)}" height="${rh.toFixed(1)}" /><rect class="cur" x="${(x + bar + 1).toFixed(1)}" y="${(plotH - ch).toFixed(1)}" width="${bar.toFixed(1)}" height="${ch.toFixed(1)}" />${text}</g>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg"><line class="axis" x1="${PAD}" y1="${plotH}" x2="${WIDTH - PAD}" y2="${plotH}" />${bars}${axis}</svg>`;
}

function performanceSection(p: PerformanceResult): string {
  const rows = p.windows
    .map(
      (w) =>
        `<tr><td>${esc(w.start)}</td><td class="num">${fmtInt(w.labelled)}</td><td class="num">${fmt(w.accuracy)}</td><td class="num">${w.rocAuc === null ? '—' : fmt(w.rocAuc)}</td><td class="num">${fmt(w.brier)}</td><td class="num">${fmt(w.calibrationError)}</td></tr>`,
    )
    .join('\n');
  const breaches = p.breaches.length
    ? `<p class="verdict bad">Threshold breached: ${p.breaches.map((b) => `${esc(b.metric)} ${fmt(b.value)} (threshold ${fmt(b.threshold)}) in the window from ${esc(b.window)}`).join('; ')}</p>`
    : '<p class="verdict good">All judged metrics within thresholds</p>';
  return `<section>
<h2>Performance over time</h2>
${breaches}
${lineChart(p)}
<table>
<thead><tr><th>window start</th><th>labelled</th><th>accuracy</th><th>ROC AUC</th><th>Brier</th><th>calibration error</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="meta">${fmtInt(p.unlabelled)} predictions have no label yet.</p>
</section>`;
}

function lineChart(p: PerformanceResult): string {
  if (p.windows.length < 2) return '';
  const w = 720;
  const h = 180;
  const x = (i: number) => 40 + (i * (w - 60)) / (p.windows.length - 1);
  const y = (v: number) => 10 + (1 - v) * (h - 40);
  const line = (values: (number | null)[], cls: string) => {
    const points = values.flatMap((v, i) => (v === null ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]));
    return `<polyline class="${cls}" points="${points.join(' ')}" />`;
  };
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((v) => `<line class="grid" x1="40" y1="${y(v)}" x2="${w - 20}" y2="${y(v)}" /><text x="34" y="${y(v) + 4}" text-anchor="end">${v}</text>`)
    .join('');
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" xmlns="http://www.w3.org/2000/svg">${grid}${line(
    p.windows.map((q) => q.accuracy),
    'acc',
  )}${line(
    p.windows.map((q) => q.rocAuc),
    'auc',
  )}<text x="40" y="${h - 6}">${esc(p.windows[0]!.start)}</text><text x="${w - 20}" y="${h - 6}" text-anchor="end">${esc(p.windows[p.windows.length - 1]!.start)}</text><text class="acc-label" x="${w - 20}" y="12" text-anchor="end">accuracy</text><text class="auc-label" x="${w - 20}" y="26" text-anchor="end">ROC AUC</text></svg>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2430;margin:0;background:#f6f7f9}
header{background:#fff;border-bottom:1px solid #dde1e6;padding:16px 28px}
main{padding:8px 28px 40px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 10px}
.meta{color:#5b6573;margin:2px 0}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;margin:8px 0}
.verdict.bad{background:#fde8e8;color:#a11d1d}.verdict.warn{background:#fdf3dc;color:#8a5a00}.verdict.good{background:#e5f5ea;color:#17663a}
td.bad,span.bad{color:#a11d1d;font-weight:600}td.good,span.good{color:#17663a}
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e6;font-size:13px}
th,td{padding:4px 9px;border-bottom:1px solid #eceff2;text-align:left;white-space:nowrap}
th{background:#f0f2f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.drifted td:first-child{border-left:3px solid #d64545}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:14px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:0;padding:10px 12px}
.card.drifted{border-color:#e39a9a}
figcaption{margin-bottom:6px}.score{display:block;color:#5b6573;font-size:12px}
svg text{font-size:10px;fill:#5b6573}
rect.ref,.swatch.ref{fill:#8aa4c8;background:#8aa4c8}rect.cur,.swatch.cur{fill:#e07b39;background:#e07b39}
.swatch{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;vertical-align:middle}
.legend{color:#5b6573;margin:2px 0}
line.axis{stroke:#9aa3ad}line.grid{stroke:#eceff2}
polyline{fill:none;stroke-width:2}polyline.acc{stroke:#3b6fb6}polyline.auc{stroke:#e07b39}
.acc-label{fill:#3b6fb6}.auc-label{fill:#e07b39}
a{color:inherit}
`;

const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const slug = (s: string): string => encodeURIComponent(s).replace(/%/g, '_');
const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const fmtInt = (n: number): string => n.toLocaleString('en-US');
function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e6) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}
