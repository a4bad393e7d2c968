// face-api (@vladmandic/face-api 1.7.15, tfjs 4.22.0 WASM backend) expression scores for face crops.
// Run by scripts/expression/expression_eval.py: node expression_faceapi.js PREFIX CROPS.u8 N SIZE OUT.json
// PREFIX is the npm --prefix folder (build/peers-expr); CROPS.u8 holds N SIZE×SIZE×3 RGB uint8 crops.
const path = require('path');
const fs = require('fs');
const [prefix, cropsFile, nStr, sizeStr, outFile] = process.argv.slice(2);
const mods = path.resolve(prefix, 'node_modules');
const tf = require(path.join(mods, '@tensorflow/tfjs'));
const wasm = require(path.join(mods, '@tensorflow/tfjs-backend-wasm'));
const faceapi = require(path.join(mods, '@vladmandic/face-api/dist/face-api.node-wasm.js'));

(async () => {
  wasm.setWasmPaths(path.join(mods, '@tensorflow/tfjs-backend-wasm/dist') + '/');
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.faceExpressionNet.loadFromDisk(path.join(mods, '@vladmandic/face-api/model'));
  const n = parseInt(nStr, 10);
  const size = parseInt(sizeStr, 10);
  const buf = fs.readFileSync(cropsFile);
  const out = [];
  for (let i = 0; i < n; i++) {
    const px = new Int32Array(buf.subarray(i * size * size * 3, (i + 1) * size * size * 3));
    const t = tf.tensor3d(px, [size, size, 3], 'int32');
    let r = await faceapi.nets.faceExpressionNet.predictExpressions(t);
    if (Array.isArray(r)) r = r[0];
    out.push(Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === 'number')));
    t.dispose();
  }
  fs.writeFileSync(outFile, JSON.stringify({ backend: tf.getBackend(), version: faceapi.version, scores: out }));
})().catch((e) => { console.error(e); process.exit(1); });
