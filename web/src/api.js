// GraphQL client: HTTP (fetch) for queries and mutations, and a minimal
// graphql-transport-ws client for subscriptions. The bearer token lives in
// localStorage; an UNAUTHENTICATED answer to a call made with a token drops
// the token (listeners then send the user to the login page).

const TOKEN_KEY = 'kaowu.token';
const ENDPOINT = '/graphql';

// ---------------------------------------------------------------- token

const listeners = new Set();
let memoryToken = null;

function readToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return memoryToken;
  }
}

export const auth = {
  get token() {
    return readToken();
  },
  set(token) {
    memoryToken = token;
    try {
      localStorage.setItem(TOKEN_KEY, token);
    } catch {
      /* private mode: keep it in memory */
    }
    emit({ type: 'login' });
  },
  /** Forget the token; reason is 'logout' or 'expired'. */
  clear(reason = 'logout') {
    const had = !!readToken();
    memoryToken = null;
    try {
      localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* ignore */
    }
    if (had) emit({ type: reason });
  },
  /** fn({type}) is called on 'login', 'logout' and 'expired'. */
  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

function emit(ev) {
  for (const fn of [...listeners]) fn(ev);
  // Reconnect the websocket with the new token once the UI has reacted
  // (pages that unmount on logout drop their subscriptions first).
  setTimeout(() => ws.restart(), 0);
}

// Another tab logged in or out.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key !== TOKEN_KEY) return;
    emit({ type: e.newValue ? 'login' : 'logout' });
  });
}

// ---------------------------------------------------------------- errors

/** An error to show: message is Chinese text for the user; code is extensions.code. */
export class ApiError extends Error {
  constructor(message, code, extensions = {}, errors = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.extensions = extensions;
    this.errors = errors;
  }
}

function fromGraphQLErrors(errors) {
  const first = errors[0] || {};
  const ext = first.extensions || {};
  let message = first.message || '请求失败';
  // A GraphQL validation error is English and meant for developers.
  if (ext.code === 'GRAPHQL_VALIDATION_FAILED' || ext.code === 'GRAPHQL_PARSE_FAILED') {
    message = '请求格式有误，请刷新页面后重试';
  }
  return new ApiError(message, ext.code || 'INTERNAL', ext, errors);
}

// ---------------------------------------------------------------- HTTP

/**
 * Run a query or mutation and return its data; throws ApiError.
 * opts.keepSession: do not drop the token on UNAUTHENTICATED (used where the
 * server may answer so for a wrong password, e.g. changePassword).
 */
export async function gql(query, variables = {}, opts = {}) {
  return post(JSON.stringify({ query, variables }), { 'Content-Type': 'application/json' }, opts);
}

/**
 * Run a mutation with files, as a GraphQL multipart request (operations, map
 * and one part per file). files maps a variable path to a File or Blob, e.g.
 * {'file': f} or {'input.livePhoto': blob}; those variables are sent as null
 * and the server fills them in. Throws ApiError like gql.
 */
export async function gqlUpload(query, variables = {}, files = {}, opts = {}) {
  const vars = structuredClone(variables);
  const map = {};
  const form = new FormData();
  const parts = [];
  Object.entries(files).forEach(([path, file], i) => {
    if (!file) return;
    setPath(vars, path, null);
    map[String(i)] = [`variables.${path}`];
    parts.push([String(i), file]);
  });
  form.append('operations', JSON.stringify({ query, variables: vars }));
  form.append('map', JSON.stringify(map));
  for (const [key, file] of parts) {
    form.append(key, file, file.name || `${key}.${(file.type || '').includes('png') ? 'png' : 'jpg'}`);
  }
  // No Content-Type: the browser sets multipart/form-data with its boundary.
  return post(form, {}, opts);
}

function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] == null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

