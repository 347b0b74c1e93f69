// Rotary embedding, rotate-half pairs (i, i + hd/2), angle from a host-computed table:
//   y[i]   = x[i] c - x[i+h] s,   y[i+h] = x[i+h] c + x[i] s,   c = table[p, i], s = sign * table[p, h+i]
// sign = +1 forward, -1 backward (the inverse rotation). x: (N, H, hd), positions: (N).
// Workgroup 256, one thread per (row, head, pair); grid (x, y) linearized.

struct U { N: u32, H: u32, hd: u32, maxPos: u32, sign: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = u.hd / 2u;
  let idx = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (idx >= u.N * u.H * h) { return; }
  let i = idx % h;
  let nh = idx / h;
  let n = nh / u.H;
  let p = u32(clamp(pos[n], 0, i32(u.maxPos) - 1));
  let c = table[p * u.hd + i];
  let s = u.sign * table[p * u.hd + h + i];
  let o = nh * u.hd;
  let a = x[o + i];
  let b = x[o + i + h];
  y[o + i] = a * c - b * s;
  y[o + i + h] = b * c + a * s;
}
