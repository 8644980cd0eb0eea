// Runs an 'rdiff export' folder in onnxruntime-node, reading only model.json for names and shapes:
//   node run-exported.js EXPORT_DIR INPUTS_JSON OUTPUTS_JSON
// INPUTS_JSON holds { features: [N*d floats], seeds: [M], labels?: [M], guidance?: [M] }, the int64 seeds and
// labels as decimal strings (JSON numbers lose digits past 2^53);
// OUTPUTS_JSON gets each likelihood output and the generation output, flattened, under the graph's own names.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function run(dir, graph, feeds) {
  const session = await ort.InferenceSession.create(path.join(dir, graph.file));
  const results = await session.run(feeds);
  const out = {};
  for (const port of graph.outputs) out[port.name] = Array.from(results[port.name].data, Number);
  return out;
}

async function main() {
  const [dir, inputsPath, outputsPath] = process.argv.slice(2);
  const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const inputs = JSON.parse(fs.readFileSync(inputsPath, 'utf8'));

  const like = model.likelihood;
  const d = like.inputs[0].shape[1];
  const rows = inputs.features.length / d;
  const likelihood = await run(dir, like, {
    [like.inputs[0].name]: new ort.Tensor('float32', Float32Array.from(inputs.features), [rows, d]),
  });

  const gen = model.generation;
  const m = inputs.seeds.length;
  const genFeeds = {};
  for (const port of gen.inputs) {
    const values = port.type === 'int64'
      ? BigInt64Array.from((port.name === gen.inputs[0].name ? inputs.seeds : inputs.labels).map(BigInt))
      : Float32Array.from(inputs.guidance);
    genFeeds[port.name] = new ort.Tensor(port.type, values, [m, 1]);
  }
  const generation = await run(dir, gen, genFeeds);

  fs.writeFileSync(outputsPath, JSON.stringify({ ...likelihood, ...generation, version: ort.env.versions.node }));
}

main().catch(e => { console.error(e); process.exit(1); });
