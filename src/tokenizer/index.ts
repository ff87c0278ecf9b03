export { AlbertTokenizer, type AlbertTokenizerOptions } from './albert.js';
export type { EncodeOptions, Encoding } from './encoding.js';
