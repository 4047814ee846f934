/**
 * Typed errors with stable codes. Messages may change between versions; codes may not, so tests,
 * metrics and callers switch on `code`.
 */
export type ErrorCode =
  | 'TG_ERR_CONFIG'
  | 'TG_ERR_USAGE'
  | 'TG_ERR_INPUT_OPEN'
  | 'TG_ERR_INPUT_FORMAT'
  | 'TG_ERR_OUTPUT_DIR'
  | 'TG_ERR_OUTPUT_WRITE'
  | 'TG_ERR_CAPTURE_PERMISSION'
  | 'TG_ERR_CAPTURE_ENGINE'
  | 'TG_ERR_INTERFACE'
  | 'TG_ERR_FILTER'
  | 'TG_ERR_GATEWAY';

export class TapgateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TapgateError';
    this.code = code;
  }
}

export function isTapgateError(e: unknown): e is TapgateError {
  return e instanceof TapgateError;
}
