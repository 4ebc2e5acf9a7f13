import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { validateSpec } from '../../src/core';
import {
  type DiagramLayout,
  type DiagramModel,
  diagramModel,
  layoutDiagram,
  specPathsOf,
} from '../../src/core/diagram';

const ROOT = path.resolve(__dirname, '../../..');
const example = () => {
  const r = validateSpec(fs.readFileSync(path.join(ROOT, 'examples/cifar/densenet-bc-100.densenet.json'), 'utf8'));
  assert.ok(r.analysis && !r.analysis.problem);
  return diagramModel(r.analysis);
};
const preset = (name: string) => {
  const r = validateSpec(JSON.stringify({ version: 1, model: { preset: name } }));
  assert.ok(r.analysis && !r.analysis.problem);
  return diagramModel(r.analysis);
};
const allExpanded = (m: DiagramModel) =>
  Object.fromEntries(m.groups.filter((g) => g.kind === 'block').map((g) => [g.name, true]));

function assertNoOverlap(l: DiagramLayout): void {
  const boxes = [...l.nodes].sort((a, b) => a.y - b.y);
  for (let i = 1; i < boxes.length; i++) {
    const a = boxes[i - 1];
    const b = boxes[i];
    const overlapX = a.x < b.x + b.width && b.x < a.x + a.width;
    assert.ok(!overlapX || a.y + a.height <= b.y, `${a.id} overlaps ${b.id}`);
  }
  for (const n of l.nodes) {
    assert.ok(
      n.x >= 0 && n.y >= 0 && n.x + n.width <= l.width && n.y + n.height <= l.height,
      `${n.id} inside the canvas`,
    );
  }
  // Frames do not overlap each other or the nodes outside them.
  for (const f of l.frames) {
    for (const n of l.nodes) {
      const inside = n.y >= f.y && n.y + n.height <= f.y + f.height;
      const apart = n.y + n.height <= f.y || n.y >= f.y + f.height || n.x + n.width <= f.x || n.x >= f.x + f.width;
      assert.ok(n.group === f.group ? inside : apart, `${n.id} vs frame ${f.group}`);
    }
  }
}

