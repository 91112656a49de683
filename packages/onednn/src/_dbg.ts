import { addon } from './native.ts';
const m = addon!;
const t = (f: () => void) => { f(); f(); const t0 = performance.now(); for (let i = 0; i < 10; i++) f(); return ((performance.now() - t0) / 10).toFixed(2); };
for (const [N, H, IC, OC, K, S, OH] of [[128, 28, 1, 32, 3, 1, 28], [128, 28, 2, 32, 3, 1, 28], [128, 32, 3, 16, 3, 1, 32], [128, 28, 4, 32, 3, 1, 28], [128, 28, 8, 32, 3, 1, 28], [128, 30, 1, 16, 4, 2, 14], [128, 28, 16, 32, 3, 1, 28]]) {
  const pad = S === 1 ? 1 : 0;
  const p = Int32Array.from([N, H, H, IC, OC, K, K, OH, OH, S, S, 1, 1, pad, pad, pad, pad]);
  const dy = new Float32Array(N * OH * OH * OC).map(() => Math.random() - 0.5), w = new Float32Array(K * K * IC * OC).map(() => Math.random() - 0.5);
  const dx = new Float32Array(N * H * H * IC), dx2 = new Float32Array(N * H * H * IC);
  m.setSmallIcThreshold(0); const a = t(() => m.conv2dBackwardData(dy, w, dx, p)); const ia = m.convImpl(1, p);
  m.setSmallIcThreshold(64); const b = t(() => m.conv2dBackwardData(dy, w, dx2, p)); const ib = m.convImpl(1, p);
  let err = 0, mx = 0; for (let i = 0; i < dx.length; i++) { err = Math.max(err, Math.abs(dx[i]! - dx2[i]!)); mx = Math.max(mx, Math.abs(dx[i]!)); }
  console.log(`IC ${IC} OC ${OC} k${K} s${S}: onednn ${a} ms (${ia}), matmul+col2im ${b} ms (${ib}) maxdiff ${(err / mx).toExponential(1)}`);
}
