import type { Routing } from '../lib/serving.js';

/**
 * Chooses which version answers a request. The candidate takes `weight` % of requests: by a hash
 * of the routing key when one is given (so a caller keeps its version across requests), at random
 * otherwise. In shadow mode the chosen requests are also scored by the candidate, but the stable
 * version answers. A version the breaker holds open is skipped in favour of the other one.
 */
export interface RouteDecision {
  version: string;
  route: 'stable' | 'candidate';
  /** A version that also scores the request without answering it. */
  shadow?: string;
}

export function chooseRoute(
  routing: Routing,
  request: { routingKey: string | undefined; random: () => number },
  available: (version: string) => boolean,
): RouteDecision | undefined {
  const candidate = routing.candidate;
  const stableUp = available(routing.stable);
  if (!candidate || candidate.weight <= 0 || candidate.version === routing.stable || !available(candidate.version)) {
    return stableUp ? { version: routing.stable, route: 'stable' } : undefined;
  }
  const point = request.routingKey === undefined ? request.random() * 100 : stickyPoint(request.routingKey);
  const picked = point < candidate.weight;
  if (candidate.mode === 'shadow') {
    if (!stableUp) return { version: candidate.version, route: 'candidate' };
    return picked ? { version: routing.stable, route: 'stable', shadow: candidate.version } : { version: routing.stable, route: 'stable' };
  }
  if (picked || !stableUp) return { version: candidate.version, route: 'candidate' };
  return { version: routing.stable, route: 'stable' };
}

/** A stable point in [0, 100) for a routing key (FNV-1a, 32 bits, finalised). */
export function stickyPoint(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // murmur3's finaliser spreads keys that differ only in their last characters
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b) >>> 0;
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35) >>> 0;
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return (hash / 2 ** 32) * 100;
}
