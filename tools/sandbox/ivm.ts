/**
 * Loads the isolated-vm build that matches the running Node.
 *
 * isolated-vm's major version follows Node's V8: 5.x builds for Node 18-20, 6.x for Node 22 and 24
 * (it ships prebuilt binaries for both). One package.json serves every supported Node by installing
 * each major as an optional dependency under its own name (`isolated-vm-5`, `isolated-vm-6`, npm
 * aliases): npm skips a major whose `engines` exclude the running Node, and a major that fails to
 * build is an optional failure, not a failed install. This module picks the one for this Node and
 * requires only that one: two isolated-vm builds loaded into one process abort it (their native
 * registries collide), so a "try the next one" loop is not safe.
 *
 * The types below are the part of isolated-vm's API the sandbox uses, declared here because which
 * package (and so which bundled `.d.ts`) is installed depends on the Node that ran `npm ci`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// The API surface the sandbox uses (isolated-vm 5 and 6 agree on it)

export interface IvmTransfer {
  readonly __ivmTransfer?: never;
}

export interface IvmReference<T = unknown> {
  get(property: string, options?: { reference?: boolean }): Promise<unknown>;
  getSync(property: string, options?: { reference?: boolean }): unknown;
  apply(receiver: unknown, args?: unknown[], options?: IvmApplyOptions): Promise<unknown>;
  applySync(receiver: unknown, args?: unknown[], options?: IvmApplyOptions): unknown;
  derefInto(): IvmTransfer;
  release(): void;
  /** Phantom: the referenced value's type on the isolate side. */
  readonly __type?: T;
}

export interface IvmApplyOptions {
  timeout?: number;
  result?: { copy?: boolean; reference?: boolean; promise?: boolean };
}

export interface IvmRunOptions {
  timeout?: number;
  reference?: boolean;
  copy?: boolean;
}

export interface IvmContext {
  release(): void;
}

export interface IvmScript {
  run(context: IvmContext, options?: IvmRunOptions): Promise<unknown>;
  runSync(context: IvmContext, options?: IvmRunOptions): unknown;
  release(): void;
}

export interface IvmCompileOptions {
  filename?: string;
  lineOffset?: number;
  columnOffset?: number;
}

export interface IvmIsolate {
  readonly isDisposed: boolean;
  compileScript(code: string, options?: IvmCompileOptions): Promise<IvmScript>;
  compileScriptSync(code: string, options?: IvmCompileOptions): IvmScript;
  createContext(): Promise<IvmContext>;
  createContextSync(): IvmContext;
  /** Stops whatever runs in the isolate (at V8's next interrupt check) and frees it. */
  dispose(): void;
}

export interface IsolatedVm {
  Isolate: new (options?: { memoryLimit?: number }) => IvmIsolate;
}

// ---------------------------------------------------------------------------------------------
// Which build serves which Node

/** One installed name per isolated-vm major, newest first, with the Node majors it is for (as `engines`). */
export const ISOLATED_VM_BUILDS: readonly { pkg: string; major: number; nodeMajors: readonly number[] }[] = [
  // 6.x declares engines >=22 and ships prebuilds for ABI 127 (Node 22) and 137 (Node 24).
  { pkg: 'isolated-vm-6', major: 6, nodeMajors: [22, 24] },
  // 5.x declares engines >=18 but does not compile against Node 24's V8, and 6.x replaces it on 22.
  { pkg: 'isolated-vm-5', major: 5, nodeMajors: [20] },
];

/** Node major of each NODE_MODULE_VERSION (the ABI a native addon is built for). */
const NODE_OF_ABI: Record<string, number> = { 108: 18, 111: 19, 115: 20, 120: 21, 127: 22, 131: 23, 137: 24, 141: 25, 147: 26 };

/** No usable isolated-vm for this Node: the message says what to run. */
export class IsolatedVmUnavailableError extends Error {
  override name = 'IsolatedVmUnavailableError';
  /** A fault of the install, not of the code a policy runs (envs/core `isEnvFault`): an episode aborts. */
  readonly envFault = true;
}

/** The build for `nodeVersion` (e.g. `v24.1.0`), or undefined when this Node is not supported. */
export function buildForNode(nodeVersion: string): (typeof ISOLATED_VM_BUILDS)[number] | undefined {
  const major = Number(/^v?(\d+)/.exec(nodeVersion)?.[1]);
  return ISOLATED_VM_BUILDS.find((b) => b.nodeMajors.includes(major));
}

/**
 * The message for a failed load: names the Node the binary was built for, when Node's own error
 * says so, and the command that fixes it.
 */
export function unavailableMessage(pkg: string | undefined, cause: string, node = process.version): string {
  const supported = ISOLATED_VM_BUILDS.flatMap((b) => b.nodeMajors).sort((a, b) => a - b);
  if (!pkg)
    return `the JavaScript sandbox (isolated-vm) has no build for Node ${node}: use Node ${supported.join(', ')} (the versions package.json's engines name), then run \`npm ci\`.`;
  const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(cause);
  if (abi) {
    const built = NODE_OF_ABI[abi[1] as string];
    return `isolated-vm (${pkg}) was built for Node ${built ?? `with NODE_MODULE_VERSION ${abi[1]}`}, but this is Node ${node} (NODE_MODULE_VERSION ${abi[2]}): run \`npm rebuild ${pkg}\` with this Node, or \`npm ci\` after switching Node versions.`;
  }
  if (/Cannot find module/.test(cause))
    return `isolated-vm for Node ${node} (the optional dependency ${pkg}) is not installed: node_modules was installed with another Node version, or its build failed. Run \`npm ci\` with this Node (the install log shows why ${pkg} was skipped).`;
  return `isolated-vm (${pkg}) failed to load on Node ${node}: ${cause.split('\n')[0]}. Run \`npm rebuild ${pkg}\` with this Node, or \`npm ci\`.`;
}

// ---------------------------------------------------------------------------------------------
// Loading (once per process)

const require = createRequire(import.meta.url);
let loaded: { ivm: IsolatedVm; pkg: string } | undefined;
let failure: IsolatedVmUnavailableError | undefined;

/**
 * isolated-vm for this Node, loaded on first use. Throws `IsolatedVmUnavailableError` (the same one
 * on every call) when this Node has no working build.
 */
export function loadIsolatedVm(): IsolatedVm {
  if (loaded) return loaded.ivm;
  if (failure) throw failure;
  const build = buildForNode(process.version);
  if (!build) {
    failure = new IsolatedVmUnavailableError(unavailableMessage(undefined, ''));
    throw failure;
  }
  try {
    loaded = { ivm: require(build.pkg) as IsolatedVm, pkg: build.pkg };
    return loaded.ivm;
  } catch (err) {
    failure = new IsolatedVmUnavailableError(unavailableMessage(build.pkg, (err as Error).message ?? String(err)));
    throw failure;
  }
}

/** Which isolated-vm this Node uses: package name and version, without loading the binary. */
export function isolatedVmInfo(): { pkg: string; version: string } | undefined {
  const build = buildForNode(process.version);
  if (!build) return undefined;
  try {
    const main = require.resolve(build.pkg);
    let dir = dirname(main);
    while (!existsSync(join(dir, 'package.json')) && dir !== dirname(dir)) dir = dirname(dir);
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
    return { pkg: build.pkg, version };
  } catch {
    return undefined;
  }
}
