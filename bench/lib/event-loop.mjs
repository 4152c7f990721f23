/**
 * Two independent views of how long the event loop was blocked: Node's own histogram
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution, the finest it offers) and a 1 ms
 * setInterval whose lateness we measure ourselves.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { elapsedMs } from './clock.mjs';

export function startLoopProbe() {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let last = elapsedMs();
  let maxLag = 0;
  const timer = setInterval(() => {
    const t = elapsedMs();
    const lag = t - last - 1;
    if (lag > maxLag) maxLag = lag;
    last = t;
  }, 1);
  return {
    /** Forget what was seen so far (start of the measured stretch). */
    reset() {
      histogram.reset();
      maxLag = 0;
      last = elapsedMs();
    },
    stop() {
      clearInterval(timer);
      histogram.disable();
      return { histogramMaxMs: histogram.max / 1e6, probeMaxMs: maxLag };
    },
  };
}
