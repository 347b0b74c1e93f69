// RMSNorm over rows of length D.
//   forward:     r = 1/sqrt(mean(x²) + eps); y = x * r * w; rstd[row] = r
//   backward:    dx = r * (w*dy - x * r² * mean(w*dy*x))
//   backward_dw: dw[d] += Σ_rows dy * x * r
// forward/backward: workgroup 256 = one row, strided loops plus a tree reduction in workgroup
// memory; backward_dw: workgroup 64, one thread per column.

struct U { R: u32, D: u32, eps: f32, stable: u32 } // stable: CPU backend only
@group(0) @binding(0) var<uniform> u: U;
// forward
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd_out: array<f32>;
// backward (x, w as above)
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
// backward_dw
@group(0) @binding(2) var<storage, read> dw_rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dw_dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;

//!include reduce

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let o = row * u.D;
  var ss = 0.0;
  for (var d = lid; d < u.D; d += 256u) { ss += x[o + d] * x[o + d]; }
  let r = inverseSqrt(reduce_sum(ss, lid) / f32(u.D) + u.eps);
  for (var d = lid; d < u.D; d += 256u) { y[o + d] = x[o + d] * r * w[d]; }
  if (lid == 0u) { rstd_out[row] = r; }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let o = row * u.D;
  let r = rstd[row];
  var dot = 0.0;
  for (var d = lid; d < u.D; d += 256u) { dot += w[d] * dy[o + d] * x[o + d]; }
  let c = r * r * reduce_sum(dot, lid) / f32(u.D);
  for (var d = lid; d < u.D; d += 256u) { dx[o + d] = r * (w[d] * dy[o + d] - x[o + d] * c); }
}

@compute @workgroup_size(64)
fn backward_dw(@builtin(global_invocation_id) gid: vec3u) {
  let d = gid.x;
  if (d >= u.D) { return; }
  var acc = 0.0;
  for (var row = 0u; row < u.R; row++) { acc += dw_dy[row * u.D + d] * x[row * u.D + d] * dw_rstd[row]; }
  dw[d] += acc;
}