async function post(body, extraHeaders, opts) {
  const token = readToken();
  const headers = { Accept: 'application/json', ...extraHeaders };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(ENDPOINT, { method: 'POST', headers, body, signal: opts.signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError('无法连接服务器，请检查网络后重试', 'NETWORK');
  }
  let json;
  try {
    json = await res.json();
  } catch {
    if (res.status === 429) throw new ApiError('请求过于频繁，请稍后再试', 'TOO_MANY_REQUESTS');
    if (res.status === 413) throw new ApiError('文件过大，请压缩后重新上传', 'BAD_USER_INPUT');
    throw new ApiError(`服务器暂时无法响应（HTTP ${res.status}），请稍后重试`, 'INTERNAL');
  }
  if (json.errors && json.errors.length) {
    const err = fromGraphQLErrors(json.errors);
    if (err.code === 'UNAUTHENTICATED' && token && !opts.keepSession && readToken() === token) {
      auth.clear('expired');
    }
    throw err;
  }
  if (!res.ok && !json.data) {
    throw new ApiError(`服务器暂时无法响应（HTTP ${res.status}），请稍后重试`, 'INTERNAL');
  }
  return json.data;
}

// ---------------------------------------------------------------- documents

/**
 * Fetch a document (PDF) the server serves outside GraphQL, with the bearer
 * token, and return it as a Blob. Errors come as JSON shaped like GraphQL
 * errors and are thrown as ApiError (extensions.reason, e.g. NOT_YET_OPEN).
 */
export async function fetchDocument(path) {
  const token = readToken();
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { headers, cache: 'no-store' });
  } catch {
    throw new ApiError('无法连接服务器，请检查网络后重试', 'NETWORK');
  }
  const type = res.headers.get('Content-Type') || '';
  if (res.ok && !type.includes('json') && !type.includes('text/html')) return res.blob();
  let json = null;
  try {
    json = await res.json();
  } catch {
    /* not JSON */
  }
  if (json?.errors?.length) {
    const err = fromGraphQLErrors(json.errors);
    if (err.code === 'UNAUTHENTICATED' && token && readToken() === token) auth.clear('expired');
    throw err;
  }
  if (res.status === 404 || type.includes('text/html')) throw new ApiError('文件不存在或无权查看', 'NOT_FOUND');
  throw new ApiError(`文件暂时无法获取（HTTP ${res.status}），请稍后重试`, 'INTERNAL');
}

/** Fetch a document and save it under fileName (through an object URL). */
export async function downloadDocument(path, fileName) {
  const blob = await fetchDocument(path);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob;
}

// ---------------------------------------------------------------- websocket

const PROTOCOL = 'graphql-transport-ws';

/**
 * A graphql-transport-ws client. The socket opens when the first
 * subscription starts, sends connection_init with the token, (re)subscribes
 * everything after connection_ack, answers ping with pong, and reconnects
 * with back-off while subscriptions remain.
 */
class WsClient {
  constructor() {
    this.subs = new Map(); // id -> {payload, sink}
    this.nextId = 1;
    this.socket = null;
    this.acked = false;
    this.retries = 0;
    this.retryTimer = null;
    this.ackTimer = null;
    this.idleTimer = null;
    this.stateListeners = new Set();
    this.state = 'idle'; // idle | connecting | open | retrying
  }

