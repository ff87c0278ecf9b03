import { NR } from './gemm';

// Row v of the packed word table is column v % NR of panel v / NR: its dim values are NR f32 apart.
export function embed_f32(out: usize, ids: usize, types: usize, tokens: i32, seq: i32, word: usize, tokenType: usize, position: usize, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  const panelBytes = rowBytes * <usize>NR;
  const wordStride = <usize>NR << 2;
  for (let t = 0; t < tokens; t++) {
    const id = load<i32>(ids + (<usize>t << 2));
    let w = word + <usize>(id / NR) * panelBytes + (<usize>(id % NR) << 2);
    const tt = tokenType + <usize>load<i32>(types + (<usize>t << 2)) * rowBytes;
    const pos = position + <usize>(t % seq) * rowBytes;
    const o = out + <usize>t * rowBytes;
    for (let j: usize = 0; j < rowBytes; j += 4, w += wordStride) {
      store<f32>(o + j, (load<f32>(w) + load<f32>(tt + j)) + load<f32>(pos + j));
    }
  }
}
