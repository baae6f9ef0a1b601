/**
 * Stopping a run: the user's stop (Ctrl-C, an aborted signal) and the run's own abort (a fatal error, or the
 * drain time is up) both end the current wait at once.
 */
export class StopWatch {
  private wake: (() => void) | undefined;
  private readonly onStop = () => this.wake?.();

  constructor(
    private readonly stop: AbortSignal,
    private readonly abort: AbortSignal,
  ) {
    stop.addEventListener('abort', this.onStop, { once: true });
    abort.addEventListener('abort', this.onStop, { once: true });
  }

  get stopped(): boolean {
    return this.stop.aborted || this.abort.aborted;
  }

  /**
   * `p`, or sooner if the run is stopped. One wait per batch, so it must cost nothing that lasts: not
   * Promise.race against a long-lived "stopped" promise (each race left a reaction on it, 300 MB over
   * a million rows), nor two abort listeners per wait: the run's two listeners wake the current wait.
   */
  until(p: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      const done = () => {
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      p.then(done, done);
    });
  }

  dispose(): void {
    this.stop.removeEventListener('abort', this.onStop);
    this.abort.removeEventListener('abort', this.onStop);
  }
}

/** `p`, or after `ms` at the latest. */
export function raceTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]).finally(() => clearTimeout(t));
}
