// Causal grouped-query attention. q: (B,T,Hq,hd)  k, v: (B,S,Hkv,hd), rows [0, kvLen) live;
// query head h reads kv head h / (Hq/Hkv); query t sits at position past + t, past = kvLen - T,
// and sees keys j <= past + t.
//   forward:          s_j = scale q·k_j; o = Σ softmax(s)_j v_j; lse = log Σ exp(s_j)
//                     (online softmax: one pass over keys with a running max and rescaling)
//   backward_rowdot:  D_t = dO_t · o_t
//   backward_dq:      dq_t = scale Σ_j P_tj (dO_t·v_j - D_t) k_j,        P_tj = exp(s_tj - lse_t)
//   backward_dkv:     dk_j = scale Σ_{h in group, t} P_tj (dO_t·v_j - D_t) q_t;  dv_j = Σ P_tj dO_t
// Workgroup 64, one thread per query row (forward, rowdot, dq) or per key row (dkv), so every
// output is written by exactly one thread. head_dim <= 128 (rows held in private arrays).
// A tiled flash-attention kernel (keys staged in workgroup memory) is the next step on real GPUs.

struct U { B: u32, T: u32, S: u32, Hq: u32, Hkv: u32, hd: u32, kvLen: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// forward
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse_out: array<f32>;
// backward_dq / backward_dkv
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> Drow: array<f32>;
@group(0) @binding(6) var<storage, read> dO: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
// backward_rowdot
@group(0) @binding(1) var<storage, read> rd_o: array<f32>;
@group(0) @binding(2) var<storage, read> rd_dO: array<f32>;
@group(0) @binding(3) var<storage, read_write> rd_D: array<f32>;

const MAXD = 128u;

fn lin(wid: vec3u, nwg: vec3u, lid: u32) -> u32 { return (wid.x + wid.y * nwg.x) * 64u + lid; }
fn qbase(b: u32, t: u32, h: u32) -> u32 { return ((b * u.T + t) * u.Hq + h) * u.hd; }
fn kbase(b: u32, j: u32, kh: u32) -> u32 { return ((b * u.S + j) * u.Hkv + kh) * u.hd; }

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = lin(wid, nwg, lid);
  if (i >= u.B * u.Hq * u.T) { return; }
  let t = i % u.T;
  let h = (i / u.T) % u.Hq;
  let b = i / (u.T * u.Hq);
  let kh = h / (u.Hq / u.Hkv);
  let qo = qbase(b, t, h);
  let last = min(u.kvLen - u.T + t, u.kvLen - 1u);
  var qr: array<f32, MAXD>;
  var acc: array<f32, MAXD>;
  for (var d = 0u; d < u.hd; d++) { qr[d] = q[qo + d]; acc[d] = 0.0; }
  var m = -3.0e38;
  var l = 0.0;
  for (var j = 0u; j <= last; j++) {
    let ko = kbase(b, j, kh);
    var s = 0.0;
    for (var d = 0u; d < u.hd; d++) { s = fma(qr[d], k[ko + d], s); }
    s *= u.scale;
    let mNew = max(m, s);
    let corr = exp(m - mNew);
    let p = exp(s - mNew);
    l = l * corr + p;
    for (var d = 0u; d < u.hd; d++) { acc[d] = fma(p, v[ko + d], acc[d] * corr); }
    m = mNew;
  }
  for (var d = 0u; d < u.hd; d++) { o[qo + d] = acc[d] / l; }
  lse_out[(b * u.Hq + h) * u.T + t] = m + log(l);
}

@compute @workgroup_size(64)
fn backward_rowdot(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = lin(wid, nwg, lid);
  if (i >= u.B * u.Hq * u.T) { return; }
  let t = i % u.T;
  let h = (i / u.T) % u.Hq;
  let b = i / (u.T * u.Hq);
  let qo = qbase(b, t, h);
  var s = 0.0;
  for (var d = 0u; d < u.hd; d++) { s = fma(rd_o[qo + d], rd_dO[qo + d], s); }
  rd_D[(b * u.Hq + h) * u.T + t] = s;
}

@compute @workgroup_size(64)
fn backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = lin(wid, nwg, lid);
  if (i >= u.B * u.Hq * u.T) { return; }
  let t = i % u.T;
  let h = (i / u.T) % u.Hq;
  let b = i / (u.T * u.Hq);
  let kh = h / (u.Hq / u.Hkv);
  let qo = qbase(b, t, h);
  let row = (b * u.Hq + h) * u.T + t;
  let L = lse[row];
  let Dt = Drow[row];
  let last = min(u.kvLen - u.T + t, u.kvLen - 1u);
  var qr: array<f32, MAXD>;
  var gr: array<f32, MAXD>;
  var acc: array<f32, MAXD>;
  for (var d = 0u; d < u.hd; d++) { qr[d] = q[qo + d]; gr[d] = dO[qo + d]; acc[d] = 0.0; }
  for (var j = 0u; j <= last; j++) {
    let ko = kbase(b, j, kh);
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < u.hd; d++) { s = fma(qr[d], k[ko + d], s); dp = fma(gr[d], v[ko + d], dp); }
    let p = exp(s * u.scale - L);
    let ds = p * (dp - Dt) * u.scale;
    for (var d = 0u; d < u.hd; d++) { acc[d] = fma(ds, k[ko + d], acc[d]); }
  }
  for (var d = 0u; d < u.hd; d++) { dq[qo + d] = acc[d]; }
}

@compute @workgroup_size(64)
fn backward_dkv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = lin(wid, nwg, lid);
  if (i >= u.B * u.Hkv * u.kvLen) { return; }
  let j = i % u.kvLen;
  let kh = (i / u.kvLen) % u.Hkv;
  let b = i / (u.kvLen * u.Hkv);
  let G = u.Hq / u.Hkv;
  let past = u.kvLen - u.T;
  let ko = kbase(b, j, kh);
  var kr: array<f32, MAXD>;
  var vr: array<f32, MAXD>;
  var gk: array<f32, MAXD>;
  var gv: array<f32, MAXD>;
  for (var d = 0u; d < u.hd; d++) { kr[d] = k[ko + d]; vr[d] = v[ko + d]; gk[d] = 0.0; gv[d] = 0.0; }
  var t0 = 0u;
  if (j > past) { t0 = j - past; }
  for (var g = 0u; g < G; g++) {
    let h = kh * G + g;
    for (var t = t0; t < u.T; t++) {
      let qo = qbase(b, t, h);
      let row = (b * u.Hq + h) * u.T + t;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < u.hd; d++) { s = fma(q[qo + d], kr[d], s); dp = fma(dO[qo + d], vr[d], dp); }
      let p = exp(s * u.scale - lse[row]);
      let ds = p * (dp - Drow[row]) * u.scale;
      for (var d = 0u; d < u.hd; d++) {
        gk[d] = fma(ds, q[qo + d], gk[d]);
        gv[d] = fma(p, dO[qo + d], gv[d]);
      }
    }
  }
  for (var d = 0u; d < u.hd; d++) { dk[ko + d] = gk[d]; dv[ko + d] = gv[d]; }
}
