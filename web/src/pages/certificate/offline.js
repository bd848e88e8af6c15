// Offline check of a certificate QR code in the browser: the Ed25519
// signature over the payload, against the published key set
// (/verify/keys.json), with WebCrypto — no server verdict involved. The
// payload layout is in docs/certificates.md: version byte, key id (length
// byte + bytes), …, then the 64-byte signature.

function b64urlDecode(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const pad = b64.length % 4 ? '='.repeat(4 - (b64.length % 4)) : '';
  const bin = atob(b64 + pad);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The payload part of a QR link (after "/verify/", without query or fragment). */
export function payloadOf(href) {
  const i = href.lastIndexOf('/verify/');
  const p = i >= 0 ? href.slice(i + '/verify/'.length) : href;
  return p.split(/[?#]/)[0].trim();
}

/** Splits a payload into signed body, signature and key id; null when malformed. */
export function parsePayload(payload) {
  let raw;
  try {
    raw = b64urlDecode(payload);
  } catch {
    return null;
  }
  if (raw.length < 1 + 1 + 64) return null;
  const body = raw.slice(0, raw.length - 64);
  const sig = raw.slice(raw.length - 64);
  const n = body[1];
  if (!n || 2 + n > body.length) return null;
  const keyID = new TextDecoder().decode(body.slice(2, 2 + n));
  return { version: body[0], keyID, body, sig };
}

/**
 * Verifies the signature in this browser. Resolves to
 * { state: 'VALID' | 'BAD_SIGNATURE' | 'UNKNOWN_KEY' | 'MALFORMED' | 'UNSUPPORTED', keyID }.
 */
export async function verifyOffline(href, fetchKeys = () => fetch('/verify/keys.json').then((r) => r.json())) {
  const p = parsePayload(payloadOf(href));
  if (!p) return { state: 'MALFORMED' };
  if (!globalThis.crypto?.subtle) return { state: 'UNSUPPORTED', keyID: p.keyID };
  const set = await fetchKeys();
  const k = (set.keys || []).find((x) => x.kid === p.keyID);
  if (!k) return { state: 'UNKNOWN_KEY', keyID: p.keyID };
  let key;
  try {
    key = await crypto.subtle.importKey('raw', b64urlDecode(k.publicKey), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return { state: 'UNSUPPORTED', keyID: p.keyID }; // a browser without Ed25519 in WebCrypto
  }
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, p.sig, p.body);
  return { state: ok ? 'VALID' : 'BAD_SIGNATURE', keyID: p.keyID };
}

export const OFFLINE_TEXT = {
  VALID: '签名有效',
  BAD_SIGNATURE: '签名无效：二维码内容被伪造或篡改',
  UNKNOWN_KEY: '签名所用密钥不在公布的公钥中',
  MALFORMED: '二维码内容不是本系统的证书信息',
  UNSUPPORTED: '本浏览器不支持离线核验，以在线结果为准',
};
