// Column kernels. An activation column is `len` consecutive Float32 values in a Float32Array; a
// unit's output column is
//   dst[dOff + r] = act(bias + w[k0]·src[col[k0] + r] + … + w[k1−1]·src[col[k1−1] + r])
// summed in double from the bias, left to right (the reference's order), and stored as Float32.
// act is the ReLU for hidden layers and the identity for logits. The ReLU is written branch-free as
// (a + |a|)·0.5, which for finite a is exactly the reference's `a < 0 ? 0 : a` (2a is exact and so is
// halving it; a negative a gives +0) apart from the sign of a zero, which never matters (plan.ts).
// The sum runs over groups of up to eight terms, so that the double accumulator makes one round trip
// through `acc` per group; the additions keep their order, so each sum is the reference's exactly.
// The functions are written out per group size (generated once, kept as plain source). Each loads its
// group's column offsets and weights from the typed arrays into locals before its loop: measured in V8,
// that beats passing them as arguments (about 1.6× on the output layer), and groups of eight beat four,
// six, ten, twelve and sixteen. The ReLU and raw variants are separate so no loop tests a flag.
// Every function here reads and writes plain typed arrays (shareable later through SharedArrayBuffer).

function only1Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const w0 = w[t];
  for (let r = 0; r < len; r++) {
    const a = bias + w0 * src[o0 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only1Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const w0 = w[t];
  for (let r = 0; r < len; r++) {
    const a = bias + w0 * src[o0 + r];
    dst[dOff + r] = a;
  }
}

function only2Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const w0 = w[t];
  const w1 = w[t + 1];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only2Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const w0 = w[t];
  const w1 = w[t + 1];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    dst[dOff + r] = a;
  }
}

function only3Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only3Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    dst[dOff + r] = a;
  }
}

function only4Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only4Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    dst[dOff + r] = a;
  }
}

function only5Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only5Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    dst[dOff + r] = a;
  }
}

function only6Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only6Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    dst[dOff + r] = a;
  }
}

function only7Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only7Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    dst[dOff + r] = a;
  }
}

function only8Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const o7 = col[t + 7];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  const w7 = w[t + 7];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    a += w7 * src[o7 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function only8Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const o7 = col[t + 7];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  const w7 = w[t + 7];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    a += w7 * src[o7 + r];
    dst[dOff + r] = a;
  }
}

function first1(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const w0 = w[t];
  for (let r = 0; r < len; r++) {
    const a = bias + w0 * src[o0 + r];
    acc[r] = a;
  }
}

function first2(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const w0 = w[t];
  const w1 = w[t + 1];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    acc[r] = a;
  }
}

function first3(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    acc[r] = a;
  }
}

function first4(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    acc[r] = a;
  }
}

function first5(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    acc[r] = a;
  }
}

function first6(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    acc[r] = a;
  }
}

function first7(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    acc[r] = a;
  }
}

function first8(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  bias: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const o7 = col[t + 7];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  const w7 = w[t + 7];
  for (let r = 0; r < len; r++) {
    let a = bias + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    a += w7 * src[o7 + r];
    acc[r] = a;
  }
}

function mid8(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  acc: Float64Array,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const o7 = col[t + 7];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  const w7 = w[t + 7];
  for (let r = 0; r < len; r++) {
    let a = acc[r] + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    a += w7 * src[o7 + r];
    acc[r] = a;
  }
}

function last8Relu(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  acc: Float64Array,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const o7 = col[t + 7];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  const w7 = w[t + 7];
  for (let r = 0; r < len; r++) {
    let a = acc[r] + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    a += w7 * src[o7 + r];
    dst[dOff + r] = (a + Math.abs(a)) * 0.5;
  }
}

function last8Raw(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  t: number,
  acc: Float64Array,
  dst: Float32Array,
  dOff: number,
  len: number,
): void {
  const o0 = col[t];
  const o1 = col[t + 1];
  const o2 = col[t + 2];
  const o3 = col[t + 3];
  const o4 = col[t + 4];
  const o5 = col[t + 5];
  const o6 = col[t + 6];
  const o7 = col[t + 7];
  const w0 = w[t];
  const w1 = w[t + 1];
  const w2 = w[t + 2];
  const w3 = w[t + 3];
  const w4 = w[t + 4];
  const w5 = w[t + 5];
  const w6 = w[t + 6];
  const w7 = w[t + 7];
  for (let r = 0; r < len; r++) {
    let a = acc[r] + w0 * src[o0 + r];
    a += w1 * src[o1 + r];
    a += w2 * src[o2 + r];
    a += w3 * src[o3 + r];
    a += w4 * src[o4 + r];
    a += w5 * src[o5 + r];
    a += w6 * src[o6 + r];
    a += w7 * src[o7 + r];
    dst[dOff + r] = a;
  }
}

/**
 * One unit over `len` rows: terms k0 .. k1−1, term k reading src[col[k] + r] with weight w[k]; the
 * result is stored with ReLU (hidden layers) or raw (logits). `acc` is scratch of at least `len` doubles.
 */
