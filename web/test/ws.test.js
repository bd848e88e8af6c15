// The graphql-transport-ws client against a scripted fake WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const store = new Map();
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
globalThis.window = { location: { protocol: 'https:', host: 'kaowu.test' }, addEventListener() {} };

const sockets = [];
class FakeSocket {
  static OPEN = 1;
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = 0;
    this.sent = [];
    sockets.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(s) {
    this.sent.push(JSON.parse(s));
  }
  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code }));
  }
  // server side
  push(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}
globalThis.WebSocket = FakeSocket;

const { auth, ws, subscribe } = await import('../src/api.js');
const tick = () => new Promise((r) => setTimeout(r, 0));

test('init with token, subscribe after ack, next, ping/pong, complete, reconnect', async (t) => {
  auth.set('tok123');
  await new Promise((r) => setTimeout(r, 5)); // let the deferred restart run
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const got = [];
  let completed = false;
  const stop = subscribe('subscription { notificationAdded { id } }', {}, {
    next: (d) => got.push(d),
    complete: () => (completed = true),
  });
  await Promise.resolve();
  await Promise.resolve();
  const s = sockets.at(-1);
  assert.equal(s.url, 'wss://kaowu.test/graphql');
  assert.equal(s.protocol, 'graphql-transport-ws');
  assert.deepEqual(s.sent[0], { type: 'connection_init', payload: { Authorization: 'Bearer tok123' } });
  assert.equal(s.sent.length, 1, 'nothing but init before the ack');

  s.push({ type: 'connection_ack' });
  assert.equal(ws.state, 'open');
  const sub = s.sent[1];
  assert.equal(sub.type, 'subscribe');
  assert.match(sub.payload.query, /notificationAdded/);

  s.push({ type: 'ping' });
  assert.deepEqual(s.sent.at(-1), { type: 'pong' });

  s.push({ id: sub.id, type: 'next', payload: { data: { notificationAdded: { id: '1' } } } });
  assert.deepEqual(got, [{ notificationAdded: { id: '1' } }]);

  // Connection lost: reconnect after back-off and subscribe again.
  s.drop(1006);
  assert.equal(ws.state, 'retrying');
  t.mock.timers.tick(2000);
  await Promise.resolve();
  await Promise.resolve();
  const s2 = sockets.at(-1);
  assert.notEqual(s2, s);
  assert.equal(s2.sent[0].type, 'connection_init');
  s2.push({ type: 'connection_ack' });
  assert.equal(s2.sent[1].type, 'subscribe');
  s2.push({ id: s2.sent[1].id, type: 'next', payload: { data: { notificationAdded: { id: '2' } } } });
  assert.equal(got.length, 2);

  // Server completes it.
  s2.push({ id: s2.sent[1].id, type: 'complete' });
  assert.ok(completed);
  stop(); // no-op now

  // Unsubscribing from a live subscription sends complete.
  const stop2 = subscribe('subscription { announcementPublished { id } }', {}, { next() {} });
  const id2 = s2.sent.at(-1).id;
  assert.equal(s2.sent.at(-1).type, 'subscribe');
  stop2();
  assert.deepEqual(s2.sent.at(-1), { id: id2, type: 'complete' });
  t.mock.timers.tick(1500); // idle close
  assert.equal(s2.readyState, 3);
  await tick;
});

test('4401 Unauthorized drops the token and errors the subscription', async () => {
  auth.set('tok-old');
  let err = null;
  let event = null;
  const off = auth.subscribe((e) => (event = e.type));
  subscribe('subscription { notificationAdded { id } }', {}, { next() {}, error: (e) => (err = e) });
  await new Promise((r) => setTimeout(r, 5));
  const s = sockets.at(-1);
  s.drop(4401);
  assert.equal(err?.code, 'UNAUTHENTICATED');
  assert.equal(auth.token, null);
  assert.equal(event, 'expired');
  off();
});
