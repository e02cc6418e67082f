export interface BackoffOptions {
  /** First delay cap, in ms (default 1000). */
  baseMs?: number;
  /** Largest delay cap, in ms (default 30000). */
  maxMs?: number;
}

/**
 * Exponential backoff with full jitter: a uniform random delay in
 * [0, min(maxMs, baseMs * 2^attempt)), attempt counting from 0.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * Math.pow(2, Math.min(attempt, 52)));
  return Math.floor(random() * cap);
}
