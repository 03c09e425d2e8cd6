/**
 * Runs `pass` every `intervalMs` (counted from the end of the previous pass), never two at once:
 * `tick()` runs one now, after the pass under way if any (tests call it instead of waiting). A
 * pass that throws is reported to `onError` and the loop goes on. `stop()` ends the timer and
 * waits for the pass under way.
 */
export function startPeriodic(options: { intervalMs: number; pass: () => Promise<void>; onError: (err: unknown) => void }) {
  let chain: Promise<void> = Promise.resolve();
  const tick = () => {
    const run = chain.then(options.pass);
    chain = run.catch(() => undefined);
    return run;
  };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick().catch(options.onError).finally(schedule), options.intervalMs);
  };
  schedule();
  return {
    tick,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}