export function unitColumn(
  src: Float32Array,
  col: Int32Array,
  w: Float64Array,
  k0: number,
  k1: number,
  bias: number,
  dst: Float32Array,
  dOff: number,
  len: number,
  relu: boolean,
  acc: Float64Array,
): void {
  const k = k1 - k0;
  if (k === 0) {
    // the reference stores clamp(bias); bias + |bias| is 2·bias or +0, so the ReLU below is exact
    dst.fill(relu ? (bias + Math.abs(bias)) * 0.5 : bias, dOff, dOff + len);
    return;
  }
  if (k <= 8) {
    if (relu) {
      switch (k) {
        case 1:
          only1Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 2:
          only2Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 3:
          only3Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 4:
          only4Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 5:
          only5Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 6:
          only6Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 7:
          only7Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 8:
          only8Relu(src, col, w, k0, bias, dst, dOff, len);
          return;
      }
    } else {
      switch (k) {
        case 1:
          only1Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 2:
          only2Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 3:
          only3Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 4:
          only4Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 5:
          only5Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 6:
          only6Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 7:
          only7Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
        case 8:
          only8Raw(src, col, w, k0, bias, dst, dOff, len);
          return;
      }
    }
    return;
  }
  // k > 8: a first group of 1..8 terms, middle groups of 8, a last group of 8
  const head = k - 8 * Math.ceil(k / 8 - 1);
  switch (head) {
    case 1:
      first1(src, col, w, k0, bias, acc, len);
      break;
    case 2:
      first2(src, col, w, k0, bias, acc, len);
      break;
    case 3:
      first3(src, col, w, k0, bias, acc, len);
      break;
    case 4:
      first4(src, col, w, k0, bias, acc, len);
      break;
    case 5:
      first5(src, col, w, k0, bias, acc, len);
      break;
    case 6:
      first6(src, col, w, k0, bias, acc, len);
      break;
    case 7:
      first7(src, col, w, k0, bias, acc, len);
      break;
    case 8:
      first8(src, col, w, k0, bias, acc, len);
      break;
  }
  let t = k0 + head;
  while (k1 - t > 8) {
    mid8(src, col, w, t, acc, len);
    t += 8;
  }
  if (relu) last8Relu(src, col, w, t, acc, dst, dOff, len);
  else last8Raw(src, col, w, t, acc, dst, dOff, len);
}

/** Running totals of one loss/accuracy pass; summed in row order like the reference. */
export interface Totals {
  correct: number;
  lossSum: number;
}

/**
 * Argmax (first on ties) and stable log-softmax cross-entropy of `len` rows whose logits are
 * lg[cls[c] + r] (Float32) with labels y[yOff + r]; adds to `totals` in row order, as the reference
 * does. With `loss` false only the accuracy is counted. Labels must lie in 0 .. classes − 1.
 */
export function scoreRows(
  lg: Float32Array,
  cls: Int32Array,
  classes: number,
  y: Int32Array,
  yOff: number,
  len: number,
  loss: boolean,
  totals: Totals,
): void {
  if (classes === 2) {
    if (loss) scoreTwo(lg, cls[0], cls[1], y, yOff, len, totals);
    else countTwo(lg, cls[0], cls[1], y, yOff, len, totals);
    return;
  }
  let correct = totals.correct;
  let lossSum = totals.lossSum;
  for (let r = 0; r < len; r++) {
    let best = 0;
    let max = lg[cls[0] + r];
    for (let c = 1; c < classes; c++) {
      const v = lg[cls[c] + r];
      if (v > max) {
        max = v;
        best = c;
      }
    }
    const label = y[yOff + r];
    if (best === label) correct++;
    if (loss) {
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        const d = lg[cls[c] + r] - max;
        // exp(0) is exactly 1: the max's own term needs no call
        sum += d === 0 ? 1 : Math.exp(d);
      }
      lossSum += max + Math.log(sum) - lg[cls[label] + r];
    }
  }
  totals.correct = correct;
  totals.lossSum = lossSum;
}

/**
 * Two classes. The reference sums exp(a0 − max) + exp(a1 − max) in that order: one term is exp(0) = 1
 * and the other is exp(−|a1 − a0|) (x − y = −(y − x) exactly), and addition commutes, so
 * sum = 1 + exp(−|a1 − a0|) bit for bit.
 */
function scoreTwo(
  lg: Float32Array,
  c0: number,
  c1: number,
  y: Int32Array,
  yOff: number,
  len: number,
  totals: Totals,
): void {
  let correct = totals.correct;
  let lossSum = totals.lossSum;
  for (let r = 0; r < len; r++) {
    const a0 = lg[c0 + r];
    const a1 = lg[c1 + r];
    const label = y[yOff + r];
    const up = a1 > a0;
    correct += (up ? 1 : 0) ^ label ^ 1;
    const max = up ? a1 : a0;
    const sum = 1 + Math.exp(-Math.abs(a1 - a0));
    lossSum += max + Math.log(sum) - (label === 0 ? a0 : a1);
  }
  totals.correct = correct;
  totals.lossSum = lossSum;
}

/** Two classes, accuracy only. */
function countTwo(
  lg: Float32Array,
  c0: number,
  c1: number,
  y: Int32Array,
  yOff: number,
  len: number,
  totals: Totals,
): void {
  let correct = totals.correct;
  for (let r = 0; r < len; r++) {
    correct += (lg[c1 + r] > lg[c0 + r] ? 1 : 0) ^ y[yOff + r] ^ 1;
  }
  totals.correct = correct;
}
