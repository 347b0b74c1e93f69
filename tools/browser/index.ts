/** Headless Chromium through playwright-core: a browser pool and one tab per episode. */

export type { BrowserPoolOptions, PooledContext } from './pool.js';
export { BrowserPool, BrowserUnavailableError, CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable } from './pool.js';
export type { FindResult, PageLink, PageView, TabOptions } from './tab.js';
export { BrowserTab, resolveLink, TabError } from './tab.js';
