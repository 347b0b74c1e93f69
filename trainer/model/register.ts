/**
 * Registers the `builtin:` prefix with agent/'s policy registry (agent/ never imports trainer/).
 * `builtin:<checkpoint folder>[#temperature=0.7,topP=0.9,topK=20,seed=1]`.
 */
import { parseOptionList, registerPolicyFactory } from '../../agent/policies/index.js';
import { loadBuiltinPolicy } from './policy.js';

export function registerBuiltinPolicy(): void {
  registerPolicyFactory('builtin', (rest, ctx) => {
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
    return loadBuiltinPolicy(dir, { sampling, seed: num('seed') ?? ctx.seed }).policy;
  });
}
