import * as assert from 'assert';
import { PanelChannel, webviewPipe, type WebviewPort } from '../../src/panels/panelChannel';
import type { NoRequests } from '../../src/protocol/panel';
import { type Contract, pipePair, type RpcMessage, RpcEndpoint } from '../../src/protocol/rpc';

interface Host extends Contract {
  requests: {
    state: { params: null; result: { n: number } };
    fail: { params: string; result: void };
    slow: { params: null; result: 'done' | 'aborted' };
  };
  events: { changed: { n: number } };
}
interface View extends Contract {
  requests: NoRequests;
  events: { rendered: { ms: number } };
}

interface Report {
  what: string;
  message: string;
  shownByWebview: boolean;
}

/** A panel's channel and its page, joined through a fake webview (postMessage / onDidReceiveMessage). */
function connect() {
  const [pageEnd, webviewEnd] = pipePair();
  const port: WebviewPort = {
    postMessage: (m) => {
      webviewEnd.send(m as RpcMessage);
      return Promise.resolve(true);
    },
    onDidReceiveMessage: (listener) => ({ dispose: webviewEnd.onMessage(listener) }),
  };
  const reports: Report[] = [];
  const channel = new PanelChannel<Host, View>(webviewPipe(port), (what, error, shownByWebview) =>
    reports.push({ what, message: (error as Error).message, shownByWebview }),
  );
  const page = new RpcEndpoint<View, Host>(pageEnd, { firstId: 1000 });
  return { channel, page, reports };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('panels: the channel between a panel and its webview', () => {
  it('answers the page and announces to it', async () => {
    const { channel, page } = connect();
    channel.handle('state', () => ({ n: 1 }));
    const seen: number[] = [];
    page.on('changed', ({ n }) => seen.push(n));
    assert.deepStrictEqual(await page.request('state', null), { n: 1 });
    channel.notify('changed', { n: 2 });
    await tick();
    assert.deepStrictEqual(seen, [2]);
  });

  it('reports a failed handler once, and answers the page with the error', async () => {
    const { channel, page, reports } = connect();
    channel.handle('fail', async (why) => {
      await tick();
      throw new Error(`cannot: ${why}`);
    });
    await assert.rejects(page.request('fail', 'disk full'), /cannot: disk full/);
    assert.deepStrictEqual(reports, [{ what: 'fail', message: 'cannot: disk full', shownByWebview: false }]);
  });

  it('says when the page shows the failure itself', async () => {
    const { channel, page, reports } = connect();
    channel.handle(
      'fail',
      () => {
        throw new Error('no gradient');
      },
      { shownByWebview: true },
    );
    await assert.rejects(page.request('fail', ''), /no gradient/);
    assert.deepStrictEqual(reports, [{ what: 'fail', message: 'no gradient', shownByWebview: true }]);
  });

  it("reports a failed listener of the page's events, thrown or rejected, and work not awaited", async () => {
    const { channel, page, reports } = connect();
    let calls = 0;
    channel.on('rendered', ({ ms }) => {
      calls++;
      if (ms === 1) throw new Error('thrown');
      return Promise.reject(new Error('rejected'));
    });
    page.notify('rendered', { ms: 1 });
    page.notify('rendered', { ms: 2 });
    channel.background('train', Promise.reject(new Error('no engine')));
    await tick();
    assert.strictEqual(calls, 2);
    assert.strictEqual(reports.length, 3);
    assert.deepStrictEqual(
      new Set(reports.map((r) => `${r.what}: ${r.message}`)),
      new Set(['rendered: thrown', 'rendered: rejected', 'train: no engine']),
    );
    assert.ok(reports.every((r) => !r.shownByWebview));
  });

  it('cancels a request the page aborts through the handler signal', async () => {
    const { channel, page } = connect();
    channel.handle(
      'slow',
      (_, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted'))),
    );
    const abort = new AbortController();
    const answer = page.request('slow', null, { signal: abort.signal });
    await tick();
    abort.abort();
    assert.strictEqual(await answer, 'aborted');
  });

  it('on close, aborts the running handlers and stops answering and announcing', async () => {
    const { channel, page, reports } = connect();
    let aborted = false;
    channel.handle('slow', (_, { signal }) => {
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise(() => undefined);
    });
    channel.handle('state', () => ({ n: 1 }));
    const seen: number[] = [];
    page.on('changed', ({ n }) => seen.push(n));
    void page.request('slow', null).catch(() => undefined);
    await tick();
    channel.close();
    channel.close();
    assert.ok(aborted);
    channel.notify('changed', { n: 3 });
    let answered = false;
    void page.request('state', null).then(() => (answered = true));
    await tick();
    assert.deepStrictEqual(seen, []);
    assert.strictEqual(answered, false);
    assert.deepStrictEqual(reports, []);
  });

  it('drops what a torn-down webview refuses', async () => {
    let unsubscribed = false;
    const rejecting = webviewPipe({
      postMessage: () => Promise.reject(new Error('Webview is disposed')),
      onDidReceiveMessage: () => ({ dispose: () => (unsubscribed = true) }),
    });
    const throwing = webviewPipe({
      postMessage: () => {
        throw new Error('Webview is disposed');
      },
      onDidReceiveMessage: () => ({ dispose: () => undefined }),
    });
    rejecting.send({ rpc: 'event', name: 'changed', payload: {} });
    throwing.send({ rpc: 'event', name: 'changed', payload: {} });
    rejecting.onMessage(() => undefined)();
    await tick();
    assert.ok(unsubscribed);
  });
});
