/**
 * Exponential backoff with full jitter: the n-th delay (n from 0) is uniform in
 * [0, min(maxDelay, initialDelay * 2^n)). Full jitter spreads the reconnects of many clients that
 * lost the same server, so they do not return in one wave
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
export class Backoff {
  static readonly DefaultInitialDelay = 1000;
  static readonly DefaultMaxDelay = 30_000;

  private failures = 0;

  constructor(
    readonly initialDelay = Backoff.DefaultInitialDelay,
    readonly maxDelay = Backoff.DefaultMaxDelay,
    private readonly random: () => number = Math.random,
  ) {
    if (!(initialDelay > 0) || !(maxDelay >= initialDelay)) {
      throw new RangeError(`Backoff needs 0 < initialDelay <= maxDelay; got ${initialDelay} and ${maxDelay}.`);
    }
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    // 2^n overflows to Infinity after ~1000 doublings, and min() keeps that at maxDelay.
    const cap = Math.min(this.maxDelay, this.initialDelay * 2 ** this.failures);
    this.failures++;
    return Math.floor(this.random() * cap);
  }

  reset(): void {
    this.failures = 0;
  }
}
