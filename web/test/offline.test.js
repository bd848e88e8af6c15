import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePayload, payloadOf, verifyOffline } from '../src/pages/certificate/offline.js';

// Signed by the Go side (internal/certificate/sign, key "k2026" from seed
// 32×0x07) for KW-C2-2026-000042: the browser check must agree with it.
const PAYLOAD =
  'AQVrMjAyNhFLVy1DMi0yMDI2LTAwMDA0MgAAAAAAAAAAAkMyoJwB6KQBAXshfYqXvlK51tT3xkWcpAg1oyrufK-fNR9X5KzIB7Fj_fmJvidRZLgMvQfo3bvuNhTp_VRxZJ5cfqM5s2E30g8';
const KEYS = { algorithm: 'Ed25519', keys: [{ kid: 'k2026', publicKey: '6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw', active: true }] };
const keys = async () => KEYS;

test('the payload is taken from the QR link and its key id read', () => {
  assert.equal(payloadOf(`https://kaowu.example/verify/${PAYLOAD}?x=1#y`), PAYLOAD);
  const p = parsePayload(PAYLOAD);
  assert.equal(p.version, 1);
  assert.equal(p.keyID, 'k2026');
  assert.equal(p.sig.length, 64);
  assert.equal(parsePayload('not-a-payload'), null);
});

test('a genuine payload verifies; an altered one, an unknown key and junk do not', async () => {
  assert.equal((await verifyOffline(`https://kaowu.example/verify/${PAYLOAD}`, keys)).state, 'VALID');
  // One character of the signed body changed (inside the certificate number).
  const altered = PAYLOAD.slice(0, 20) + (PAYLOAD[20] === 'A' ? 'B' : 'A') + PAYLOAD.slice(21);
  assert.equal((await verifyOffline(altered, keys)).state, 'BAD_SIGNATURE');
  const other = async () => ({ keys: [{ kid: 'old', publicKey: KEYS.keys[0].publicKey }] });
  assert.equal((await verifyOffline(PAYLOAD, other)).state, 'UNKNOWN_KEY');
  assert.equal((await verifyOffline('https://kaowu.example/verify/%%%', keys)).state, 'MALFORMED');
});
