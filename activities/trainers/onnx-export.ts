import onnxProto from 'onnx-proto';
import { MODEL_OUTPUTS, type Feature } from '../../lib/refs.js';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

/**
 * What a built-in trainer exports, independent of ONNX: the graph is generated from it, and the
 * trainer predicts from the very same description, which keeps the two in step.
 */
export interface CategoryMapping {
  /** Known categories; anything else (and "") maps to `missing`. */
  categories: string[];
  values: number[];
  missing: number;
}

export interface LinearModelSpec {
  kind: 'linear';
  features: Feature[];
  /** Per feature, in order: numeric → weight and the value that replaces NaN; categorical → a value per category. */
  terms: ({ type: 'numeric'; weight: number; impute: number } | ({ type: 'categorical' } & CategoryMapping))[];
  intercept: number;
}

/** One tree as flat node arrays; a node with feature −1 is a leaf. */
export interface TreeNodes {
  feature: Int32Array;
  /** float32 thresholds: go to `left` when x ≤ threshold. */
  threshold: Float32Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

export interface TreeModelSpec {
  kind: 'trees';
  features: Feature[];
  /** Per categorical feature, the code it is encoded as (numeric features: undefined). */
  encodings: (CategoryMapping | undefined)[];
  trees: TreeNodes[];
  baseScore: number;
}

export type ModelSpec = LinearModelSpec | TreeModelSpec;

const OPSET = 17;
const ML_OPSET = 3;
const ML = 'ai.onnx.ml';
const utf8 = (s: string) => new TextEncoder().encode(s);

const attr = {
  int: (name: string, i: number): IAttributeProto => ({ name, type: AttributeType.INT, i }),
  float: (name: string, f: number): IAttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  string: (name: string, s: string): IAttributeProto => ({ name, type: AttributeType.STRING, s: utf8(s) }),
  ints: (name: string, ints: ArrayLike<number>): IAttributeProto => ({ name, type: AttributeType.INTS, ints: Array.from(ints) }),
  floats: (name: string, floats: ArrayLike<number>): IAttributeProto => ({ name, type: AttributeType.FLOATS, floats: Array.from(floats, Math.fround) }),
  strings: (name: string, strings: string[]): IAttributeProto => ({ name, type: AttributeType.STRINGS, strings: strings.map(utf8) }),
};

function node(opType: string, inputs: string[], outputs: string[], attributes: IAttributeProto[] = [], domain = ''): INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute: attributes, domain };
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, floatData: Array.from(values, Math.fround) };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Strings → floats by a recorded table; unknown values get the default (ai.onnx.ml LabelEncoder). */
function categoryEncoder(input: string, output: string, mapping: CategoryMapping): INodeProto {
  return node(
    'LabelEncoder',
    [input],
    [output],
    [attr.strings('keys_strings', mapping.categories), attr.floats('values_floats', mapping.values), attr.float('default_float', mapping.missing)],
    ML,
  );
}

function linearNodes(spec: LinearModelSpec, nodes: INodeProto[], initializers: ITensorProto[]): string {
  const columns = spec.features.map((f, i) => {
    const term = spec.terms[i]!;
    const out = `term_${i}`;
    if (term.type === 'numeric') {
      nodes.push(node('Imputer', [f.name], [out], [attr.floats('imputed_value_floats', [term.impute]), attr.float('replaced_value_float', NaN)], ML));
    } else {
      nodes.push(categoryEncoder(f.name, out, term));
    }
    return out;
  });
  nodes.push(node('Concat', columns, ['terms'], [attr.int('axis', 1)]));
  initializers.push(floatTensor('weights', [columns.length, 1], spec.terms.map((t) => (t.type === 'numeric' ? t.weight : 1))));
  initializers.push(floatTensor('intercept', [1], [spec.intercept]));
  nodes.push(node('MatMul', ['terms', 'weights'], ['weighted']));
  nodes.push(node('Add', ['weighted', 'intercept'], ['logit']));
  return 'logit';
}

