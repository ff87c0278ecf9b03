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
export { AlbertTokenizer } from './tokenizer/index.js';
export type { AlbertTokenizerOptions, EncodeOptions, Encoding } from './tokenizer/index.js';
export { pipeline, loadTaskContext, loadTokenizer } from './tasks/pipeline.js';
export type { Pipeline, PipelineOptions, TaskName } from './tasks/pipeline.js';
export { DEFAULT_MODEL } from './tasks/default-model.js';
export { fillMask } from './tasks/fill-mask.js';
export type { FillMaskOptions, FillMaskPrediction } from './tasks/fill-mask.js';
export { featureExtraction } from './tasks/feature-extraction.js';
export type { FeatureExtractionOptions } from './tasks/feature-extraction.js';
export { textClassification } from './tasks/text-classification.js';
export type { ClassificationInput, LabelScore, TextClassificationOptions } from './tasks/text-classification.js';
export { tokenClassification } from './tasks/token-classification.js';
export type { AggregationStrategy, EntityGroup, TokenClassificationOptions, TokenEntity } from './tasks/token-classification.js';
export { questionAnswering } from './tasks/question-answering.js';
export type { Answer, QuestionAnsweringInput, QuestionAnsweringOptions } from './tasks/question-answering.js';
export { zeroShotClassification } from './tasks/zero-shot-classification.js';
export type { ZeroShotOptions, ZeroShotResult } from './tasks/zero-shot-classification.js';
export type { TaskContext } from './tasks/common.js';
