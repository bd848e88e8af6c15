// Pages after login, with the roles that may open them and their menu group.
import Announcements from './pages/Announcements.jsx';
import Notifications from './pages/Notifications.jsx';
import Sessions from './pages/Sessions.jsx';
import ChangePassword from './pages/ChangePassword.jsx';
import CreateStaff from './pages/admin/CreateStaff.jsx';
import Organizations from './pages/admin/Organizations.jsx';
import PublishAnnouncement from './pages/admin/PublishAnnouncement.jsx';
import Subjects from './pages/admin/Subjects.jsx';
import AuditLogs from './pages/admin/AuditLogs.jsx';
import CompanyReview from './pages/review/CompanyReview.jsx';
import Rooms from './pages/site/Rooms.jsx';

export const GROUPS = ['首页', '考点业务', '审核管理', '系统管理', '账号安全'];

export const ROUTES = [
  { path: '/', title: '系统公告', group: '首页', icon: 'megaphone', component: Announcements },
  { path: '/notifications', title: '通知', group: '首页', icon: 'bell', component: Notifications },
  { path: '/site/rooms', title: '考场管理', group: '考点业务', icon: 'room', roles: ['EXAM_SITE', 'ADMIN'], component: Rooms },
  { path: '/review/companies', title: '单位审核', group: '审核管理', icon: 'check', roles: ['REVIEWER', 'ADMIN'], component: CompanyReview },
  { path: '/admin/announce', title: '发布公告', group: '系统管理', icon: 'edit', roles: ['ADMIN'], component: PublishAnnouncement },
  { path: '/admin/staff', title: '创建工作人员账号', group: '系统管理', icon: 'user', roles: ['ADMIN'], component: CreateStaff },
  { path: '/admin/orgs', title: '机构管理', group: '系统管理', icon: 'org', roles: ['ADMIN'], component: Organizations },
  { path: '/admin/subjects', title: '科目目录', group: '系统管理', icon: 'book', roles: ['ADMIN'], component: Subjects },
  { path: '/admin/audit', title: '审计日志', group: '系统管理', icon: 'log', roles: ['ADMIN'], component: AuditLogs },
  { path: '/sessions', title: '我的会话', group: '账号安全', icon: 'device', component: Sessions },
  { path: '/password', title: '修改密码', group: '账号安全', icon: 'key', component: ChangePassword },
];
