/** Headless Chromium through playwright-core: a browser pool and one tab per episode. */
export { BrowserPool, BrowserUnavailableError, CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable } from './pool.js';
export type { BrowserPoolOptions, PooledContext } from './pool.js';
export { BrowserTab, TabError, resolveLink } from './tab.js';
export type { FindResult, PageLink, PageView, TabOptions } from './tab.js';
