// A one-shot message carried to the next page (e.g. "注册成功" to the login page).
let pending = null;

export function setFlash(flash) {
  pending = flash;
}

export function takeFlash() {
  const f = pending;
  pending = null;
  return f;
}
