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
import EnrollmentReview from './pages/review/EnrollmentReview.jsx';
import PaymentReview from './pages/review/PaymentReview.jsx';
import PlanSubmit from './pages/review/PlanSubmit.jsx';
import Rooms from './pages/site/Rooms.jsx';
import ProctorAssign from './pages/site/ProctorAssign.jsx';
import CheckIn from './pages/site/CheckIn.jsx';
import OnsitePay from './pages/site/OnsitePay.jsx';
import Profile from './pages/candidate/Profile.jsx';
import Enroll from './pages/candidate/Enroll.jsx';
import MyEnrollments from './pages/candidate/MyEnrollments.jsx';
import Exam from './pages/exam/Exam.jsx';
import MyResults from './pages/exam/Results.jsx';
import StaffEnroll from './pages/company/StaffEnroll.jsx';
import CompanyPay from './pages/company/CompanyPay.jsx';
import Invoice from './pages/company/Invoice.jsx';
import TrainingRecords from './pages/training/TrainingRecords.jsx';
import ExamPlans from './pages/training/ExamPlans.jsx';
import ProctorDashboard from './pages/proctor/Dashboard.jsx';
import AttemptReview from './pages/review/AttemptReview.jsx';
import QuestionBank from './pages/admin/QuestionBank.jsx';
import PaperTemplates from './pages/admin/PaperTemplates.jsx';
import PracticalScores from './pages/site/PracticalScores.jsx';
import MyCertificates from './pages/certificate/MyCertificates.jsx';
import IssueCertificates from './pages/certificate/IssueCertificates.jsx';
import CertificateRequestReview from './pages/certificate/RequestReview.jsx';
import SiteCertificates from './pages/certificate/SiteCertificates.jsx';

export const GROUPS = ['首页', '报名考试', '单位业务', '培训业务', '考点业务', '审核管理', '系统管理', '账号安全'];

const CANDIDATE = ['CANDIDATE'];
const COMPANY = ['COMPANY'];
const REVIEW = ['REVIEWER', 'ADMIN'];

export const ROUTES = [
  { path: '/', title: '系统公告', group: '首页', icon: 'megaphone', component: Announcements },
  { path: '/notifications', title: '通知', group: '首页', icon: 'bell', component: Notifications },
  { path: '/profile', title: '个人资料', group: '报名考试', icon: 'profile', roles: CANDIDATE, component: Profile },
  { path: '/enroll', title: '考试报名', group: '报名考试', icon: 'clipboard', roles: CANDIDATE, component: Enroll },
  { path: '/my/enrollments', title: '我的报名', group: '报名考试', icon: 'list', roles: CANDIDATE, component: MyEnrollments },
  { path: '/exam', title: '在线考试', group: '报名考试', icon: 'device', roles: CANDIDATE, component: Exam },
  { path: '/my/results', title: '我的成绩', group: '报名考试', icon: 'check', roles: CANDIDATE, component: MyResults },
  { path: '/my/certificates', title: '我的证书', group: '报名考试', icon: 'cert', roles: CANDIDATE, component: MyCertificates },
  { path: '/company/enroll', title: '员工报名', group: '单位业务', icon: 'users', roles: COMPANY, component: StaffEnroll },
  { path: '/company/pay', title: '缴费', group: '单位业务', icon: 'wallet', roles: COMPANY, component: CompanyPay },
  { path: '/company/invoice', title: '发票信息', group: '单位业务', icon: 'receipt', roles: COMPANY, component: Invoice },
  { path: '/training/records', title: '培训记录', group: '培训业务', icon: 'cap', roles: ['TRAINING_ORG'], component: TrainingRecords },
  { path: '/training/plans', title: '考试计划', group: '培训业务', icon: 'calendar', roles: ['TRAINING_ORG', 'ADMIN'], component: ExamPlans },
  { path: '/site/checkin', title: '现场签到', group: '考点业务', icon: 'camera', roles: ['EXAM_SITE'], component: CheckIn },
  { path: '/site/onsite-pay', title: '现场缴费', group: '考点业务', icon: 'cash', roles: ['EXAM_SITE'], component: OnsitePay },
  { path: '/site/proctors', title: '监考安排', group: '考点业务', icon: 'users', roles: ['EXAM_SITE', 'ADMIN'], component: ProctorAssign },
  { path: '/site/rooms', title: '考场管理', group: '考点业务', icon: 'room', roles: ['EXAM_SITE', 'ADMIN'], component: Rooms },
  { path: '/proctor', title: '在线监考', group: '考点业务', icon: 'device', roles: ['PROCTOR', 'EXAM_SITE', 'REVIEWER', 'ADMIN'], component: ProctorDashboard },
  { path: '/site/practical', title: '实操成绩录入', group: '考点业务', icon: 'edit', roles: ['EXAM_SITE'], component: PracticalScores },
  { path: '/site/certificate-requests', title: '证书申请审核', group: '考点业务', icon: 'cert', roles: ['EXAM_SITE'], component: CertificateRequestReview },
  { path: '/site/certificates', title: '制证缴费与发放', group: '考点业务', icon: 'receipt', roles: ['EXAM_SITE'], component: SiteCertificates },
  { path: '/review/enrollments', title: '报名审核', group: '审核管理', icon: 'clipboard', roles: REVIEW, component: EnrollmentReview },
  { path: '/review/payments', title: '缴费确认', group: '审核管理', icon: 'wallet', roles: REVIEW, component: PaymentReview },
  { path: '/review/plans', title: '考试计划提交', group: '审核管理', icon: 'send', roles: REVIEW, component: PlanSubmit },
  { path: '/review/companies', title: '单位审核', group: '审核管理', icon: 'check', roles: REVIEW, component: CompanyReview },
  { path: '/review/attempts', title: '成绩审核', group: '审核管理', icon: 'shield', roles: REVIEW, component: AttemptReview },
  { path: '/admin/certificates', title: '证书审批发放', group: '审核管理', icon: 'cert', roles: ['ADMIN'], component: IssueCertificates },
  { path: '/admin/announce', title: '发布公告', group: '系统管理', icon: 'edit', roles: ['ADMIN'], component: PublishAnnouncement },
  { path: '/admin/staff', title: '创建工作人员账号', group: '系统管理', icon: 'user', roles: ['ADMIN'], component: CreateStaff },
  { path: '/admin/orgs', title: '机构管理', group: '系统管理', icon: 'org', roles: ['ADMIN'], component: Organizations },
  { path: '/admin/subjects', title: '科目目录', group: '系统管理', icon: 'book', roles: ['ADMIN'], component: Subjects },
  { path: '/admin/questions', title: '题库管理', group: '系统管理', icon: 'list', roles: ['ADMIN'], component: QuestionBank },
  { path: '/admin/papers', title: '试卷模板', group: '系统管理', icon: 'clipboard', roles: ['ADMIN'], component: PaperTemplates },
  { path: '/admin/audit', title: '审计日志', group: '系统管理', icon: 'log', roles: ['ADMIN'], component: AuditLogs },
  { path: '/sessions', title: '我的会话', group: '账号安全', icon: 'device', component: Sessions },
  { path: '/password', title: '修改密码', group: '账号安全', icon: 'key', component: ChangePassword },
];
