import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import { newSocketPath } from '../../src/runs/runEngine';
import { connectRun } from '../../src/runs/runClient';
import type { RunEngineContract, RunEngineState } from '../../src/protocol/engine';
import { MAX_LINE_CHARS, type NoContract, RpcEndpoint, type RpcMessage, socketPipe } from '../../src/protocol/rpc';

/** A fake stream: what was written, and a way to feed it chunks. */
function fakeStream() {
  const written: string[] = [];
  const listeners = new Set<(c: string | Uint8Array) => void>();
  return {
    written,
    writable: true,
    write: (s: string) => written.push(s),
    on: (_: 'data', l: (c: string | Uint8Array) => void) => listeners.add(l),
    off: (_: 'data', l: (c: string | Uint8Array) => void) => listeners.delete(l),
    feed: (c: string | Uint8Array) => listeners.forEach((l) => l(c)),
    listeners,
  };
}

describe('protocol/rpc socketPipe: newline-delimited JSON over a byte stream', () => {
  it('writes one JSON message per line, and nothing once the stream is not writable', () => {
    const s = fakeStream();
    const pipe = socketPipe(s);
    const m: RpcMessage = { rpc: 'event', name: 'log', payload: { message: 'a\nb' } };
    pipe.send(m);
    assert.deepStrictEqual(s.written, [JSON.stringify(m) + '\n']);
    assert.strictEqual(s.written[0].split('\n').length, 2, 'a newline inside a string is escaped');
    s.writable = false;
    pipe.send(m);
    assert.strictEqual(s.written.length, 1);
  });

  it('reads messages split across chunks (also inside a UTF-8 character), skips blank and non-JSON lines', () => {
    const s = fakeStream();
    const got: unknown[] = [];
    const stop = socketPipe(s).onMessage((m) => got.push(m));
    const bytes = new TextEncoder().encode('{"name":"é✓"}\n\nnot json\n{"n":2}\n{"n":');
    // Split inside the two-byte é and the three-byte ✓.
    const cut1 = bytes.indexOf(0xc3) + 1;
    s.feed(bytes.slice(0, cut1));
    s.feed(bytes.slice(cut1, cut1 + 3));
    s.feed(bytes.slice(cut1 + 3));
    assert.deepStrictEqual(got, [{ name: 'é✓' }, { n: 2 }]);
    s.feed('3}\n');
    assert.deepStrictEqual(got[2], { n: 3 });
    stop();
    assert.strictEqual(s.listeners.size, 0, 'stops listening');
  });

  it('drops a line that grows past the limit instead of buffering it for ever', () => {
    const s = fakeStream();
    const got: unknown[] = [];
    socketPipe(s).onMessage((m) => got.push(m));
    s.feed('"' + 'x'.repeat(MAX_LINE_CHARS));
    s.feed('x"\n{"ok":true}\n');
    assert.deepStrictEqual(got, [{ ok: true }]);
  });

  it('carries requests, answers and events between RpcEndpoints over a real local socket', async () => {
    const socketPath = newSocketPath();
    const state: RunEngineState = { epochs: [], stopping: false };
    const server = net.createServer((socket) => {
      socket.setEncoding('utf8');
      const ep = new RpcEndpoint<RunEngineContract, NoContract>(socketPipe(socket));
      ep.handle('attach', () => state);
      ep.handle('stop', () => {
        state.stopping = true;
        ep.notify('log', { level: 'info', message: 'stopping' });
        return null;
      });
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    try {
      const client = await connectRun(socketPath);
      const logs: string[] = [];
      client.endpoint.on('log', (l) => logs.push(l.message));
      assert.deepStrictEqual(await client.endpoint.request('attach', null), state);
      assert.strictEqual(await client.endpoint.request('stop', null), null);
      assert.strictEqual((await client.endpoint.request('attach', null)).stopping, true);
      assert.deepStrictEqual(logs, ['stopping']);
      client.close();
      await client.closed;
      await assert.rejects(client.endpoint.request('attach', null), /closed/);
    } finally {
      await new Promise((r) => server.close(r));
    }
    if (process.platform !== 'win32') assert.ok(!fs.existsSync(socketPath), 'the socket file goes with the server');
    await assert.rejects(connectRun(socketPath), /Cannot reach the training engine at .*dnl-/);
  });
});
