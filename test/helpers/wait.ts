// Waiting in real time for something a child process or the kernel does.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `cond` every `every` ms until it holds or `ms` pass (no throw: the
 * caller's expect says what was missing).
 */
export async function until(cond: () => boolean, ms = 30000, every = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(every);
}

/** Poll `cond` every `every` ms; throw "timed out waiting for <what>" after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string, every = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}
