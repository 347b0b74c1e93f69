// Per-row KL(p || q), p = softmax(a), q = softmax(b):  kl = Σ p (log p - log q)
//   backward: da = dkl * p (log p - log q - kl);  db = dkl * (q - p)
// Workgroup 256 = one row: strided loops plus tree reductions in workgroup memory.

struct U { N: u32, V: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> kl_out: array<f32>;
@group(0) @binding(3) var<storage, read> kl: array<f32>;
@group(0) @binding(4) var<storage, read> dkl: array<f32>;
@group(0) @binding(5) var<storage, read_write> da: array<f32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;

//!include reduce

fn row_lse(o: u32, lid: u32, first: bool) -> f32 {
  var mx = -3.0e38;
  for (var c = lid; c < u.V; c += 256u) { mx = max(mx, select(b[o + c], a[o + c], first)); }
  mx = reduce_max(mx, lid);
  var s = 0.0;
  for (var c = lid; c < u.V; c += 256u) { s += exp(select(b[o + c], a[o + c], first) - mx); }
  return mx + log(reduce_sum(s, lid));
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= u.N) { return; }
  let o = n * u.V;
  let la = row_lse(o, lid, true);
  let lb = row_lse(o, lid, false);
  var s = 0.0;
  for (var c = lid; c < u.V; c += 256u) {
    let lp = a[o + c] - la;
    s += exp(lp) * (lp - (b[o + c] - lb));
  }
  s = reduce_sum(s, lid);
  if (lid == 0u) { kl_out[n] = s; }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= u.N) { return; }
  let o = n * u.V;
  let la = row_lse(o, lid, true);
  let lb = row_lse(o, lid, false);
  let g = dkl[n];
  let k = kl[n];
  for (var c = lid; c < u.V; c += 256u) {
    let lp = a[o + c] - la;
    let lq = b[o + c] - lb;
    let p = exp(lp);
    da[o + c] = g * p * (lp - lq - k);
    db[o + c] = g * (exp(lq) - p);
  }
}
