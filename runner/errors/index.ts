// The one error type of onionplay. Every error carries a typed `code`.
// Load and validation errors also carry the place in the user's file, the
// key, the bad value, what is allowed and how to fix it.

/** Process exit codes. Scripts may rely on these values. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  taskFailed: 2,
  unreachable: 3,
  invalidInput: 4,
  locked: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'yaml_syntax'
  | 'invalid_value'
  | 'unknown_key'
  | 'missing_key'
  | 'not_found'
  | 'template'
  | 'usage'
  | 'cycle'
  | 'transport'
  | 'host_key'
  | 'socks'
  | 'timeout'
  | 'locked'
  | 'secret_store'
  | 'interrupted'
  | 'internal';

/** A position in a source file, 1-based like editors show it. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface ErrorDetails {
  position?: SourcePosition;
  /** Dotted path of the offending key, e.g. `tasks[2].copy.mode`. */
  key?: string;
  /** The bad value as the user wrote it (already masked if secret). */
  value?: string;
  /** Values that would have been accepted. */
  allowed?: string;
  /** Change the user should make. */
  fix?: string;
  cause?: unknown;
}

export class OnionplayError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'OnionplayError';
    this.code = code;
    this.details = details;
  }

  /** Exit code this error maps to when it ends a run. */
  get exitCode(): ExitCode {
    switch (this.code) {
      case 'transport':
      case 'host_key':
      case 'socks':
        return ExitCode.unreachable;
      case 'locked':
        return ExitCode.locked;
      case 'interrupted':
        return ExitCode.interrupted;
      case 'internal':
      case 'secret_store':
      case 'timeout':
        return ExitCode.internal;
      default:
        return ExitCode.invalidInput;
    }
  }
}

/** Format an error the way the CLI prints it: place first, then the fix. */
export function formatError(error: OnionplayError): string {
  const { position, key, value, allowed, fix } = error.details;
  const lines: string[] = [];
  const where = position ? `${position.file}:${position.line}:${position.column}: ` : '';
  lines.push(`${where}${error.message}`);
  if (key !== undefined) lines.push(`  key: ${key}`);
  if (value !== undefined) lines.push(`  value: ${value}`);
  if (allowed !== undefined) lines.push(`  allowed: ${allowed}`);
  if (fix !== undefined) lines.push(`  fix: ${fix}`);
  return lines.join('\n');
}

/** A list of load or validation errors, reported together. */
export class ValidationErrors extends OnionplayError {
  readonly errors: OnionplayError[];

  constructor(errors: OnionplayError[]) {
    const first = errors[0];
    super(first?.code ?? 'invalid_value', `${errors.length} problem(s) found`, first?.details ?? {});
    this.errors = errors;
  }
}
