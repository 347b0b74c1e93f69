// Softmax and log-softmax over rows of length C, forward and backward.
//   softmax:              y = exp(x - max) / Σ exp(x - max)
//   log_softmax:          y = x - max - log Σ exp(x - max)
//   softmax_backward:     dx = y * (dy - Σ dy*y)
//   log_softmax_backward: dx = dy - exp(y) * Σ dy
// Workgroup 256 = one row: strided loops plus tree reductions in workgroup memory.

struct U { R: u32, C: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> yb: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

//!include reduce

fn row_of(wid: vec3u, nwg: vec3u) -> u32 { return wid.x + wid.y * nwg.x; }

fn forward(row: u32, lid: u32, log_out: bool) {
  let o = row * u.C;
  var mx = -3.0e38;
  for (var c = lid; c < u.C; c += 256u) { mx = max(mx, x[o + c]); }
  mx = reduce_max(mx, lid);
  var s = 0.0;
  for (var c = lid; c < u.C; c += 256u) { s += exp(x[o + c] - mx); }
  s = reduce_sum(s, lid);
  if (log_out) {
    let l = mx + log(s);
    for (var c = lid; c < u.C; c += 256u) { y[o + c] = x[o + c] - l; }
  } else {
    for (var c = lid; c < u.C; c += 256u) { y[o + c] = exp(x[o + c] - mx) / s; }
  }
}

@compute @workgroup_size(256)
fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.R) { return; }
  forward(row, lid, false);
}

@compute @workgroup_size(256)
fn log_softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.R) { return; }
  forward(row, lid, true);
}

@compute @workgroup_size(256)
fn softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.R) { return; }
  let o = row * u.C;
  var s = 0.0;
  for (var c = lid; c < u.C; c += 256u) { s += dy[o + c] * yb[o + c]; }
  s = reduce_sum(s, lid);
  for (var c = lid; c < u.C; c += 256u) { dx[o + c] = yb[o + c] * (dy[o + c] - s); }
}

@compute @workgroup_size(256)
fn log_softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= u.R) { return; }
  let o = row * u.C;
  var s = 0.0;
  for (var c = lid; c < u.C; c += 256u) { s += dy[o + c]; }
  s = reduce_sum(s, lid);
  for (var c = lid; c < u.C; c += 256u) { dx[o + c] = dy[o + c] - exp(yb[o + c]) * s; }
}
