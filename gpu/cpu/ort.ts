/**
 * onnxruntime-node as a synchronous matrix engine for the CPU backend.
 *
 * Graphs are ONNX models built from the `onnx-proto` message definitions, with symbolic dims so one
 * session serves every shape of a signature; sessions are built once and cached by signature.
 * The public `InferenceSession.run` defers to `setImmediate` and returns a Promise; the native
 * binding underneath is synchronous, and calling it directly lets CPU ops run eagerly (no event-loop
 * hop per matmul) and write outputs straight into our own Float32Arrays (preallocated fetches).
 */
import { createRequire } from 'node:module';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const { onnx } = onnxProto;
const require = createRequire(import.meta.url);

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>, options: object): Record<string, ort.Tensor>;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

let native: NativeBinding | undefined;
function nativeBinding(): NativeBinding {
  if (!native) {
    native = require('onnxruntime-node/dist/binding.js') as NativeBinding;
    native.initOrt();
  }
  return native;
}

export type Dim = number | string;
export interface ValueSpec {
  name: string;
  /** Element type: 1 = float, 6 = int32, 7 = int64. */
  elem?: number;
  dims: Dim[];
}
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  /** Integers are INT attributes; wrap a float as `{ f: 1 }` (1.0 is an integer in JS). */
  attrs?: Record<string, number | number[] | string | { f: number }>;
}
export interface GraphSpec {
  nodes: NodeSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  /** Constant initializers (small: shape vectors, scalars). */
  consts?: { name: string; elem: 1 | 7; dims: number[]; values: number[] }[];
}

function valueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elem ?? 1,
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: number | number[] | string | { f: number }): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'object' && !Array.isArray(v)) return { name, type: T.FLOAT, f: v.f };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: T.INT, i: v };
  return { name, type: T.FLOAT, f: v };
}

/** Serialize a graph as an ONNX model (opset 17 plus Microsoft contrib ops). */
export function encodeModel(g: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'toolgym-gpu',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: 'g',
      node: g.nodes.map((n, i) => ({
        name: `n${i}_${n.op}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
      initializer: (g.consts ?? []).map((c) => ({
        name: c.name,
        dataType: c.elem,
        dims: c.dims,
        ...(c.elem === 1 ? { floatData: c.values } : { int64Data: c.values }),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export interface SessionOptions {
  threads?: number;
}

/** One compiled graph, run synchronously. */
export class OrtGraph {
  private readonly session: NativeSession;
  private static readonly runOptions = {};

  constructor(model: Uint8Array, opts: SessionOptions = {}) {
    const { binding } = nativeBinding();
    this.session = new binding.InferenceSession();
    const bytes = model.slice();
    this.session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
      // Each cached graph owns a thread pool; spinning workers of one pool steal the cores the
      // next graph needs (a block step alternates a dozen graphs with JS code), which halved
      // block throughput in measurements here. GYM_ORT_SPIN=1 restores onnxruntime's default.
      ...(process.env.GYM_ORT_SPIN === '1'
        ? {}
        : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    });
  }

  /**
   * Run with the given inputs; outputs named in `into` are written into those arrays (which must
   * have the output's exact size). Only the outputs named in `into` are computed and returned
   * (the native binding fetches exactly what it is given).
   */
  run(
    inputs: Record<string, { data: Float32Array | Int32Array; dims: number[] }>,
    into: Record<string, { data: Float32Array; dims: number[] }>,
  ): Record<string, Float32Array> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) {
      feeds[k] = new ort.Tensor(v.data instanceof Int32Array ? 'int32' : 'float32', v.data, v.dims);
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const [k, v] of Object.entries(into)) fetches[k] = new ort.Tensor('float32', v.data, v.dims);
    const out = this.session.run(feeds, fetches, OrtGraph.runOptions);
    const res: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) res[k] = v.data as Float32Array;
    return res;
  }

  dispose(): void {
    this.session.dispose();
  }
}

const cache = new Map<string, OrtGraph>();
let defaultThreads: number | undefined;

/** Default intra-op thread count for graphs built from now on. */
export function setOrtThreads(threads: number | undefined): void {
  defaultThreads = threads;
}

/** The cached graph for `key`, built by `build` on first use. */
export function cachedGraph(key: string, build: () => GraphSpec): OrtGraph {
  let g = cache.get(key);
  if (!g) {
    g = new OrtGraph(encodeModel(build()), { threads: defaultThreads });
    cache.set(key, g);
  }
  return g;
}
