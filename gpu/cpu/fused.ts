/**
 * Fused elementwise chains for the CPU backend, run as onnxruntime graphs: its kernels are
 * vectorized and multi-threaded, while a JS loop with Math.exp runs near 1 GFLOP/s and would bound
 * a training step. Small tensors stay in JS (a graph call costs tens of microseconds).
 * Each function matches the JS reference of its op (see the op files), checked in the tests.
 */
import { cachedGraph, type GraphSpec } from './ort.js';

/** Below this many elements the JS reference is faster than a graph call. */
export const FUSE_MIN = 16_384;

/**
 * Ops that take `stableRows` keep to the JS reference at any size. It computes every element (or
 * row) on its own, so a row has the same bits in a tensor of any size; the graphs do not (vector
 * tails and thread splits depend on the size), and a decoder that computes the same position in
 * chunks of different sizes (a prefix cache) would give other log-probs for it.
 */
export interface StableRowsOption {
  stableRows?: boolean;
}

const vec = (name: string) => ({ name, dims: ['n'] });
const mat = (name: string) => ({ name, dims: ['r', 'd'] });

function swigluGraph(): GraphSpec {
  return {
    inputs: [vec('G'), vec('U')],
    outputs: [vec('H')],
    nodes: [
      { op: 'Sigmoid', inputs: ['G'], outputs: ['s'] },
      { op: 'Mul', inputs: ['G', 's'], outputs: ['silu'] },
      { op: 'Mul', inputs: ['silu', 'U'], outputs: ['H'] },
    ],
  };
}

function swigluBackwardGraph(): GraphSpec {
  return {
    consts: [{ name: 'one', elem: 1, dims: [], values: [1] }],
    inputs: [vec('G'), vec('U'), vec('DH')],
    outputs: [vec('DG'), vec('DU')],
    nodes: [
      { op: 'Sigmoid', inputs: ['G'], outputs: ['s'] },
      { op: 'Mul', inputs: ['G', 's'], outputs: ['silu'] },
      { op: 'Mul', inputs: ['DH', 'silu'], outputs: ['DU'] },
      // dg = dh*u*(s + silu*(1-s))
      { op: 'Sub', inputs: ['one', 's'], outputs: ['oms'] },
      { op: 'Mul', inputs: ['silu', 'oms'], outputs: ['t'] },
      { op: 'Add', inputs: ['s', 't'], outputs: ['ds'] },
      { op: 'Mul', inputs: ['DH', 'U'], outputs: ['dhu'] },
      { op: 'Mul', inputs: ['dhu', 'ds'], outputs: ['DG'] },
    ],
  };
}

export function swigluOrt(g: Float32Array, u: Float32Array, h: Float32Array, n: number): void {
  const dims = [n];
  cachedGraph('swiglu', swigluGraph).run(
    { G: { data: g.subarray(0, n), dims }, U: { data: u.subarray(0, n), dims } },
    { H: { data: h.subarray(0, n), dims } },
  );
}

export function swigluBackwardOrt(
  g: Float32Array,
  u: Float32Array,
  dh: Float32Array,
  dg: Float32Array,
  du: Float32Array,
  n: number,
): void {
  const dims = [n];
  cachedGraph('swiglu-bwd', swigluBackwardGraph).run(
    { G: { data: g.subarray(0, n), dims }, U: { data: u.subarray(0, n), dims }, DH: { data: dh.subarray(0, n), dims } },
    { DG: { data: dg.subarray(0, n), dims }, DU: { data: du.subarray(0, n), dims } },
  );
}

// Opset 17: ReduceMean takes its axes as an attribute, ReduceSum as an input.
function rmsnormGraph(): GraphSpec {
  return {
    consts: [{ name: 'flat', elem: 7, dims: [1], values: [-1] }],
    inputs: [mat('X'), { name: 'W', dims: ['d'] }, { name: 'EPS', dims: [1] }],
    outputs: [mat('Y'), { name: 'R', dims: ['r'] }],
    nodes: [
      { op: 'Mul', inputs: ['X', 'X'], outputs: ['x2'] },
      { op: 'ReduceMean', inputs: ['x2'], outputs: ['ms'], attrs: { axes: [-1], keepdims: 1 } },
      { op: 'Add', inputs: ['ms', 'EPS'], outputs: ['mse'] },
      { op: 'Sqrt', inputs: ['mse'], outputs: ['rms'] },
      { op: 'Reciprocal', inputs: ['rms'], outputs: ['r'] },
      { op: 'Mul', inputs: ['X', 'r'], outputs: ['xr'] },
      { op: 'Mul', inputs: ['xr', 'W'], outputs: ['Y'] },
      { op: 'Reshape', inputs: ['r', 'flat'], outputs: ['R'] },
    ],
  };
}

function rmsnormBackwardGraph(): GraphSpec {
  return {
    consts: [
      { name: 'ax0', elem: 7, dims: [1], values: [0] },
      { name: 'col', elem: 7, dims: [2], values: [-1, 1] },
    ],
    inputs: [mat('X'), { name: 'W', dims: ['d'] }, { name: 'R', dims: ['r'] }, mat('DY')],
    outputs: [mat('DX'), { name: 'DW', dims: ['d'] }],
    nodes: [
      { op: 'Reshape', inputs: ['R', 'col'], outputs: ['r'] },
      { op: 'Mul', inputs: ['DY', 'W'], outputs: ['wdy'] },
      { op: 'Mul', inputs: ['wdy', 'X'], outputs: ['wdyx'] },
      { op: 'ReduceMean', inputs: ['wdyx'], outputs: ['dot'], attrs: { axes: [-1], keepdims: 1 } },
      { op: 'Mul', inputs: ['r', 'r'], outputs: ['r2'] },
      { op: 'Mul', inputs: ['r2', 'dot'], outputs: ['c'] },
      { op: 'Mul', inputs: ['X', 'c'], outputs: ['xc'] },
      { op: 'Sub', inputs: ['wdy', 'xc'], outputs: ['inner'] },
      { op: 'Mul', inputs: ['inner', 'r'], outputs: ['DX'] },
      { op: 'Mul', inputs: ['X', 'r'], outputs: ['xhat'] },
      { op: 'Mul', inputs: ['DY', 'xhat'], outputs: ['dwr'] },
      { op: 'ReduceSum', inputs: ['dwr', 'ax0'], outputs: ['DW'], attrs: { keepdims: 0 } },
    ],
  };
}

export function rmsnormOrt(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  r: Float32Array,
  R: number,
  D: number,
  eps: number,
): void {
  cachedGraph('rmsnorm', rmsnormGraph).run(
    { X: { data: x, dims: [R, D] }, W: { data: w, dims: [D] }, EPS: { data: new Float32Array([eps]), dims: [1] } },
    { Y: { data: y, dims: [R, D] }, R: { data: r, dims: [R] } },
  );
}

/** dx is overwritten; dw is accumulated into. */
export function rmsnormBackwardOrt(
  x: Float32Array,
  w: Float32Array,
  r: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  R: number,
  D: number,
): void {
  const g = new Float32Array(D);
  cachedGraph('rmsnorm-bwd', rmsnormBackwardGraph).run(
    { X: { data: x, dims: [R, D] }, W: { data: w, dims: [D] }, R: { data: r, dims: [R] }, DY: { data: dy, dims: [R, D] } },
    { DX: { data: dx, dims: [R, D] }, DW: { data: g, dims: [D] } },
  );
  for (let d = 0; d < D; d++) dw[d] += g[d] as number;
}
