import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';

const FIXTURES = new URL('../../../shared/fixtures/', import.meta.url);

function fixtureConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${name}/config.json`, FIXTURES), 'utf8'));
}

function expectInvalid(json: unknown, message: RegExp): void {
  let caught: unknown;
  try {
    parseConfig(json, 'my/config.json');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AlbertError);
  expect((caught as AlbertError).code).toBe('CONFIG_INVALID');
  expect((caught as AlbertError).message).toMatch(/^my\/config\.json: /);
  expect((caught as AlbertError).message).toMatch(message);
}

describe('parseConfig', () => {
  it('applies AlbertConfig and PretrainedConfig defaults to an empty config', () => {
    expect(parseConfig({})).toEqual({
      vocabSize: 30000,
      embeddingSize: 128,
      hiddenSize: 4096,
      numHiddenLayers: 12,
      numHiddenGroups: 1,
      numAttentionHeads: 64,
      intermediateSize: 16384,
      innerGroupNum: 1,
      hiddenAct: 'gelu_new',
      layerNormEps: 1e-12,
      maxPositionEmbeddings: 512,
      typeVocabSize: 2,
      positionEmbeddingType: 'absolute',
      padTokenId: 0,
      bosTokenId: 2,
      eosTokenId: 3,
      classifierDropoutProb: 0.1,
      architectures: [],
      id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
      label2id: { LABEL_0: 0, LABEL_1: 1 },
      numLabels: 2,
    });
  });

  it('reads the base fixture (albert-base-v2 geometry), from an object or JSON text', () => {
    const text = readFileSync(new URL('base/config.json', FIXTURES), 'utf8');
    const config = parseConfig(text);
    expect(config).toEqual(parseConfig(JSON.parse(text)));
    expect(config).toMatchObject({
      vocabSize: 30000, embeddingSize: 128, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12,
      intermediateSize: 3072, maxPositionEmbeddings: 512, hiddenAct: 'gelu_new', layerNormEps: 1e-12,
      architectures: ['AlbertForMaskedLM'], numLabels: 2,
    });
  });

  it('reads labels from id2label (string keys become numbers) and label2id', () => {
    const groups = parseConfig(fixtureConfig('tiny-groups'));
    expect(groups).toMatchObject({ numHiddenLayers: 4, numHiddenGroups: 2, innerGroupNum: 2, numLabels: 3 });
    expect(groups.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    expect(Object.keys(groups.id2label).map(Number)).toEqual([0, 1, 2]);
    expect(groups.label2id).toEqual({ LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
    expect(parseConfig(fixtureConfig('tiny-tok')).numLabels).toBe(5);
  });

  it('follows PretrainedConfig: id2label wins over num_labels; num_labels alone names LABEL_i; label2id defaults to the inverse', () => {
    const named = parseConfig({ id2label: { '0': 'NEGATIVE', '1': 'POSITIVE' }, num_labels: 3 });
    expect(named.numLabels).toBe(2);
    expect(named.label2id).toEqual({ NEGATIVE: 0, POSITIVE: 1 });
    const counted = parseConfig({ num_labels: 3, label2id: { ignored: 7 } });
    expect(counted.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    expect(counted.label2id).toEqual({ LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
    expect(parseConfig({ num_labels: 1, problem_type: 'regression' })).toMatchObject({ numLabels: 1, problemType: 'regression' });
  });

  it('accepts every supported activation and ignores unknown fields', () => {
    for (const act of ['gelu_new', 'gelu', 'relu', 'gelu_fast', 'quick_gelu', 'silu', 'swish']) {
      expect(parseConfig({ hidden_act: act, something_new: [1, 2] }).hiddenAct).toBe(act);
    }
  });

  it('treats null token ids as the defaults', () => {
    expect(parseConfig({ pad_token_id: null, bos_token_id: null, eos_token_id: null })).toMatchObject({ padTokenId: 0, bosTokenId: 2, eosTokenId: 3 });
  });

  it('rejects text that is not a JSON object', () => {
    expectInvalid('{"vocab_size": ', /not valid JSON/);
    expectInvalid('[1]', /must be a JSON object/);
    expectInvalid(null, /must be a JSON object/);
    expectInvalid(42, /must be a JSON object/);
  });

  it('rejects sizes that are null, non-numeric, non-integer or not positive, naming the field', () => {
    const sizes = ['vocab_size', 'embedding_size', 'hidden_size', 'num_hidden_layers', 'num_hidden_groups',
      'num_attention_heads', 'intermediate_size', 'inner_group_num', 'max_position_embeddings', 'type_vocab_size'];
    for (const field of sizes) {
      for (const value of [null, '768', 0, -4, 1.5, true]) {
        expectInvalid({ [field]: value }, new RegExp(`^my/config\\.json: ${field} must be a positive integer, got ${JSON.stringify(JSON.stringify(value)).slice(1, -1)}$`));
      }
    }
  });

  it('rejects inconsistent geometry', () => {
    expectInvalid({ hidden_size: 768, num_attention_heads: 10 }, /hidden_size 768 is not a multiple of num_attention_heads 10/);
    expectInvalid({ num_hidden_layers: 12, num_hidden_groups: 5 }, /num_hidden_layers 12 is not a multiple of num_hidden_groups 5/);
    expectInvalid({ vocab_size: 100, pad_token_id: 100 }, /pad_token_id 100 is not below vocab_size 100/);
    expectInvalid({ eos_token_id: -1 }, /eos_token_id must be a non-negative integer, got -1/);
  });

  it('rejects an unsupported hidden_act, listing the supported ones', () => {
    expectInvalid({ hidden_act: 'tanh' }, /hidden_act "tanh" is not supported \(supported: gelu_new, gelu, relu, gelu_fast, quick_gelu, silu, swish\)/);
    expectInvalid({ hidden_act: null }, /hidden_act null is not supported/);
  });

  it('rejects relative position embeddings by name', () => {
    expectInvalid({ position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key" is not supported/);
    expectInvalid({ position_embedding_type: 'relative_key_query' }, /"relative_key_query" is not supported/);
  });

  it('rejects a layer_norm_eps that is not a positive number', () => {
    for (const eps of [0, -1e-12, '1e-12', null, Infinity]) {
      expectInvalid({ layer_norm_eps: eps }, /layer_norm_eps must be a positive number/);
    }
  });

  it('rejects another model_type', () => {
    expectInvalid({ model_type: 'bert' }, /model_type is "bert", expected "albert"/);
  });

  it('rejects malformed labels, problem_type, architectures and classifier_dropout_prob', () => {
    expectInvalid({ id2label: ['a', 'b'] }, /id2label must be an object/);
    expectInvalid({ id2label: { first: 'a' } }, /id2label key "first" is not a label id/);
    expectInvalid({ id2label: { '-1': 'a' } }, /id2label key "-1" is not a label id/);
    expectInvalid({ id2label: { '0': 5 } }, /id2label\["0"\] must be a string, got 5/);
    expectInvalid({ id2label: { '0': 'a' }, label2id: { a: 'zero' } }, /label2id\["a"\] must be a non-negative integer/);
    expectInvalid({ num_labels: 0 }, /num_labels must be a positive integer, got 0/);
    expectInvalid({ problem_type: 'ranking' }, /problem_type "ranking" is not one of regression, single_label_classification, multi_label_classification/);
    expectInvalid({ architectures: 'AlbertModel' }, /architectures must be an array of strings/);
    expectInvalid({ classifier_dropout_prob: '0.1' }, /classifier_dropout_prob must be a number/);
  });
});
