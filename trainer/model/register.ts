/**
 * Registers the `builtin:` prefix with agent/'s policy registry (agent/ never imports trainer/).
 * `builtin:<checkpoint folder>[#temperature=0.7,topP=0.9,topK=20,seed=1,device=cpu,nested=stop]`,
 * where the folder is a `gym train` checkpoint or a Hugging Face Qwen3 folder (then also
 * `context=<tokens>`, the KV-cache length, and `adapter=<PEFT folder>`, merged on load; sampling
 * defaults to the folder's generation_config.json; a checkpoint's, to Qwen3's settings per mode,
 * as its run's held-out evaluation sampled; sampling options given apply to both modes); the
 * device (cpu | webgpu | auto | host) defaults to `GYM_DEVICE`, else `auto` (a hardware GPU, else cpu);
 * `nested` (stop | continue, default stop) says whether a `<tool_call>` inside an open call ends the turn;
 * `decode` (single | batched) says how one-token steps run (`ModelRunner.decodeRows`): the default is
 * `single` when the caller runs one episode at a time (`--concurrency 1`), else `batched`.
 */
import { parseOptionList, registerPolicyFactory } from '../../agent/policies/index.js';
import { requestedDevice } from '../../gpu/index.js';
import { loadBuiltinPolicy } from './policy.js';

export function registerBuiltinPolicy(): void {
  registerPolicyFactory('builtin', async (rest, ctx) => {
    const hash = rest.indexOf('#');
    const dir = hash < 0 ? rest : rest.slice(0, hash);
    if (!dir) throw new RangeError('builtin policy needs a checkpoint folder: builtin:runs/<id>/checkpoints/final');
    const o = hash < 0 ? {} : parseOptionList(rest.slice(hash + 1));
    const known = ['temperature', 'topP', 'topK', 'seed', 'device', 'nested', 'context', 'adapter', 'decode'];
    const unknown = Object.keys(o).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new RangeError(`builtin policy option ${unknown.join(', ')} is not one of ${known.join(', ')}`);
    const num = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
    const sampling = Object.fromEntries(
      Object.entries({ temperature: num('temperature'), topP: num('topP'), topK: num('topK') }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    const device = o.device === undefined ? requestedDevice() : String(o.device);
    if (device === 'host')
      throw new RangeError(
        'builtin policy device=host is gone: the plain-loop model is a test reference now; use device=cpu (the same math on the gpu/ CPU backend)',
      );
    if (!['cpu', 'webgpu', 'auto'].includes(device))
      throw new RangeError(`builtin policy device=${device} is not one of cpu, webgpu, auto`);
    const nested = o.nested === undefined ? 'stop' : String(o.nested);
    if (nested !== 'stop' && nested !== 'continue')
      throw new RangeError(`builtin policy nested=${nested} is not one of stop, continue`);
    const decode = o.decode === undefined ? (ctx.concurrency === 1 ? 'single' : 'batched') : String(o.decode);
    if (decode !== 'single' && decode !== 'batched')
      throw new RangeError(`builtin policy decode=${decode} is not one of single, batched`);
    return (
      await loadBuiltinPolicy(dir, {
        decodeRows: decode,
        sampling,
        seed: num('seed') ?? ctx.seed,
        device: device as 'cpu',
        stopOnNestedCall: nested === 'stop',
        maxSeqLen: num('context'),
        adapter: o.adapter === undefined ? undefined : String(o.adapter),
      })
    ).policy;
  });
}
