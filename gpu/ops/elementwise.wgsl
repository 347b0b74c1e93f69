// Elementwise helpers:  add: z = x + y;  axpy: y += alpha x;  scale: y = alpha x;  fill: y = alpha;
// copy_range: yo[dstOffset + i] = x[srcOffset + i].
// Workgroup 256, one thread per element; grid (x, y) linearized.

struct U { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> yo: array<f32>;
@group(0) @binding(1) var<storage, read_write> fo: array<f32>;

fn idx(wid: vec3u, nwg: vec3u, lid: u32) -> u32 { return (wid.x + wid.y * nwg.x) * 256u + lid; }

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = idx(wid, nwg, lid);
  if (i < u.n) { z[i] = x[i] + y[i]; }
}

@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = idx(wid, nwg, lid);
  if (i < u.n) { yo[i] = fma(u.alpha, x[i], yo[i]); }
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = idx(wid, nwg, lid);
  if (i < u.n) { yo[i] = u.alpha * x[i]; }
}

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = idx(wid, nwg, lid);
  if (i < u.n) { fo[i] = u.alpha; }
}

struct CR { n: u32, srcOffset: u32, dstOffset: u32 }
@group(0) @binding(0) var<uniform> cr: CR;

@compute @workgroup_size(256)
fn copy_range(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = idx(wid, nwg, lid);
  if (i < cr.n) { yo[cr.dstOffset + i] = x[cr.srcOffset + i]; }
}
