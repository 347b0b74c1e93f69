// Token log-prob gather / cross-entropy with per-row entropy, at temperature τ (it = 1/τ):
//   z = logits * it; lse = log Σ exp(z); H = lse - Σ p z; out = sign * (z[id] - lse) (0 if id < 0)
//   backward: dlogits_v = (sign*dout*(1[v=id] - p_v) - dH * p_v (log p_v + H)) * it
// targetsOnly: a row with id < 0 is not computed (out = lse = H = 0). Backward writes a zero row
// without reading the logits where both gradient terms are 0.
// Workgroup 256 = one row: strided loops plus tree reductions in workgroup memory.

struct U { N: u32, V: u32, invTemp: f32, sign: f32, hasDH: u32, targetsOnly: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
// forward
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> ent_out: array<f32>;
// backward
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> ent: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> dH: array<f32>;
@group(0) @binding(7) var<storage, read_write> dz: array<f32>;

//!include reduce

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= u.N) { return; }
  let o = n * u.V;
  // a skipped row runs empty loops rather than returning: the reductions' barriers stay uniform
  let skip = u.targetsOnly != 0u && ids[n] < 0;
  var cols = u.V;
  if (skip) { cols = 0u; }
  var mx = -3.0e38;
  for (var c = lid; c < cols; c += 256u) { mx = max(mx, logits[o + c] * u.invTemp); }
  mx = reduce_max(mx, lid);
  var s = 0.0;
  var sz = 0.0;
  for (var c = lid; c < cols; c += 256u) {
    let z = logits[o + c] * u.invTemp;
    let e = exp(z - mx);
    s += e;
    sz += e * z;
  }
  s = reduce_sum(s, lid);
  sz = reduce_sum(sz, lid);
  if (lid == 0u && skip) {
    lse_out[n] = 0.0;
    ent_out[n] = 0.0;
    out[n] = 0.0;
  } else if (lid == 0u) {
    let l = mx + log(s);
    lse_out[n] = l;
    ent_out[n] = l - sz / s;
    let id = ids[n];
    var r = 0.0;
    if (id >= 0 && u32(id) < u.V) { r = u.sign * (logits[o + u32(id)] * u.invTemp - l); }
    out[n] = r;
  }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= u.N) { return; }
  let o = n * u.V;
  let id = ids[n];
  var g = 0.0;
  if (id >= 0 && u32(id) < u.V) { g = u.sign * dout[n]; }
  var dh = 0.0;
  if (u.hasDH != 0u) { dh = dH[n]; }
  if (g == 0.0 && dh == 0.0) {
    for (var c = lid; c < u.V; c += 256u) { dz[o + c] = 0.0; }
    return;
  }
  let L = lse[n];
  let H = ent[n];
  for (var c = lid; c < u.V; c += 256u) {
    let lp = logits[o + c] * u.invTemp - L;
    let p = exp(lp);
    var onehot = 0.0;
    if (i32(c) == id) { onehot = 1.0; }
    dz[o + c] = (g * (onehot - p) - dh * p * (lp + H)) * u.invTemp;
  }
}
