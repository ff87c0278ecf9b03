/**
 * Every failure the library reports on purpose is an AlbertError with a stable `code`.
 * Messages name the file, tensor, field or input and say what was expected, so a user can fix
 * the cause without reading our source. Anything else thrown is a bug.
 */
export type AlbertErrorCode =
  // files and sources
  | 'SAFETENSORS_INVALID'
  | 'CONFIG_INVALID'
  | 'CHECKPOINT_MISMATCH'
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_FAILED'
  | 'TOKENIZER_INVALID'
  // calls
  | 'INPUT_INVALID'
  | 'OUTPUT_UNAVAILABLE'
  | 'OUT_OF_MEMORY'
  | 'RUNTIME_UNSUPPORTED';

export class AlbertError extends Error {
  readonly code: AlbertErrorCode;
  constructor(code: AlbertErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AlbertError';
    this.code = code;
  }
}
