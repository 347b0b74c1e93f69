/**
 * Registers the `builtin:` prefix with agent/'s policy registry (agent/ never imports trainer/).
 * `builtin:<checkpoint folder>[#temperature=0.7,topP=0.9,topK=20,seed=1,device=cpu]`; the device
 * (cpu | webgpu | auto | host) defaults to `GYM_DEVICE`, else `auto` (a hardware GPU, else cpu).
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
    const num = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
    const sampling = Object.fromEntries(
      Object.entries({ temperature: num('temperature'), topP: num('topP'), topK: num('topK') }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    const device = o.device === undefined ? requestedDevice() : String(o.device);
    if (!['cpu', 'webgpu', 'auto', 'host'].includes(device))
      throw new RangeError(`builtin policy device=${device} is not one of cpu, webgpu, auto, host`);
    return (await loadBuiltinPolicy(dir, { sampling, seed: num('seed') ?? ctx.seed, device: device as 'cpu' })).policy;
  });
}
