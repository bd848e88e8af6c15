import { Link } from '../router.jsx';

export default function NotFound({ forbidden }) {
  return (
    <div className="notfound">
      <h1>{forbidden ? '无权访问' : '页面不存在'}</h1>
      <p>{forbidden ? '您的账号没有访问此页面的权限。' : '您访问的页面不存在或已被移除。'}</p>
      <Link to="/" className="btn btn-primary">
        返回首页
      </Link>
    </div>
  );
}