describe('architecture diagram', () => {
  it('models the example: input, stem, 3 blocks of 16, 2 transitions, head', () => {
    const m = example();
    assert.deepStrictEqual(
      m.groups.map((g) => g.name),
      ['input', 'conv1', 'conv2', 'pool2', 'conv3', 'pool3', 'conv4', 'head'],
    );
    assert.deepStrictEqual(
      m.groups.filter((g) => g.kind === 'block').map((g) => g.layers.length),
      [16, 16, 16],
    );
    assert.strictEqual(m.maxChannels, 342);
    const b1 = m.groups[2].layers;
    assert.deepStrictEqual(b1[0], {
      name: 'conv2_block1',
      outputShape: [32, 32, 36],
      bottleneck: 48,
      growth: 12,
      params: b1[0].params,
    });
    assert.deepStrictEqual(b1[15].outputShape, [32, 32, 216]);
  });

  it('collapses blocks above 12 layers by default: 8 nodes for the example', () => {
    const l = layoutDiagram(example());
    assert.strictEqual(l.nodes.length, 8);
    assert.deepStrictEqual(
      l.nodes.map((n) => n.label),
      ['input_1', 'conv1_conv', 'conv2', 'pool2_conv', 'conv3', 'pool3_conv', 'conv4', 'predictions'],
    );
    assert.strictEqual(l.edges.filter((e) => e.kind === 'dense').length, 0);
    assert.strictEqual(l.edges.filter((e) => e.kind === 'flow').length, 7);
    assert.strictEqual(l.frames.length, 0);
    assertNoOverlap(l);
  });

  it('expanded: one node per dense layer (53 for the example), in order', () => {
    const m = example();
    const l = layoutDiagram(m, { expanded: allExpanded(m) });
    assert.strictEqual(l.nodes.length, 1 + 1 + 48 + 2 + 1);
    assert.strictEqual(l.frames.length, 3);
    const ids = l.nodes.map((n) => n.id);
    assert.deepStrictEqual(ids.slice(0, 4), ['input', 'conv1', 'conv2_block1', 'conv2_block2']);
    assert.ok(ids.indexOf('pool2') === ids.indexOf('conv2_block16') + 1);
    assertNoOverlap(l);
    // Top to bottom in order.
    for (let i = 1; i < l.nodes.length; i++) assert.ok(l.nodes[i].y > l.nodes[i - 1].y);
  });

  it('a dense block has n(n+1)/2 concatenation edges, the block input included', () => {
    const m = example();
    const l = layoutDiagram(m, { expanded: { conv3: true } });
    assert.strictEqual(l.nodes.length, 8 - 1 + 16);
    const dense = l.edges.filter((e) => e.kind === 'dense');
    assert.strictEqual(dense.length, (16 * 17) / 2);
    assert.ok(dense.every((e) => e.group === 'conv3'));
    // The block input (transition pool2) feeds every layer; layer j gets j inputs.
    assert.strictEqual(dense.filter((e) => e.from === 'pool2').length, 16);
    for (let j = 1; j <= 16; j++) assert.strictEqual(dense.filter((e) => e.to === `conv3_block${j}`).length, j);
    assert.ok(dense.every((e) => /^M[\d.]+ [\d.]+C/.test(e.path)));
    // The chain continues from the last dense layer to the next transition.
    assert.ok(l.edges.some((e) => e.kind === 'flow' && e.from === 'conv3_block16' && e.to === 'pool3'));
  });

  it('labels: Keras names, output shapes, channels and the channel bar growing through a block', () => {
    const m = example();
    const l = layoutDiagram(m, { expanded: { conv2: true } });
    const byId = new Map(l.nodes.map((n) => [n.id, n]));
    const t = byId.get('pool2')!;
    assert.strictEqual(t.label, 'pool2_conv');
    assert.deepStrictEqual(t.outputShape, [16, 16, 108]);
    assert.strictEqual(t.detail, '1x1 conv 216->108 + 2x2 avg pool');
    assert.strictEqual(byId.get('conv1')!.detail, '3x3/1 conv, 24 filters');
    assert.strictEqual(byId.get('conv2_block1')!.detail, 'BN-ReLU-1x1(48)-BN-ReLU-3x3(12)');
    assert.strictEqual(byId.get('head')!.label, 'predictions');
    assert.deepStrictEqual(byId.get('head')!.outputShape, [10]);
    const fractions = Array.from({ length: 16 }, (_, i) => byId.get(`conv2_block${i + 1}`)!.channelFraction);
    for (let i = 1; i < 16; i++) assert.ok(fractions[i] > fractions[i - 1]);
    assert.strictEqual(byId.get('conv2_block16')!.channels, 216);
    assert.ok(Math.abs(byId.get('conv4')!.channelFraction - 1) < 1e-9);
  });

  it('small blocks expand by default; the user can collapse them', () => {
    const m = preset('densenet121'); // [6, 12, 24, 16]
    const l = layoutDiagram(m);
    assert.deepStrictEqual(
      l.frames.map((f) => f.group),
      ['conv2', 'conv3'],
    );
    assert.strictEqual(l.nodes.length, 1 + 1 + 6 + 12 + 1 + 1 + 3 + 1);
    const c = layoutDiagram(m, { expanded: { conv2: false } });
    assert.deepStrictEqual(
      c.frames.map((f) => f.group),
      ['conv3'],
    );
    assertNoOverlap(l);
  });

  // How fast it renders is measured in the real VS Code (test/ui/architecture*.ui.mjs), not in a timed unit test.
  it('DenseNet-264 lays out, expanded or collapsed, without overlaps', () => {
    const m = preset('densenet264'); // [6, 12, 64, 48]
    const collapsed = layoutDiagram(m);
    const expanded = layoutDiagram(m, { expanded: allExpanded(m) });
    assert.strictEqual(collapsed.nodes.length, 1 + 1 + 6 + 12 + 3 + 2 + 1);
    assert.strictEqual(expanded.nodes.length, 1 + 1 + 130 + 3 + 1);
    assert.strictEqual(
      expanded.edges.filter((e) => e.kind === 'dense').length,
      [6, 12, 64, 48].reduce((s, n) => s + (n * (n + 1)) / 2, 0),
    );
    assertNoOverlap(expanded);
  });

  it('wrap: DenseNet-121 expanded takes one column per block, using the width instead of a tall column', () => {
    const m = preset('densenet121'); // [6, 12, 24, 16]
    const single = layoutDiagram(m, { expanded: allExpanded(m) });
    const l = layoutDiagram(m, { expanded: allExpanded(m), wrap: true });
    assert.strictEqual(l.nodes.length, single.nodes.length);
    assert.strictEqual(l.nodes.length, 1 + 1 + 58 + 3 + 1);
    const columns = [...new Set(l.nodes.map((n) => n.x))];
    assert.strictEqual(columns.length, 5);
    const columnOf = (id: string) => columns.indexOf(l.nodes.find((n) => n.id === id)?.x ?? -1);
    // input+stem | conv2 + pool2 | conv3 + pool3 | conv4 + pool4 | conv5 + head
    assert.deepStrictEqual(
      ['conv1', 'conv2_block1', 'pool2', 'conv3_block1', 'pool3', 'conv4_block24', 'pool4', 'conv5_block1', 'head'].map(
        columnOf,
      ),
      [0, 1, 1, 2, 2, 3, 3, 4, 4],
    );
    assert.ok(l.width > 4 * single.width, `${l.width} vs ${single.width}`);
    assert.ok(l.height < single.height / 2, `${l.height} vs ${single.height}`);
    assertNoOverlap(l);
    // Each block's input is in the column before: a flow edge reaches its frame, its arcs start at the header.
    for (const [block, input] of [
      ['conv2', 'conv1'],
      ['conv3', 'pool2'],
      ['conv4', 'pool3'],
      ['conv5', 'pool4'],
    ]) {
      const frame = l.frames.find((f) => f.group === block);
      assert.ok(frame);
      const flow = l.edges.find((e) => e.kind === 'flow' && e.from === input && e.to === block);
      assert.ok(flow, `flow ${input} -> ${block}`);
      assert.ok(flow.path.endsWith(`V${frame.y}`), flow.path);
      const arcs = l.edges.filter((e) => e.kind === 'dense' && e.from === input);
      assert.strictEqual(arcs.length, m.groups.find((g) => g.name === block)?.layers.length);
      for (const e of arcs) assert.ok(e.path.includes(` ${frame.y + frame.headerHeight / 2}C`), e.path);
    }
    // Same number of dense edges, and every node carries its parameters (they add up to the network's).
    assert.strictEqual(l.edges.length, single.edges.length + 4);
    assert.strictEqual(
      l.nodes.reduce((s, n) => s + n.params, 0),
      m.totals.params,
    );
  });

  it('names the spec text each group is defined by', () => {
    assert.deepStrictEqual(specPathsOf('block', 2)[0], ['model', 'blockConfig', 1]);
    assert.deepStrictEqual(specPathsOf('transition', 1)[0], ['model', 'compression']);
    assert.deepStrictEqual(specPathsOf('head', 0)[0], ['classes']);
    assert.deepStrictEqual(specPathsOf('stem', 0)[0], ['model', 'stem']);
  });
});
