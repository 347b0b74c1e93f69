// Shared tree reductions over one workgroup of 256 invocations, for kernels that include this file
// with a line `//!include reduce` (the loader splices it in; WGSL has no includes).
//   reduce_sum(v, lid) = Σ of v over the workgroup;  reduce_max(v, lid) = max of v over the workgroup
// Halving strides 128, 64, ..., 1 in workgroup memory: a fixed summation order, so a row's result has
// the same bits whatever else is dispatched. Every invocation must call it (it has barriers); all get
// the result.

var<workgroup> red: array<f32, 256>;

fn reduce_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
