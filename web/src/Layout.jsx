import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { auth, gql, subscribe, ws } from './api.js';
import { Link } from './router.jsx';
import { GROUPS, ROUTES } from './routes.js';
import { ROLE_LABELS } from './format.js';
import { NotifyContext, NOTIFICATION_FIELDS } from './notify.js';
import { toast } from './ui.jsx';
import Icon from './icons.jsx';

const UNREAD_QUERY = `query Unread { notifications(first: 1, where: {readAtIsNil: true}) { totalCount } }`;
const NOTIFICATION_SUB = `subscription NotificationAdded { notificationAdded { ${NOTIFICATION_FIELDS} } }`;

export async function logout() {
  try {
    await gql('mutation Logout { logout }', {}, { keepSession: true });
  } catch {
    /* the token is dropped whatever the server says */
  }
  auth.clear('logout');
}

export default function Layout({ me, route, children }) {
  const [unread, setUnread] = useState(0);
  const [live, setLive] = useState(ws.state);
  const [menuOpen, setMenuOpen] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const newListeners = useRef(new Set());

  const refreshUnread = useCallback(async () => {
    try {
      const d = await gql(UNREAD_QUERY);
      setUnread(d.notifications.totalCount);
    } catch {
      /* badge only */
    }
  }, []);

  useEffect(() => {
    refreshUnread();
  }, [refreshUnread]);

  useEffect(() => ws.onState(setLive), []);

  useEffect(
    () =>
      subscribe(NOTIFICATION_SUB, {}, {
        next: (data) => {
          const n = data?.notificationAdded;
          if (!n) return;
          if (!n.readAt) setUnread((c) => c + 1);
          toast(`新通知：${n.title}`, 'info');
          for (const fn of newListeners.current) fn(n);
        },
        error: () => {},
      }),
    [],
  );

  const ctx = useMemo(
    () => ({
      unread,
      live,
      refreshUnread,
      onNew: (fn) => {
        newListeners.current.add(fn);
        return () => newListeners.current.delete(fn);
      },
    }),
    [unread, live, refreshUnread],
  );

  useEffect(() => setMenuOpen(false), [route.path]);

  const visible = ROUTES.filter((r) => !r.roles || r.roles.includes(me.role));
  const current = ROUTES.find((r) => r.path === route.path);
  useEffect(() => {
    document.title = `${current ? current.title + ' - ' : ''}安全生产考试考务管理系统`;
  }, [current]);

  const orgPending = me.role === 'COMPANY' && me.organization && me.organization.status !== 'APPROVED';

  return (
    <NotifyContext.Provider value={ctx}>
      <div className="app">
        <header className="topbar">
          <button
            type="button"
            className="menu-toggle"
            aria-label="菜单"
            aria-expanded={menuOpen}
            onClick={() => setMenuOpen((v) => !v)}
          >
            <span />
            <span />
            <span />
          </button>
          <Link to="/" className="brand">
            <span className="brand-mark">
              <Icon name="shield" size={20} />
            </span>
            <span className="brand-text">
              <span className="brand-full">安全生产考试考务管理系统</span>
              <span className="brand-short">考务管理系统</span>
              <small>Work Safety Examination Administration</small>
            </span>
          </Link>
          <div className="topbar-right">
            <Link to="/notifications" className="bell" aria-label={`通知，${unread} 条未读`} title="通知">
              <Icon name="bell" size={20} />
              {unread > 0 && <span className="bell-count">{unread > 99 ? '99+' : unread}</span>}
            </Link>
            <div className="who">
              <span className="who-name">{me.name}</span>
              <span className="who-role">
                {[ROLE_LABELS[me.role] || me.role, me.organization?.name]
                  .filter((x) => x && x !== me.name)
                  .join(' · ')}
              </span>
            </div>
            <button
              type="button"
              className="btn btn-ghost-light btn-sm"
              disabled={leaving}
              onClick={async () => {
                setLeaving(true);
                await logout();
              }}
            >
              <Icon name="logout" size={16} />
              退出登录
            </button>
          </div>
        </header>
        <div className="shell">
          <nav className={`sidebar ${menuOpen ? 'open' : ''}`} aria-label="主菜单">
            {GROUPS.map((g) => {
              const items = visible.filter((r) => r.group === g);
              if (!items.length) return null;
              return (
                <div className="nav-group" key={g}>
                  <div className="nav-title">{g}</div>
                  {items.map((r) => (
                    <Link
                      key={r.path}
                      to={r.path}
                      className={`nav-item ${r.path === route.path ? 'active' : ''}`}
                      aria-current={r.path === route.path ? 'page' : undefined}
                    >
                      <Icon name={r.icon} />
                      <span>{r.title}</span>
                      {r.path === '/notifications' && unread > 0 && <span className="nav-count">{unread}</span>}
                    </Link>
                  ))}
                </div>
              );
            })}
          </nav>
          {menuOpen && <div className="backdrop" onClick={() => setMenuOpen(false)} aria-hidden="true" />}
          <main className="main" id="main">
            {orgPending && (
              <div className={`banner ${me.organization.status === 'REJECTED' ? 'banner-error' : ''}`}>
                {me.organization.status === 'REJECTED'
                  ? `单位注册未通过审核：${me.organization.reviewReason || '请联系管理部门'}`
                  : '单位注册信息正在审核中，审核通过后方可为职工报名。'}
              </div>
            )}
            {children}
          </main>
        </div>
      </div>
    </NotifyContext.Provider>
  );
}
