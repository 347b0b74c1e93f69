/**
 * A pool of headless Chromium browsers driven by playwright-core, handing out one browser context
 * per episode. Contexts (not browsers) per episode keep memory sane: 64 episodes share a couple of
 * browser processes. A browser that dies is relaunched on the next request; its contexts report the
 * failure to their tabs, which ask for a fresh one.
 *
 * Only the system Chromium is used (never a browser download).
 */
import { existsSync } from 'node:fs';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Browser, BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Launch flags: no sandbox (containers), no GPU, no background traffic, no QUIC, /tmp over /dev/shm. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export class BrowserUnavailableError extends Error {
  override name = 'BrowserUnavailableError';
}

export interface BrowserPoolOptions {
  /** Browser processes in the pool. Default 2. */
  size?: number;
  executablePath?: string;
  /** Milliseconds allowed for one browser to start. Default 30000. */
  launchTimeoutMs?: number;
  /**
   * Browser operations (navigations, clicks, page reads) running at once across all tabs; the rest
   * queue. On a small machine, 64 renderers navigating at once thrash the CPU until every call times
   * out; queued calls start their timeout only when they run. Default 4 per browser.
   */
  maxConcurrentOps?: number;
}

export interface PooledContext {
  context: BrowserContext;
  /** Whether the owning browser is still alive. */
  alive(): boolean;
  /** Closes the context; safe to call twice. */
  release(): Promise<void>;
}

interface Slot {
  browser?: Browser;
  launching?: Promise<Browser>;
  contexts: number;
}

/** Whether a usable Chromium is installed; the reason when it is not. */
export function chromiumAvailable(path = CHROMIUM_PATH): { ok: boolean; reason?: string } {
  if (existsSync(path)) return { ok: true };
  return { ok: false, reason: `no Chromium at ${path}: run .ci/system-deps.sh (installs Debian's chromium)` };
}

export class BrowserPool {
  private readonly slots: Slot[];
  private readonly executablePath: string;
  private readonly launchTimeoutMs: number;
  private closed = false;
  private launches = 0;
  private readonly limit: LimitFunction;

  constructor(opts: BrowserPoolOptions = {}) {
    this.slots = Array.from({ length: Math.max(1, opts.size ?? 2) }, () => ({ contexts: 0 }));
    this.executablePath = opts.executablePath ?? CHROMIUM_PATH;
    this.launchTimeoutMs = opts.launchTimeoutMs ?? 30_000;
    this.limit = pLimit(Math.max(1, opts.maxConcurrentOps ?? 4 * this.slots.length));
  }

  /** Runs a browser operation when a slot is free (see `maxConcurrentOps`). */
  schedule<T>(op: () => Promise<T>): Promise<T> {
    return this.limit(op);
  }

  /** Starts every browser now, so the first episodes do not pay for it. */
  async warm(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.browserOf(s)));
  }

  /** A fresh, isolated context on the least-loaded browser. */
  async newContext(): Promise<PooledContext> {
    if (this.closed) throw new BrowserUnavailableError('the browser pool is closed: create a new environment');
    const slot = this.slots.reduce((a, b) => (b.contexts < a.contexts ? b : a));
    slot.contexts++;
    let context: BrowserContext;
    let browser: Browser;
    try {
      browser = await this.browserOf(slot);
      context = await browser.newContext({
        javaScriptEnabled: true,
        serviceWorkers: 'block',
        viewport: { width: 1024, height: 768 },
      });
    } catch (err) {
      slot.contexts--;
      throw err instanceof BrowserUnavailableError
        ? err
        : new BrowserUnavailableError(`could not open a browser context: ${(err as Error).message}`);
    }
    let released = false;
    return {
      context,
      alive: () => browser.isConnected(),
      release: async () => {
        if (released) return;
        released = true;
        slot.contexts--;
        await context.close().catch(() => undefined);
      },
    };
  }

  stats(): { browsers: number; alive: number; contexts: number; launches: number; queued: number } {
    return {
      queued: this.limit.pendingCount,
      browsers: this.slots.length,
      alive: this.slots.filter((s) => s.browser?.isConnected()).length,
      contexts: this.slots.reduce((n, s) => n + s.contexts, 0),
      launches: this.launches,
    };
  }

  /** Closes every running browser without closing the pool (fault injection; the next request relaunches). */
  async killAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.browser?.close().catch(() => undefined)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        const b = s.browser ?? (await s.launching?.catch(() => undefined));
        s.browser = undefined;
        await b?.close().catch(() => undefined);
      }),
    );
  }

  private async browserOf(slot: Slot): Promise<Browser> {
    if (slot.browser?.isConnected()) return slot.browser;
    if (slot.launching) return slot.launching;
    const avail = chromiumAvailable(this.executablePath);
    if (!avail.ok) throw new BrowserUnavailableError(avail.reason);
    // playwright-core is loaded on first use: importing it costs most of a second of start-up, which
    // every `gym` command and every environment without a browser would otherwise pay.
    slot.launching = import('playwright-core')
      .then(({ chromium }) =>
        chromium.launch({
          executablePath: this.executablePath,
          headless: true,
          args: [...CHROMIUM_ARGS],
          timeout: this.launchTimeoutMs,
        }),
      )
      .then((b) => {
        this.launches++;
        slot.browser = b;
        b.on('disconnected', () => {
          if (slot.browser === b) slot.browser = undefined;
        });
        if (this.closed) void b.close();
        return b;
      })
      .catch((err: Error) => {
        throw new BrowserUnavailableError(`Chromium failed to start from ${this.executablePath}: ${err.message.split('\n')[0]}`);
      })
      .finally(() => {
        slot.launching = undefined;
      });
    return slot.launching;
  }
}
