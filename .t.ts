import * as g from './gpu/index.js';
const dev = await g.createDevice('webgpu');
const [M, K, N] = [1024, 256, 768];
const a = dev.upload(new Float32Array(M*K).fill(1), [M, K]), b = dev.upload(new Float32Array(K*N).fill(1), [K, N]);
for (let i = 0; i < 4; i++) { const t0 = performance.now(); const y = g.matmul(dev, a, b); await dev.sync(); const ms = performance.now() - t0; console.log((2*M*K*N/ms/1e6).toFixed(2), 'GF'); dev.free(y); }
