import { Rng } from '../tools/index.js';
const U = 25000, C = 40, B = 200;
const rngT = new Rng(1);
const rowMajor = new Float64Array(U * C);
for (let i = 0; i < rowMajor.length; i++) rowMajor[i] = Math.floor(rngT.next() * 10);
const colMajor = new Float64Array(U * C);
for (let u = 0; u < U; u++) for (let j = 0; j < C; j++) colMajor[j * U + u] = rowMajor[u * C + j];
function cpu(f: () => number): string { const a = process.cpuUsage(); const t = performance.now(); const r = f(); const b = process.cpuUsage(a); return `wall ${(performance.now() - t).toFixed(0)}ms cpu ${(b.user / 1000).toFixed(0)}ms (${r.toFixed(0)})`; }
function draws(): Int32Array { const w = new Int32Array(U); const r = new Rng(2); for (let b = 0; b < 1; b++) for (let i = 0; i < U; i++) w[Math.floor(r.next() * U)]++; return w; }
console.log('rng only', cpu(() => { const r = new Rng(3); let s = 0; for (let b = 0; b < B; b++) for (let i = 0; i < U; i++) s += Math.floor(r.next() * U); return s; }));
console.log('A gather', cpu(() => { const r = new Rng(3); const sums = new Float64Array(C); let t = 0; for (let b = 0; b < B; b++) { sums.fill(0); for (let i = 0; i < U; i++) { const base = Math.floor(r.next() * U) * C; for (let j = 0; j < C; j++) sums[j] += rowMajor[base + j]; } t += sums[0]; } return t; }));
console.log('B colmajor', cpu(() => { const r = new Rng(3); const w = new Float64Array(U); let t = 0; for (let b = 0; b < B; b++) { w.fill(0); for (let i = 0; i < U; i++) w[Math.floor(r.next() * U)] += 1; for (let j = 0; j < C; j++) { let s = 0; const off = j * U; for (let u = 0; u < U; u++) s += w[u] * colMajor[off + u]; t += s; } } return t; }));
console.log('C rowscan', cpu(() => { const r = new Rng(3); const w = new Float64Array(U); const sums = new Float64Array(C); let t = 0; for (let b = 0; b < B; b++) { w.fill(0); sums.fill(0); for (let i = 0; i < U; i++) w[Math.floor(r.next() * U)] += 1; for (let u = 0; u < U; u++) { const x = w[u]; if (x === 0) continue; const base = u * C; for (let j = 0; j < C; j++) sums[j] += x * rowMajor[base + j]; } t += sums[0]; } return t; }));
const f32 = new Float32Array(colMajor);
console.log('D colmajor f32', cpu(() => { const r = new Rng(3); const w = new Float32Array(U); let t = 0; for (let b = 0; b < B; b++) { w.fill(0); for (let i = 0; i < U; i++) w[Math.floor(r.next() * U)] += 1; for (let j = 0; j < C; j++) { let s = 0; const off = j * U; for (let u = 0; u < U; u++) s += w[u] * f32[off + u]; t += s; } } return t; }));
