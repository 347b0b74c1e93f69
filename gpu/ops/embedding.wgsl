// Embedding gather and scatter-add.
//   forward:  out[n, d] = table[ids[n], d]            (0 for ids outside [0, V))
//             workgroup 256, one thread per output element, grid (x, y) linearized.
//   backward: dtable[ids[n], d] += dout[n, d]
//             workgroup 64, one thread per column d looping over n in order: each address is
//             written by one thread only, so no float atomics are needed and sums are deterministic.

struct U { N: u32, D: u32, V: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@group(0) @binding(1) var<storage, read> bw_ids: array<i32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= u.N * u.D) { return; }
  let n = i / u.D;
  let d = i % u.D;
  let id = ids[n];
  var v = 0.0;
  if (id >= 0 && u32(id) < u.V) { v = table[u32(id) * u.D + d]; }
  out[i] = v;
}

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3u) {
  let d = gid.x;
  if (d >= u.D) { return; }
  for (var n = 0u; n < u.N; n++) {
    let id = bw_ids[n];
    if (id >= 0 && u32(id) < u.V) {
      let o = u32(id) * u.D + d;
      dtable[o] = dtable[o] + dout[n * u.D + d];
    }
  }
}
