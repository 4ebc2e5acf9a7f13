import * as assert from 'assert';
import { centreOn, fitTransform, MAX_SCALE, MIN_SCALE, zoomAt } from '../../src/core/viewTransform';

describe('core/viewTransform', () => {
  it('fit: a large diagram shrinks to the view and is centred; a small one stays 1:1', () => {
    const t = fitTransform({ width: 2000, height: 1000 }, { width: 1016, height: 800 });
    assert.strictEqual(t.scale, 0.5);
    assert.strictEqual(t.x, 8);
    assert.strictEqual(t.y, (800 - 500) / 2);
    const small = fitTransform({ width: 100, height: 100 }, { width: 1000, height: 800 });
    assert.deepStrictEqual(small, { scale: 1, x: 450, y: 350 });
    assert.strictEqual(fitTransform({ width: 1e7, height: 10 }, { width: 100, height: 100 }).scale, MIN_SCALE);
  });

  it('zoom at a point keeps the content under it in place, within the scale limits', () => {
    const t = { scale: 0.5, x: 20, y: 30 };
    const z = zoomAt(t, 2, 220, 130);
    assert.strictEqual(z.scale, 1);
    // The content point under (220, 130): ((220-20)/0.5, (130-30)/0.5) = (400, 200), still there.
    assert.strictEqual(400 * z.scale + z.x, 220);
    assert.strictEqual(200 * z.scale + z.y, 130);
    assert.strictEqual(zoomAt(t, 1000, 0, 0).scale, MAX_SCALE);
    assert.strictEqual(zoomAt(t, 1e-6, 0, 0).scale, MIN_SCALE);
  });

  it('centre on a box', () => {
    const t = centreOn({ x: 100, y: 200, width: 50, height: 20 }, { width: 400, height: 300 }, 2);
    assert.strictEqual(125 * t.scale + t.x, 200);
    assert.strictEqual(210 * t.scale + t.y, 150);
  });
});
