// AdamW with global-norm clipping.
//   sumsq:  s[0] += Σ g²   (one workgroup of 256 per gradient tensor, dispatched in sequence)
//   update: c = maxNorm > 0 ? min(1, maxNorm / (sqrt(s[0]) + 1e-6)) : 1;  g' = c g
//           m = β1 m + (1-β1) g';  v = β2 v + (1-β2) g'²;  p = p (1 - lr wd) - lr (m/bc1) / (sqrt(v/bc2) + eps)
//           workgroup 256, one thread per element; grid (x, y) linearized.

struct SU { n: u32 }
@group(0) @binding(0) var<uniform> su: SU;
@group(0) @binding(1) var<storage, read> sg: array<f32>;
@group(0) @binding(2) var<storage, read_write> sacc: array<f32>;

//!include reduce

@compute @workgroup_size(256)
fn sumsq(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < su.n; i += 256u) { acc = fma(sg[i], sg[i], acc); }
  let total = reduce_sum(acc, lid);
  if (lid == 0u) { sacc[0] = sacc[0] + total; }
}

struct AU { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32, maxNorm: f32 }
@group(0) @binding(0) var<uniform> au: AU;
@group(0) @binding(1) var<storage, read> normSq: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> m1: array<f32>;
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;

@compute @workgroup_size(256)
fn update(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= au.n) { return; }
  var c = 1.0;
  if (au.maxNorm > 0.0) { c = min(1.0, au.maxNorm / (sqrt(normSq[0]) + 1e-6)); }
  let g = c * grad[i];
  let m = au.beta1 * m1[i] + (1.0 - au.beta1) * g;
  let v = au.beta2 * m2[i] + (1.0 - au.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  param[i] = param[i] * (1.0 - au.lr * au.wd) - au.lr * (m / au.bc1) / (sqrt(v / au.bc2) + au.eps);
}
