setTimeout(() => { console.log("WATCHDOG: hung"); process.exit(2); }, 30000).unref();
import { JsSandbox } from './tools/sandbox/index.js';
const codes = [
  `const e1 = new Error('x'); Object.defineProperty(e1, 'stack', { get() { while (true) {} } }); throw e1`,
  `const e2 = new Error('y'); Object.defineProperty(e2, 'message', { get() { while (true) {} } }); throw e2`,
  `throw new Proxy(new Error('z'), { get() { while (true) {} }, getOwnPropertyDescriptor() { while (true) {} } })`,
  `class E extends Error { get name() { while (true) {} } }; throw new E('w')`,
  `throw { get message() { while (true) {} } }`,
];
const sb = new JsSandbox({ timeoutMs: 300 });
const code = codes[Number(process.argv[2])];
const r = await sb.run(code);
sb.dispose();
const c0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, 2000));
const c1 = process.cpuUsage(c0);
console.log(process.argv[2], r.status, 'cpu ms during 2s idle', (c1.user + c1.system) / 1000);
process.exit(0);
