/**
 * Per-version circuit breaker: remembers the last `window` outcomes; `failures` of them failing
 * opens it for `cooldownMs`, during which the router sends the version's traffic to the stable
 * version. After the cooldown one trial outcome decides: success closes it, failure reopens it.
 */
export interface BreakerOptions {
  window: number;
  failures: number;
  cooldownMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  private outcomes: boolean[] = [];
  private openUntil: number | undefined;
  private halfOpen = false;

  constructor(private readonly options: BreakerOptions) {}

  state(now: number): BreakerState {
    if (this.openUntil === undefined) return this.halfOpen ? 'half-open' : 'closed';
    if (now < this.openUntil) return 'open';
    this.openUntil = undefined;
    this.halfOpen = true;
    return 'half-open';
  }

  allows(now: number): boolean {
    return this.state(now) !== 'open';
  }

  /** Records an outcome; returns true when this outcome opened the breaker. */
  record(ok: boolean, now: number): boolean {
    if (this.state(now) === 'open') return false;
    if (this.halfOpen) {
      this.halfOpen = false;
      if (ok) {
        this.outcomes = [];
        return false;
      }
      this.openUntil = now + this.options.cooldownMs;
      return true;
    }
    this.outcomes.push(ok);
    if (this.outcomes.length > this.options.window) this.outcomes.shift();
    if (this.outcomes.filter((o) => !o).length >= this.options.failures) {
      this.outcomes = [];
      this.openUntil = now + this.options.cooldownMs;
      return true;
    }
    return false;
  }
}
