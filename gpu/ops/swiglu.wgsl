// SwiGLU: h = silu(g) * u,  silu(g) = g σ(g)
//   backward: dg = dh * u * σ(g) * (1 + g (1 - σ(g))),  du = dh * silu(g)
// Workgroup 256, one thread per element; grid (x, y) linearized.

struct U { n: u32, stable: u32 } // stable: CPU backend only
@group(0) @binding(0) var<uniform> un: U;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= un.n) { return; }
  let x = g[i];
  h[i] = x * sigmoid(x) * up[i];
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= un.n) { return; }
  let x = g[i];
  let s = sigmoid(x);
  dg[i] = dh[i] * up[i] * s * (1.0 + x * (1.0 - s));
  du[i] = dh[i] * x * s;
}
