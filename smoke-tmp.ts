setTimeout(() => { console.log("WATCHDOG: hung"); process.exit(2); }, 20000).unref();
import { JsSandbox } from './tools/sandbox/index.js';
const sb = new JsSandbox({ timeoutMs: 300 });
for (const code of [
  `const e1 = new Error('x'); Object.defineProperty(e1, 'stack', { get() { while (true) {} } }); throw e1`,
  `const e2 = new Error('y'); Object.defineProperty(e2, 'message', { get() { while (true) {} } }); throw e2`,
  `throw new Proxy(new Error('z'), { get() { while (true) {} }, getOwnPropertyDescriptor() { while (true) {} } })`,
  `class E extends Error { get name() { while (true) {} } }; throw new E('w')`,
  `throw { get message() { while (true) {} } }`,
  `'done'`,
]) {
  const t0 = performance.now();
  const r = await sb.run(code);
  console.log(r.status, (performance.now() - t0).toFixed(0), (r.error ?? r.value ?? '').slice(0, 100));
}
sb.dispose();
const c0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, 3000));
const c1 = process.cpuUsage(c0);
console.log('cpu ms during 3s idle', (c1.user + c1.system) / 1000);
