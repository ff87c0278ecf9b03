// The public API, in one place.
export { AlbertError } from './errors.js';
export type { AlbertErrorCode } from './errors.js';
export { AlbertModel } from './model/albert.js';
export type {
  ForwardInputs,
  ForwardOptions,
  ForwardOutputs,
  HeadKind,
  IdMatrix,
  LoadOptions,
  ModelInfo,
  OutputName,
  Tensor,
} from './model/albert.js';
export type { AlbertConfig } from './io/config.js';
export type { ModelSource, FileSource, SourceOptions } from './io/source.js';
