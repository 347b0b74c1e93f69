import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { add } from '../../gpu/index.js';
import { buildForNode, isolatedVmInfo, loadIsolatedVm } from '../../tools/sandbox/index.js';
import { webgpuOrSkip } from '../gpu/harness.js';

// Each native dependency loads and computes on the Node running the tests. CI runs the suite on
// every supported Node, so a build missing for one of them fails there. Only a WebGPU adapter can be
// genuinely absent from a machine (no Vulkan driver); outside CI that case is skipped with the reason.

describe(`native dependencies on Node ${process.version}`, () => {
  it('isolated-vm: the build for this Node loads and runs code in an isolate', async () => {
    const build = buildForNode(process.version);
    expect(build, `no isolated-vm build is declared for Node ${process.version}`).toBeDefined();
    const info = isolatedVmInfo();
    expect(info?.pkg).toBe(build?.pkg);
    expect(Number(info?.version.split('.')[0])).toBe(build?.major);
    const ivm = loadIsolatedVm();
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    try {
      const context = await isolate.createContext();
      const script = await isolate.compileScript('[1, 2, 3].map((x) => x * x).join(",") + " " + typeof process');
      expect(await script.run(context, { timeout: 5000 })).toBe('1,4,9 undefined');
    } finally {
      isolate.dispose();
    }
  });

  it('onnxruntime-node: the CPU provider shipped in the package multiplies two matrices', async () => {
    const { onnx } = onnxProto;
    const value = (name: string, dims: number[]) => ({
      name,
      type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    });
    const model = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: {
          name: 'matmul',
          node: [{ opType: 'MatMul', input: ['A', 'B'], output: ['Y'] }],
          input: [value('A', [2, 3]), value('B', [3, 2])],
          output: [value('Y', [2, 2])],
        },
      }),
    ).finish();
    const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
    try {
      // A: (2,3) B: (3,2) -> Y: (2,2)
      const out = await session.run({
        A: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
        B: new ort.Tensor('float32', Float32Array.from([7, 8, 9, 10, 11, 12]), [3, 2]),
      });
      expect(Array.from(out.Y?.data as Float32Array)).toEqual([58, 64, 139, 154]);
    } finally {
      await session.release();
    }
  });

  it('webgpu: the package loads, and the adapter adds two vectors on the device', async (ctx) => {
    // The package (Dawn's Node bindings, prebuilt) must always load; only the adapter may be absent.
    const mod = await import('webgpu');
    expect(typeof mod.create).toBe('function');
    const got = await webgpuOrSkip('the WebGPU computation'); // fails under CI=true without an adapter
    if (!got.dev) return ctx.skip(got.reason);
    const dev = got.dev;
    try {
      const a = dev.upload(new Float32Array([1, 2, 3, 4]), [4]);
      const b = dev.upload(new Float32Array([10, 20, 30, 40]), [4]);
      expect(Array.from(await dev.download(add(dev, a, b)))).toEqual([11, 22, 33, 44]);
    } finally {
      dev.destroy();
    }
  });
});
