// Per-row distillation divergence between the student S = softmax(a) and the teacher T = softmax(b)
// on full-vocabulary logits, skipping rows whose mask is 0 (prompt, tool output: out = aux = 0).
//   kind 0, reverse KL: out = Σ S (log S - log T)                       aux = out
//   kind 1, forward KL: out = Σ T (log T - log S)                       aux = 0
//   kind 2, JSD(β):     M = (1-β) S + β T (0 < β < 1)
//                       out = β Σ T (log T - log M) + (1-β) Σ S (log S - log M)   aux = KL(S || M)
// backward (dout given; the teacher is frozen, so only the student's logits get a gradient):
//   reverse: da_v = dout * S_v (log S_v - log T_v - aux)
//   forward: da_v = dout * (S_v - T_v)
//   JSD:     da_v = dout * (1-β) S_v (log S_v - log M_v - aux)
// Workgroup 256 = one row: strided loops plus tree reductions in workgroup memory.

struct U { N: u32, V: u32, kind: u32, beta: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
// forward
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> aux_out: array<f32>;
// backward
@group(0) @binding(4) var<storage, read> aux: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> da: array<f32>;

//!include reduce

// log-sum-exp of row o of a (first) or b over `cols` columns (0 for a skipped row: uniform barriers)
fn row_lse(o: u32, cols: u32, lid: u32, first: bool) -> f32 {
  var mx = -3.0e38;
  for (var c = lid; c < cols; c += 256u) { mx = max(mx, select(b[o + c], a[o + c], first)); }
  mx = reduce_max(mx, lid);
  var s = 0.0;
  for (var c = lid; c < cols; c += 256u) { s += exp(select(b[o + c], a[o + c], first) - mx); }
  return mx + log(reduce_sum(s, lid));
}

// log M = log((1-β) e^ls + β e^lt), computed around the larger term
fn log_mix(ls: f32, lt: f32) -> f32 {
  let x = ls + log(1.0 - u.beta);
  let y = lt + log(u.beta);
  let m = max(x, y);
  return m + log(exp(x - m) + exp(y - m));
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= u.N) { return; }
  let o = n * u.V;
  let skip = mask[n] == 0.0;
  var cols = u.V;
  if (skip) { cols = 0u; }
  let la = row_lse(o, cols, lid, true);
  let lb = row_lse(o, cols, lid, false);
  var s1 = 0.0; // reverse: KL(S||T); forward: KL(T||S); JSD: KL(T||M)
  var s2 = 0.0; // JSD: KL(S||M)
  for (var c = lid; c < cols; c += 256u) {
    let ls = a[o + c] - la;
    let lt = b[o + c] - lb;
    if (u.kind == 0u) {
      s1 += exp(ls) * (ls - lt);
    } else if (u.kind == 1u) {
      s1 += exp(lt) * (lt - ls);
    } else {
      let lm = log_mix(ls, lt);
      s1 += exp(lt) * (lt - lm);
      s2 += exp(ls) * (ls - lm);
    }
  }
  s1 = reduce_sum(s1, lid);
  s2 = reduce_sum(s2, lid);
  if (lid == 0u) {
    if (skip) {
      out[n] = 0.0;
      aux_out[n] = 0.0;
    } else if (u.kind == 0u) {
      out[n] = s1;
      aux_out[n] = s1;
    } else if (u.kind == 1u) {
      out[n] = s1;
      aux_out[n] = 0.0;
    } else {
      out[n] = u.beta * s1 + (1.0 - u.beta) * s2;
      aux_out[n] = s2;
    }
  }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= u.N) { return; }
  let o = n * u.V;
  var g = dout[n];
  if (mask[n] == 0.0) { g = 0.0; }
  // a row without gradient runs empty reductions rather than returning: the barriers stay uniform
  var cols = u.V;
  if (g == 0.0) { cols = 0u; }
  let la = row_lse(o, cols, lid, true);
  let lb = row_lse(o, cols, lid, false);
  if (g == 0.0) {
    for (var c = lid; c < u.V; c += 256u) { da[o + c] = 0.0; }
    return;
  }
  let k = aux[n];
  for (var c = lid; c < u.V; c += 256u) {
    let ls = a[o + c] - la;
    let lt = b[o + c] - lb;
    let s = exp(ls);
    if (u.kind == 0u) {
      da[o + c] = g * s * (ls - lt - k);
    } else if (u.kind == 1u) {
      da[o + c] = g * (s - exp(lt));
    } else {
      da[o + c] = g * (1.0 - u.beta) * s * (ls - log_mix(ls, lt) - k);
    }
  }
}
