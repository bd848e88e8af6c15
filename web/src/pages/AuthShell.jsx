import Icon from '../icons.jsx';

/** The frame of the public pages: a brand panel and a form card. */
export default function AuthShell({ title, subtitle, wide, children, footer }) {
  return (
    <div className="auth">
      <aside className="auth-side">
        <div className="auth-brand">
          <span className="brand-mark big">
            <Icon name="shield" size={28} />
          </span>
          <div>
            <div className="auth-brand-title">安全生产考试考务管理系统</div>
            <div className="auth-brand-sub">安全生产资格考试 · 报名 · 考试 · 证书一站式办理</div>
          </div>
        </div>
        <ul className="auth-points">
          <li>
            <strong>考生</strong>
            <span>实名注册、报名缴费、选择考场、打印准考证、查询成绩与证书</span>
          </li>
          <li>
            <strong>单位</strong>
            <span>单位注册审核后，为本单位职工批量报名、缴费</span>
          </li>
          <li>
            <strong>考点与管理部门</strong>
            <span>考场维护、实名核验、审核与证书管理</span>
          </li>
        </ul>
        <div className="auth-foot">请妥善保管账号密码，切勿转借他人使用</div>
      </aside>
      <main className="auth-main">
        <div className={`auth-card ${wide ? 'wide' : ''}`}>
          <h1>{title}</h1>
          {subtitle && <p className="auth-subtitle">{subtitle}</p>}
          {children}
        </div>
        {footer && <div className="auth-links">{footer}</div>}
      </main>
    </div>
  );
}
