import { initBackend, tf } from "../backend/mod.ts";
import { fillDropoutMask, DROPOUT_MASK_KERNEL } from "../backend/_wasm_kernels.ts";
await initBackend("wasm", { log: () => {} });
for (const shape of [[16, 12, 128, 128], [16, 128, 768]]) {
  const n = shape.reduce((a, b) => a * b);
  const buf = new Float32Array(n);
  const t = (f: () => void) => { f(); const ts = []; for (let i = 0; i < 7; i++) { const s = performance.now(); f(); ts.push(performance.now() - s); } ts.sort((a,b)=>a-b); return ts[3].toFixed(2); };
  const js = t(() => fillDropoutMask(buf, 0.1, 7));
  const wasm = t(() => { const m = tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, { shape, rate: 0.1, seed: 7 } as never) as tf.Tensor; m.dispose(); });
  const m = tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, { shape, rate: 0.1, seed: 7 } as never) as tf.Tensor;
  const same = (m.dataSync() as Float32Array).every((v, i) => v === buf[i]);
  console.log(shape.join("x"), "js", js, "wasm kernel", wasm, "identical", same);
}