function treeNodes(spec: TreeModelSpec, nodes: INodeProto[]): string {
  const columns = spec.features.map((f, i) => {
    const encoding = spec.encodings[i];
    if (!encoding) return f.name;
    const out = `code_${i}`;
    nodes.push(categoryEncoder(f.name, out, encoding));
    return out;
  });
  nodes.push(node('Concat', columns, ['features'], [attr.int('axis', 1)]));
  const n = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
  };
  const t = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  spec.trees.forEach((tree, treeId) => {
    for (let i = 0; i < tree.feature.length; i++) {
      const leaf = tree.feature[i]! < 0;
      n.treeIds.push(treeId);
      n.nodeIds.push(i);
      n.featureIds.push(leaf ? 0 : tree.feature[i]!);
      n.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      n.values.push(leaf ? 0 : tree.threshold[i]!);
      n.trueIds.push(leaf ? 0 : tree.left[i]!);
      n.falseIds.push(leaf ? 0 : tree.right[i]!);
      n.missingTrue.push(leaf ? 0 : tree.missingLeft[i]!);
      if (leaf) {
        t.treeIds.push(treeId);
        t.nodeIds.push(i);
        t.weights.push(tree.value[i]!);
      }
    }
  });
  nodes.push(
    node(
      'TreeEnsembleRegressor',
      ['features'],
      ['logit'],
      [
        attr.string('aggregate_function', 'SUM'),
        attr.floats('base_values', [spec.baseScore]),
        attr.int('n_targets', 1),
        attr.ints('nodes_falsenodeids', n.falseIds),
        attr.ints('nodes_featureids', n.featureIds),
        attr.ints('nodes_missing_value_tracks_true', n.missingTrue),
        attr.strings('nodes_modes', n.modes),
        attr.ints('nodes_nodeids', n.nodeIds),
        attr.ints('nodes_treeids', n.treeIds),
        attr.ints('nodes_truenodeids', n.trueIds),
        attr.floats('nodes_values', n.values),
        attr.string('post_transform', 'NONE'),
        attr.ints('target_ids', new Array<number>(t.nodeIds.length).fill(0)),
        attr.ints('target_nodeids', t.nodeIds),
        attr.ints('target_treeids', t.treeIds),
        attr.floats('target_weights', t.weights),
      ],
      ML,
    ),
  );
  return 'logit';
}

/**
 * Builds the ONNX model for a trained binary classifier, following the plumb model convention
 * (lib/refs.ts): one input per feature ([N,1] float32 or string), outputs `label` (int64 [N]) and
 * `probabilities` (float32 [N,2]). Only standard ai.onnx and ai.onnx.ml operators are used.
 * The bytes depend on nothing but the spec and `docString`, so equal inputs give equal files.
 */
export function exportOnnx(spec: ModelSpec, meta: { producerVersion: string; docString?: string }): Uint8Array {
  const nodes: INodeProto[] = [];
  const initializers: ITensorProto[] = [];
  const logit = spec.kind === 'linear' ? linearNodes(spec, nodes, initializers) : treeNodes(spec, nodes);
  initializers.push(floatTensor('one', [1], [1]));
  nodes.push(node('Sigmoid', [logit], ['p1']));
  nodes.push(node('Sub', ['one', 'p1'], ['p0']));
  nodes.push(node('Concat', ['p0', 'p1'], [MODEL_OUTPUTS.probabilities], [attr.int('axis', 1)]));
  nodes.push(node('ArgMax', [MODEL_OUTPUTS.probabilities], [MODEL_OUTPUTS.label], [attr.int('axis', 1), attr.int('keepdims', 0)]));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'plumb',
    producerVersion: meta.producerVersion,
    docString: meta.docString ?? '',
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: ML, version: ML_OPSET },
    ],
    graph: {
      name: 'plumb_classifier',
      node: nodes,
      initializer: initializers,
      input: spec.features.map((f) => valueInfo(f.name, f.type === 'numeric' ? DataType.FLOAT : DataType.STRING, ['N', 1])),
      output: [valueInfo(MODEL_OUTPUTS.label, DataType.INT64, ['N']), valueInfo(MODEL_OUTPUTS.probabilities, DataType.FLOAT, ['N', 2])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A lookup from category to value, built once per feature for fast scoring. */
export function categoryLookup(mapping: CategoryMapping): (value: string | null | undefined) => number {
  const table = new Map(mapping.categories.map((c, i) => [c, mapping.values[i]!]));
  return (value) => (value === null || value === undefined || value === '' ? mapping.missing : (table.get(value) ?? mapping.missing));
}
