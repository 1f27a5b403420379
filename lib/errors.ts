import { ApplicationFailure } from '@temporalio/common';

/**
 * The project's error vocabulary. Every error a caller may want to match on is a PlumbError with a
 * stable `type` name; `toTemporalFailure` and `httpStatusOf` are the one place that maps these to
 * Temporal failure types (retryable or not) and to HTTP status codes.
 */
export type ErrorKind =
  | 'BadInput' // the caller sent something wrong: fix the input, retrying will not help
  | 'DataQuality' // the data failed its expectations
  | 'NotFound'
  | 'Conflict' // the request contradicts the current state (e.g. promoting a rejected version)
  | 'Integrity' // a stored object no longer matches its hash
  | 'Unauthenticated'
  | 'Forbidden'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'Overloaded' // transient: try again later
  | 'Unavailable' // transient: a dependency is down
  | 'TrainerFailed'; // an external trainer exited non-zero, timed out or wrote unusable outputs

const kinds: Record<ErrorKind, { status: number; retryable: boolean }> = {
  BadInput: { status: 400, retryable: false },
  DataQuality: { status: 422, retryable: false },
  NotFound: { status: 404, retryable: false },
  Conflict: { status: 409, retryable: false },
  Integrity: { status: 500, retryable: false },
  Unauthenticated: { status: 401, retryable: false },
  Forbidden: { status: 403, retryable: false },
  PayloadTooLarge: { status: 413, retryable: false },
  UnsupportedMediaType: { status: 415, retryable: false },
  Overloaded: { status: 503, retryable: true },
  Unavailable: { status: 503, retryable: true },
  TrainerFailed: { status: 500, retryable: false },
};

export class PlumbError extends Error {
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = `${kind}Error`;
    this.kind = kind;
    this.details = options?.details;
  }

  get retryable(): boolean {
    return kinds[this.kind].retryable;
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new PlumbError('BadInput', message, details ? { details } : undefined);

export const notFound = (message: string, details?: Record<string, unknown>) =>
  new PlumbError('NotFound', message, details ? { details } : undefined);

export const conflict = (message: string, details?: Record<string, unknown>) =>
  new PlumbError('Conflict', message, details ? { details } : undefined);

/** The Temporal failure type name for a kind, e.g. `BadInput` → `PlumbBadInput`. */
export const failureType = (kind: ErrorKind): string => `Plumb${kind}`;

/**
 * Turns an error thrown inside an activity into what Temporal should see: PlumbErrors become
 * ApplicationFailures with their type and retryability; anything else is left as is, so
 * infrastructure errors keep being retried by the activity's retry policy.
 */
export function toTemporalFailure(err: unknown): unknown {
  if (!(err instanceof PlumbError)) return err;
  return ApplicationFailure.create({
    type: failureType(err.kind),
    message: err.message,
    nonRetryable: !err.retryable,
    details: err.details === undefined ? [] : [err.details],
    cause: err.cause instanceof Error ? err.cause : undefined,
  });
}

export function httpStatusOf(err: unknown): number {
  return err instanceof PlumbError ? kinds[err.kind].status : 500;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
