import { describe, expect, it } from 'vitest';
import { buildForNode, IsolatedVmUnavailableError, loadIsolatedVm } from '../../../tools/sandbox/index.js';
import { unavailableMessage } from '../../../tools/sandbox/ivm.js';

// Node's own text when an addon was built for another Node (here: built on 20, loaded on 24).
const ABI_MISMATCH =
  "The module '/app/node_modules/isolated-vm-6/out/isolated_vm.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 137. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).";

describe('choosing the isolated-vm build for the running Node', () => {
  it('uses isolated-vm 5 on Node 20 and isolated-vm 6 on Node 22 and 24', () => {
    expect(buildForNode('v20.19.1')?.pkg).toBe('isolated-vm-5');
    expect(buildForNode('v22.12.0')?.pkg).toBe('isolated-vm-6');
    expect(buildForNode('v24.22.3')?.pkg).toBe('isolated-vm-6');
    expect(buildForNode('v26.0.0')).toBeUndefined();
    expect(buildForNode('v23.1.0')).toBeUndefined();
  });

  it('names the Node a mismatched binary was built for and the command that fixes it', () => {
    const msg = unavailableMessage('isolated-vm-6', ABI_MISMATCH, 'v24.22.3');
    expect(msg).toMatch(/was built for Node 20, but this is Node v24\.22\.3 \(NODE_MODULE_VERSION 137\)/);
    expect(msg).toMatch(/run `npm rebuild isolated-vm-6` with this Node/);
  });

  it('says to run npm ci with this Node when the build for it was never installed', () => {
    const msg = unavailableMessage('isolated-vm-6', "Cannot find module 'isolated-vm-6'", 'v24.22.3');
    expect(msg).toMatch(/isolated-vm for Node v24\.22\.3 \(the optional dependency isolated-vm-6\) is not installed/);
    expect(msg).toMatch(/Run `npm ci` with this Node/);
  });

  it('lists the supported Node versions when this Node has no build at all', () => {
    expect(unavailableMessage(undefined, '', 'v26.0.0')).toMatch(
      /has no build for Node v26\.0\.0: use Node 20, 22, 24 .*then run `npm ci`/,
    );
  });

  it('loads the build for this Node, and gives the same module on every call', () => {
    let ivm: unknown;
    try {
      ivm = loadIsolatedVm();
    } catch (err) {
      // Only this error class, with its message, ever comes out of the loader.
      expect(err).toBeInstanceOf(IsolatedVmUnavailableError);
      throw err;
    }
    expect(loadIsolatedVm()).toBe(ivm);
  });
});