  url() {
    const { protocol, host } = window.location;
    return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${ENDPOINT}`;
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    for (const fn of [...this.stateListeners]) fn(s);
  }

  onState(fn) {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /**
   * Subscribe; sink = {next(data), error(ApiError), complete()}.
   * Returns a function that ends the subscription.
   */
  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    this.subs.set(id, { payload: { query, variables: variables || {} }, sink });
    clearTimeout(this.idleTimer);
    if (!this.socket) this.connect();
    else if (this.acked) this.send({ id, type: 'subscribe', payload: this.subs.get(id).payload });
    return () => {
      if (!this.subs.delete(id)) return;
      if (this.acked) this.send({ id, type: 'complete' });
      this.closeWhenIdle();
    };
  }

  send(msg) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(msg));
    }
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.subs.size) return;
    let socket;
    try {
      socket = new WebSocket(this.url(), PROTOCOL);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    this.acked = false;
    this.setState('connecting');
    socket.onopen = () => {
      const token = readToken();
      this.send({
        type: 'connection_init',
        payload: token ? { Authorization: `Bearer ${token}` } : {},
      });
      // The server must acknowledge in time, or we try again.
      this.ackTimer = setTimeout(() => socket.close(4408, 'Connection acknowledgement timeout'), 10000);
    };
    socket.onmessage = (ev) => this.handle(socket, ev.data);
    socket.onclose = (ev) => this.closed(socket, ev);
    socket.onerror = () => {
      /* onclose follows */
    };
  }

  handle(socket, raw) {
    if (socket !== this.socket) return;
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      socket.close(4400, 'Invalid message');
      return;
    }
    switch (msg.type) {
      case 'connection_ack':
        clearTimeout(this.ackTimer);
        this.acked = true;
        this.retries = 0;
        this.setState('open');
        for (const [id, sub] of this.subs) this.send({ id, type: 'subscribe', payload: sub.payload });
        break;
      case 'ping':
        this.send({ type: 'pong', payload: msg.payload });
        break;
      case 'pong':
        break;
      case 'next': {
        const sub = this.subs.get(msg.id);
        if (!sub) break;
        const p = msg.payload || {};
        if (p.errors && p.errors.length && !p.data) sub.sink.error?.(fromGraphQLErrors(p.errors));
        else sub.sink.next?.(p.data);
        break;
      }
      case 'error': {
        const sub = this.subs.get(msg.id);
        if (!sub) break;
        this.subs.delete(msg.id);
        const errs = Array.isArray(msg.payload) ? msg.payload : [msg.payload || {}];
        const err = fromGraphQLErrors(errs);
        if (err.code === 'UNAUTHENTICATED' && readToken()) auth.clear('expired');
        sub.sink.error?.(err);
        this.closeWhenIdle();
        break;
      }
      case 'complete': {
        const sub = this.subs.get(msg.id);
        if (!sub) break;
        this.subs.delete(msg.id);
        sub.sink.complete?.();
        this.closeWhenIdle();
        break;
      }
      default:
        break;
    }
  }

  closed(socket, ev) {
    if (socket !== this.socket) return;
    clearTimeout(this.ackTimer);
    this.socket = null;
    this.acked = false;
    // 4401 Unauthorized / 4403 Forbidden: the token is no good for this.
    if (ev.code === 4401 || ev.code === 4403) {
      const err = new ApiError(
        ev.code === 4401 ? '登录已失效，请重新登录' : '无权订阅该内容',
        ev.code === 4401 ? 'UNAUTHENTICATED' : 'FORBIDDEN',
      );
      const subs = [...this.subs.values()];
      this.subs.clear();
      this.setState('idle');
      for (const s of subs) s.sink.error?.(err);
      if (ev.code === 4401 && readToken()) auth.clear('expired');
      return;
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (!this.subs.size) {
      this.setState('idle');
      return;
    }
    this.setState('retrying');
    const delay = Math.min(30000, 1000 * 2 ** this.retries) * (0.75 + Math.random() * 0.5);
    this.retries = Math.min(this.retries + 1, 6);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  closeWhenIdle() {
    clearTimeout(this.idleTimer);
    if (this.subs.size) return;
    this.idleTimer = setTimeout(() => {
      if (this.subs.size) return;
      clearTimeout(this.retryTimer);
      const s = this.socket;
      this.socket = null;
      this.acked = false;
      this.setState('idle');
      if (s) s.close(1000, 'Normal Closure');
    }, 1000);
  }

  /** Reconnect with the current token (after login or logout). */
  restart() {
    const s = this.socket;
    this.socket = null;
    this.acked = false;
    clearTimeout(this.ackTimer);
    if (s) s.close(1000, 'Normal Closure');
    this.retries = 0;
    if (this.subs.size) this.connect();
    else this.setState('idle');
  }
}

export const ws = new WsClient();

/** Shorthand for ws.subscribe. */
export function subscribe(query, variables, sink) {
  return ws.subscribe(query, variables, sink);
}
