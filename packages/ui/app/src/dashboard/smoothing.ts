/**
 * TensorBoard's scalar smoothing: an exponential moving average debiased by 1 − wᵏ (as Adam debiases its
 * moments), so the first points are not pulled towards 0. Non-finite values are passed through and do not
 * enter the average.
 */
export function debiasedEma(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight: expected a number in [0, 1), found ${weight}`);
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    count++;
    return weight === 0 ? v : last / (1 - weight ** count);
  });
}
