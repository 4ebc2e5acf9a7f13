/**
 * The independent references of the interchange and metrics tests: Debian's python3 with h5py, torch/torchvision,
 * onnx and scikit-learn (scripts/setup-python.sh installs them).
 * Missing locally, the tests that need them are skipped; under CI=true they fail.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';

export const PYTHON = '/usr/bin/python3';

/** Why `modules` cannot be imported by /usr/bin/python3, or undefined when they can. */
export function pythonMissing(modules: string[]): string | undefined {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import ${modules.join(', ')}: ${r.stderr.trim()}`;
}

/** In a `before` hook: skips the suite when the references are missing, fails under CI=true. */
export function requirePython(ctx: Mocha.Context, modules: string[]): void {
  const missing = pythonMissing(modules);
  if (!missing) return;
  if (process.env.CI === 'true')
    throw new Error(
      `${missing} (install the Debian packages python3-h5py, python3-torch, python3-torchvision, python3-onnx, ` +
        `python3-sklearn: bash scripts/setup-python.sh)`,
    );
  ctx.skip();
}

/** Runs a python script with arguments; returns its stdout; throws with its stderr. */
export function runPython(script: string, args: string[], input?: string): string {
  return execFileSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Reads a little-endian float32 file. */
export function readFloat32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(4 * i);
  return out;
}

/** Writes Keras' legacy .h5 layout with h5py: `spec` = [{layer, weights: [{name, shape}]}]; seeded values. */
export const KERAS_H5_WRITER = String.raw`
import sys, json, numpy as np, h5py
out, full = sys.argv[1], sys.argv[2] == 'full'
spec = json.load(sys.stdin)
rng = np.random.default_rng(7)
values = []
with h5py.File(out, 'w') as f:
    root = f.create_group('model_weights') if full else f
    if full:
        f.attrs['model_config'] = b'{"class_name": "Functional"}'
    root.attrs['layer_names'] = np.array([l['layer'].encode('utf8') for l in spec])
    root.attrs['backend'] = b'tensorflow'
    root.attrs['keras_version'] = b'2.15.0'
    for l in spec:
        g = root.create_group(l['layer'])
        g.attrs['weight_names'] = np.array([w['name'].encode('utf8') for w in l['weights']])
        for w in l['weights']:
            v = rng.standard_normal(w['shape']).astype(w.get('dtype', '<f4'))
            g.create_dataset(w['name'], data=v)
            values.append(v.astype('<f4').ravel())
np.concatenate(values).astype('<f4').tofile(out + '.values')
`;

/** Reads a legacy .h5 weights file as Keras' loader does; prints the names and shapes, writes the values. */
export const KERAS_H5_READER = String.raw`
import sys, json, numpy as np, h5py
f = h5py.File(sys.argv[1], 'r')
dec = lambda n: n.decode('utf8') if hasattr(n, 'decode') else n
layers = [dec(n) for n in f.attrs['layer_names']]
out, values = [], []
for name in layers:
    g = f[name]
    for w in [dec(n) for n in g.attrs['weight_names']]:
        v = np.asarray(g[w])
        out.append({'layer': name, 'weight': w, 'shape': list(v.shape), 'dtype': str(v.dtype)})
        values.append(v.astype('<f4').ravel())
np.concatenate(values).astype('<f4').tofile(sys.argv[2])
print(json.dumps({'layers': layers, 'weights': out, 'backend': dec(f.attrs['backend']),
                  'keras_version': dec(f.attrs['keras_version'])}))
`;

/**
 * A torchvision DenseNet (`arch`: a torchvision constructor such as densenet121, or growth/blocks/init/bn_size)
 * with seeded random weights and batch-norm statistics, exported to ONNX (opset 13, eval
 * mode) with torch's logits on a fixed input: `densenet.onnx`, `input.bin` (NCHW float32), `logits.bin`.
 */
export const TORCH_DENSENET_ONNX = String.raw`
import sys, os, json, torch, torchvision
out = sys.argv[1]
cfg = json.loads(sys.argv[2])
torch.manual_seed(11)
if 'arch' in cfg:
    m = getattr(torchvision.models, cfg['arch'])(num_classes=cfg['classes'])
else:
    m = torchvision.models.DenseNet(growth_rate=cfg['growth'], block_config=tuple(cfg['blocks']),
                                    num_init_features=cfg['init'], bn_size=cfg['bn_size'], num_classes=cfg['classes'])
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5); mod.bias.uniform_(-0.3, 0.3)
            mod.running_mean.uniform_(-0.3, 0.3); mod.running_var.uniform_(0.5, 1.5)
    m.classifier.bias.uniform_(-0.2, 0.2)
m.eval()
x = torch.rand(2, 3, cfg['size'], cfg['size'])
with torch.no_grad():
    logits = m(x)
torch.onnx.export(m, x, os.path.join(out, 'densenet.onnx'), opset_version=13, input_names=['input'],
                  output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
x.numpy().astype('<f4').tofile(os.path.join(out, 'input.bin'))
logits.numpy().astype('<f4').tofile(os.path.join(out, 'logits.bin'))
`;

/** onnx.checker.check_model (full check, shape inference included) on a file; prints the outputs' names. */
export const ONNX_CHECK = String.raw`
import sys, json, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(json.dumps({'outputs': [o.name for o in m.graph.output], 'producer': m.producer_name,
                  'opset': m.opset_import[0].version, 'meta': {p.key: p.value for p in m.metadata_props}}))
`;
