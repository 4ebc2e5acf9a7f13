import * as assert from 'assert';
import { type Contract, pipePair, RpcEndpoint, RpcError, Transfer } from '../../src/protocol/rpc';

interface Server extends Contract {
  requests: {
    add: { params: { a: number; b: number }; result: number };
    fail: { params: string; result: never };
    count: { params: number; result: 'done' | 'cancelled'; progress: number };
    bytes: { params: null; result: Float32Array };
  };
  events: { tick: { n: number } };
}
interface Client extends Contract {
  requests: { whoami: { params: null; result: string } };
  events: Record<never, unknown>;
}

function connect() {
  const [a, b] = pipePair();
  const server = new RpcEndpoint<Server, Client>(a);
  const client = new RpcEndpoint<Client, Server>(b);
  return { server, client };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('protocol: typed RPC endpoint', () => {
  it('answers a request with its typed result, both ways', async () => {
    const { server, client } = connect();
    server.handle('add', ({ a, b }) => a + b);
    client.handle('whoami', () => 'client');
    assert.strictEqual(await client.request('add', { a: 2, b: 3 }), 5);
    assert.strictEqual(await server.request('whoami', null), 'client');
    assert.strictEqual(client.waiting, 0);
  });

  it('rejects with the error the handler threw, and with an error for an unknown method', async () => {
    const { server, client } = connect();
    server.handle('fail', (why) => {
      throw new TypeError(`no: ${why}`);
    });
    await assert.rejects(client.request('fail', 'because'), (e: Error) => {
      assert.ok(e instanceof RpcError);
      assert.strictEqual(e.message, 'no: because');
      assert.strictEqual(e.name, 'TypeError');
      return true;
    });
    await assert.rejects(client.request('add', { a: 1, b: 1 }), /No handler for 'add'/);
  });

  it('delivers progress to the one request it belongs to, and cancels through the handler signal', async () => {
    const { server, client } = connect();
    server.handle('count', async (limit, { progress, signal }) => {
      for (let i = 1; i <= limit; i++) {
        if (signal.aborted) return 'cancelled';
        progress(i);
        await tick();
      }
      return 'done';
    });
    const seen: number[] = [];
    assert.strictEqual(await client.request('count', 3, { onProgress: (v) => seen.push(v) }), 'done');
    assert.deepStrictEqual(seen, [1, 2, 3]);
    const controller = new AbortController();
    const other: number[] = [];
    const running = client.request('count', 1000, {
      signal: controller.signal,
      onProgress: (v) => {
        other.push(v);
        if (v === 2) controller.abort();
      },
    });
    assert.strictEqual(await running, 'cancelled');
    assert.ok(other.length < 10, `stopped after ${other.length} steps`);
  });

  it('sends events to their listeners until they unsubscribe', async () => {
    const { server, client } = connect();
    const got: number[] = [];
    const off = client.on('tick', (p) => got.push(p.n));
    server.notify('tick', { n: 1 });
    server.notify('tick', new Transfer({ n: 2 }, []));
    await tick();
    off();
    server.notify('tick', { n: 3 });
    await tick();
    assert.deepStrictEqual(got, [1, 2]);
  });

  it('carries typed arrays, and close() rejects every waiting request', async () => {
    const { server, client } = connect();
    server.handle('bytes', () => new Float32Array([1.5, -2]));
    assert.deepStrictEqual(Array.from(await client.request('bytes', null)), [1.5, -2]);
    server.handle('count', () => new Promise(() => undefined));
    const waiting = client.request('count', 1);
    client.close(new Error('engine exited (signal SIGKILL)'));
    await assert.rejects(waiting, /signal SIGKILL/);
    await assert.rejects(client.request('add', { a: 1, b: 2 }), /signal SIGKILL/);
  });

  it('ignores messages that are not its own', async () => {
    const [a, b] = pipePair();
    const server = new RpcEndpoint<Server, Client>(a);
    server.handle('add', ({ a: x, b: y }) => x + y);
    const raw: unknown[] = [];
    b.onMessage((m) => raw.push(m));
    b.send({ rpc: 'request', id: 'x', method: 'add', params: {} } as never);
    b.send({ hello: 1 } as never);
    await tick();
    assert.deepStrictEqual(raw, []);
  });

  it('starts its request ids where it is told, so a restarted side never takes an answer meant for its predecessor', async () => {
    const [a, b] = pipePair();
    const server = new RpcEndpoint<Server, Client>(a);
    server.handle('add', ({ a: x, b: y }) => x + y);
    // The page before a reload: its request 1 is still running on the host when the page goes away.
    const old = new RpcEndpoint<Client, Server>(b);
    let release!: () => void;
    server.handle('count', () => new Promise<'done'>((resolve) => (release = () => resolve('done'))));
    void old.request('count', 1).catch(() => undefined);
    await tick();
    old.close();
    // The reloaded page takes a fresh range: the stale answer to request 1 settles nothing of it.
    const reloaded = new RpcEndpoint<Client, Server>(b, { firstId: 1_000_001 });
    const sent: number[] = [];
    a.onMessage((m) => sent.push((m as { id: number }).id));
    const sum = reloaded.request('add', { a: 2, b: 2 });
    release();
    assert.strictEqual(await sum, 4);
    assert.deepStrictEqual(sent, [1_000_001]);
  });
});
