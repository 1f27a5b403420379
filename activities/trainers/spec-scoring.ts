import type { FeatureColumn } from './training-data.js';
import { categoryLookup, type ModelSpec, type TreeNodes } from './onnx-export.js';
import { sigmoid } from './training-data.js';

/**
 * The trainer's own prediction (probability of class 1) from a model spec, on raw feature
 * columns: numeric values are rounded to float32 as the ONNX inputs are, so the comparison with
 * onnxruntime measures the export, not the input precision.
 */
export function scoreSpec(spec: ModelSpec, columns: FeatureColumn[], rows: number): Float64Array {
  const logits = new Float64Array(rows);
  if (spec.kind === 'linear') {
    logits.fill(spec.intercept);
    spec.terms.forEach((term, f) => {
      const column = columns[f]!;
      if (term.type === 'numeric') {
        const values = column as Float64Array;
        for (let i = 0; i < rows; i++) {
          const x = Math.fround(values[i]!);
          logits[i]! += term.weight * (Number.isNaN(x) ? term.impute : x);
        }
      } else {
        const lookup = categoryLookup(term);
        const values = column as (string | null)[];
        for (let i = 0; i < rows; i++) logits[i]! += lookup(values[i]);
      }
    });
  } else {
    const encoded = spec.features.map((_, f) => {
      const encoding = spec.encodings[f];
      const column = columns[f]!;
      const out = new Float64Array(rows);
      if (encoding) {
        const lookup = categoryLookup(encoding);
        const values = column as (string | null)[];
        for (let i = 0; i < rows; i++) out[i] = Math.fround(lookup(values[i]));
      } else {
        const values = column as Float64Array;
        for (let i = 0; i < rows; i++) out[i] = Math.fround(values[i]!);
      }
      return out;
    });
    logits.fill(Math.fround(spec.baseScore));
    for (const tree of spec.trees) {
      for (let i = 0; i < rows; i++) logits[i]! += tree.value[leafOf(tree, encoded, i)]!;
    }
  }
  return logits.map(sigmoid);
}

function leafOf(tree: TreeNodes, encoded: Float64Array[], row: number): number {
  let n = 0;
  while (tree.feature[n]! >= 0) {
    const x = encoded[tree.feature[n]!]![row]!;
    const goLeft = Number.isNaN(x) ? tree.missingLeft[n] === 1 : x <= tree.threshold[n]!;
    n = goLeft ? tree.left[n]! : tree.right[n]!;
  }
  return n;
}
