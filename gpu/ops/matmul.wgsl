// Matrix product, batched, transposes as flags:  C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]
//   A: (batch, M, K) or (batch, K, M) when transA;  B: (K, N) or (N, K) when transB, per batch when
//   strideB = K*N, shared when strideB = 0;  C: (batch, M, N).
// Workgroup 16x16 threads computes a 64x64 tile of C; each thread holds a 4x4 register block.
// K is walked in slabs of 16: A (64x16) and B (16x64) slabs are staged in workgroup memory,
// stored k-major so the inner loop reads 4 consecutive floats of each. Edges load zeros, so any
// M, N, K works. Grid: (ceil(N/64), ceil(M/64), batch).
// (f16 would go here: `enable f16;` slabs in f16, accumulators kept f32.)

struct U { batch: u32, M: u32, N: u32, K: u32, transA: u32, transB: u32, strideB: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TILE = 64u;
const BK = 16u;
var<workgroup> As: array<f32, 1024>; // [k][m], BK x TILE
var<workgroup> Bs: array<f32, 1024>; // [k][n], BK x TILE

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = u.M;
  let N = u.N;
  let K = u.K;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let aOff = wid.z * M * K;
  let bOff = wid.z * u.strideB;
  let tid = lid.y * 16u + lid.x;
  var acc: array<vec4f, 4>; // rows lid.y*4 + i, columns lid.x*4 + (x, y, z, w)
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      var m: u32;
      var kk: u32;
      if (u.transA == 0u) { m = e / BK; kk = e % BK; } else { kk = e / TILE; m = e % TILE; }
      let r = row0 + m;
      let k = k0 + kk;
      var v = 0.0;
      if (r < M && k < K) {
        if (u.transA == 0u) { v = A[aOff + r * K + k]; } else { v = A[aOff + k * M + r]; }
      }
      As[kk * TILE + m] = v;
    }
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      var n: u32;
      var kk: u32;
      if (u.transB == 0u) { kk = e / TILE; n = e % TILE; } else { n = e / BK; kk = e % BK; }
      let c = col0 + n;
      let k = k0 + kk;
      var v = 0.0;
      if (c < N && k < K) {
        if (u.transB == 0u) { v = B[bOff + k * N + c]; } else { v = B[bOff + c * K + k]; }
      }
      Bs[kk * TILE + n] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ab = kk * TILE + lid.y * 4u;
      let bb = kk * TILE + lid.x * 4u;
      let a = vec4f(As[ab], As[ab + 1u], As[ab + 2u], As[ab + 3u]);
      let b = vec4f(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
      acc[0] = fma(vec4f(a.x), b, acc[0]);
      acc[1] = fma(vec4f(a.y), b, acc[1]);
      acc[2] = fma(vec4f(a.z), b, acc[2]);
      acc[3] = fma(vec4f(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }
  let cOff = wid.z * M * N;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if (c >= N) { continue; }
      let idx = cOff + r * N + c;
      var v = u.alpha * acc[i][j];
      if (u.beta != 0.0) { v += u.beta * C[idx]; }
      C[idx] = v;
    }
  }
}
