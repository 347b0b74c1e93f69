/**
 * Entry of an environment worker thread (see `envs/core/worker.ts`): builds the environment named in
 * `workerData` (a registered id with options, after loading the caller's env modules), says `ready`, then serves each
 * `MessagePort` it is sent as one MCP session with `createEpisodeServer`.
 */
import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { createEpisodeServer } from './core/server.js';
import type { EnvDefinition } from './core/types.js';
import { type FromWorker, MessagePortTransport, type ToWorker, type WorkerEnvSpec } from './core/worker.js';
import { buildEnv, loadEnvModules } from './index.js';

async function load(spec: WorkerEnvSpec): Promise<EnvDefinition> {
  if (spec.modules?.length) await loadEnvModules(spec.modules);
  return buildEnv(spec.env, spec.options ?? {});
}

async function main(): Promise<void> {
  if (isMainThread || !parentPort) throw new Error('envs/worker-host runs only as a worker thread (EnvWorkerPool starts it)');
  const port = parentPort;
  const spec = workerData as WorkerEnvSpec;
  let def: EnvDefinition;
  try {
    def = await load(spec);
  } catch (err) {
    port.postMessage({ type: 'failed', error: (err as Error)?.message ?? String(err) } satisfies FromWorker);
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m?.type !== 'session') return;
    const server = createEpisodeServer(def, { ...(spec.session ?? {}) });
    void server.connect(new MessagePortTransport(m.port as MessagePort)).catch(() => m.port.close());
  });
  port.postMessage({ type: 'ready', id: def.id, version: def.version } satisfies FromWorker);
}

void main();
