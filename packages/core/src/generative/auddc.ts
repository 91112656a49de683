/**
 * The area under the distortion–distance curve (AUDDC, Gondim-Ribeiro et al. 2018) of one (source, target) pair.
 * Points are (x, y) = (‖δ‖/‖x − x_t‖, normalised output distance; see `distortionDistanceY`). The curve is what an
 * attacker allowed distortion x achieves: the running minimum of y over the points with distortion ≤ x, starting at
 * (0, 1) (δ = 0 leaves the output where it is), restricted to x ∈ [0, 1] and closed at x = 1 with its last value;
 * the area is the trapezoid rule through its points. Lower means more vulnerable; the identity map gives the line
 * y = 1 − x (area ½) and a model whose output never moves gives 1.
 */

/** A point of the distortion–distance plane. */
export interface CurvePoint {
  x: number;
  y: number;
}

/** The attacker's curve through `points`: sorted, on [0, 1], non-increasing, from (0, 1) to x = 1. Non-finite points are dropped. */
export function distortionDistanceCurve(points: readonly CurvePoint[]): CurvePoint[] {
  const inside = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.x >= 0 && p.x <= 1).sort((a, b) => a.x - b.x);
  const curve: CurvePoint[] = [{ x: 0, y: 1 }];
  let low = 1;
  for (const p of inside) {
    low = Math.min(low, p.y);
    const last = curve[curve.length - 1]!;
    if (p.x === last.x) last.y = Math.min(last.y, low);
    else curve.push({ x: p.x, y: low });
  }
  const last = curve[curve.length - 1]!;
  if (last.x < 1) curve.push({ x: 1, y: last.y });
  return curve;
}

/** The area under `distortionDistanceCurve(points)` by the trapezoid rule. */
export function auddc(points: readonly CurvePoint[]): number {
  const c = distortionDistanceCurve(points);
  let area = 0;
  for (let i = 1; i < c.length; i++) area += ((c[i]!.x - c[i - 1]!.x) * (c[i]!.y + c[i - 1]!.y)) / 2;
  return area;
}
