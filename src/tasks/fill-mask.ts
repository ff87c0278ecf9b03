import { AlbertError } from '../errors.js';
import { positiveInt, requireHead, requireTexts, softmax, toInputs, topK, type TaskContext } from './common.js';

export interface FillMaskOptions {
  /** How many predictions per [MASK]. Default 5. */
  top_k?: number;
}

export interface FillMaskPrediction {
  score: number;
  token: number;
  token_str: string;
  /** The input with this [MASK] filled in (special tokens removed). */
  sequence: string;
}

/**
 * Predicts each [MASK] of each text. As in Hugging Face's pipeline: one text with one mask gives a list
 * of predictions; several masks give a list per mask; an array of texts gives one such result per text.
 * The MLM head runs only at the [MASK] positions.
 */
export async function fillMask(ctx: TaskContext, input: string | string[], options: FillMaskOptions = {}) {
  requireHead(ctx.model, 'fill-mask', ['masked-lm']);
  const { texts, single } = requireTexts('fill-mask', input);
  const topN = positiveInt('top_k', options.top_k, 5);
  const { model, tokenizer } = ctx;
  const V = model.config.vocabSize;

  const encodings = tokenizer.encodeBatch(texts, { padding: 'longest', truncation: true, maxLength: model.config.maxPositionEmbeddings });
  const masks = encodings.map((e, b) => {
    const positions = e.input_ids.flatMap((id, t) => (id === tokenizer.maskTokenId ? [t] : []));
    if (positions.length === 0) {
      throw new AlbertError('INPUT_INVALID', `fill-mask: text ${b} has no ${tokenizer.maskToken} token: "${texts[b].slice(0, 80)}"`);
    }
    return positions;
  });
  const at = masks.flatMap((positions, b) => positions.map((t) => [b, t] as const));
  const logits = (await model.forward(toInputs(encodings), { outputs: ['logits'], logitsAt: at })).logits!.data;

  let row = 0;
  const perText = masks.map((positions, b) => {
    const perMask = positions.map((t) => {
      const probs = softmax(logits.subarray(row * V, ++row * V));
      return topK(probs, Math.min(topN, V)).map((token): FillMaskPrediction => {
        const filled = [...encodings[b].input_ids];
        filled[t] = token;
        return {
          score: probs[token],
          token,
          token_str: tokenizer.decode([token]),
          sequence: tokenizer.decode(filled, { skipSpecialTokens: true }),
        };
      });
    });
    return perMask.length === 1 ? perMask[0] : perMask;
  });
  return single ? perText[0] : perText;
}
