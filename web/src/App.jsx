import { useEffect, useState } from 'react';
import { auth, gql } from './api.js';
import { navigate, useRoute } from './router.jsx';
import { ErrorAlert, Loading, Toaster, Button } from './ui.jsx';
import Layout from './Layout.jsx';
import { ROUTES } from './routes.js';
import Login from './pages/Login.jsx';
import RegisterPerson from './pages/RegisterPerson.jsx';
import RegisterCompany from './pages/RegisterCompany.jsx';
import ForgotPassword from './pages/ForgotPassword.jsx';
import NotFound from './pages/NotFound.jsx';
import Phone from './pages/exam/Phone.jsx';
import { ResultLookup } from './pages/exam/Results.jsx';
import CertificateLookup from './pages/certificate/Lookup.jsx';
import VerifyCertificate from './pages/certificate/Verify.jsx';
import { takeAfterPay } from './payments.jsx';
import { setFlash } from './flash.js';

export const ME_QUERY = `query Me {
  me {
    id role name status email phone idNumberMasked organizationID
    organization { id name kind status reviewReason }
  }
}`;

const PUBLIC = {
  '/login': Login,
  '/register': RegisterPerson,
  '/register-company': RegisterCompany,
  '/forgot': ForgotPassword,
};

// Pages anyone may open, logged in or not, outside the app frame: the phone
// companion of an exam (authenticated by its QR token) and the public result lookup.
const STANDALONE = {
  '/phone': Phone,
  '/results/lookup': ResultLookup,
  '/certificates/lookup': CertificateLookup,
};

// The QR code of a certificate links to /verify/<payload>, a real path (the
// server answers it with index.html): that page stands alone, before the
// hash router.
export default function App() {
  return window.location.pathname.startsWith('/verify/') ? <VerifyCertificate /> : <Main />;
}

function Main() {
  const route = useRoute();
  const [token, setToken] = useState(() => auth.token);
  const [me, setMe] = useState(null);
  const [meError, setMeError] = useState(null);
  const [notice, setNotice] = useState(null); // shown on the login page

  useEffect(
    () =>
      auth.subscribe((ev) => {
        setToken(auth.token);
        setMe(null);
        setMeError(null);
        if (ev.type === 'expired') setNotice('登录已失效，请重新登录');
        if (ev.type === 'logout') setNotice(null);
        if (ev.type === 'login') setNotice(null);
      }),
    [],
  );

  // Load the logged-in account.
  useEffect(() => {
    if (!token || me || meError) return undefined;
    let live = true;
    gql(ME_QUERY)
      .then((d) => {
        if (!live) return;
        if (!d.me) auth.clear('expired');
        else setMe(d.me);
      })
      .catch((e) => live && setMeError(e));
    return () => {
      live = false;
    };
  }, [token, me, meError]);

  const reloadMe = async () => {
    try {
      const d = await gql(ME_QUERY);
      if (d.me) setMe(d.me);
    } catch {
      /* keep the old one */
    }
  };

  const Standalone = Object.prototype.hasOwnProperty.call(STANDALONE, route.path) ? STANDALONE[route.path] : null;
  const isPublic = Object.prototype.hasOwnProperty.call(PUBLIC, route.path) || !!Standalone;

  // Redirects: anonymous users to the login page, logged-in users away from it.
  useEffect(() => {
    if (!token && !isPublic) {
      const next = route.path !== '/' ? `?next=${encodeURIComponent(route.path)}` : '';
      navigate(`/login${next}`, { replace: true });
    } else if (token && me && isPublic && !Standalone) {
      const next = route.query.get('next');
      navigate(next && next.startsWith('/') && !PUBLIC[next] ? next : '/', { replace: true });
    }
  }, [token, me, isPublic, route]);

  // Back from the payment gateway: its return page links to "/"; go on to
  // the page the payment started from.
  useEffect(() => {
    if (!me || isPublic || route.path !== '/') return;
    const back = takeAfterPay();
    if (back && back !== '/') {
      setFlash({ kind: 'info', message: '支付流程已结束。缴费结果以系统确认为准，确认后会收到通知。' });
      navigate(back, { replace: true });
    }
  }, [me, isPublic, route.path]);

  let content;
  if (Standalone) {
    content = <Standalone route={route} />;
  } else if (!token) {
    const Page = PUBLIC[route.path] || Login;
    content = <Page route={route} notice={notice} />;
  } else if (!me) {
    content = meError ? (
      <div className="boot">
        <ErrorAlert error={meError} />
        <div className="row gap">
          <Button onClick={() => setMeError(null)}>重试</Button>
          <Button kind="ghost" onClick={() => auth.clear('logout')}>
            重新登录
          </Button>
        </div>
      </div>
    ) : (
      <div className="boot">
        <Loading>正在进入系统…</Loading>
      </div>
    );
  } else if (isPublic) {
    content = (
      <div className="boot">
        <Loading />
      </div>
    );
  } else {
    const r = ROUTES.find((x) => x.path === route.path);
    let page;
    if (!r) page = <NotFound />;
    else if (r.roles && !r.roles.includes(me.role)) page = <NotFound forbidden />;
    else page = <r.component me={me} route={route} reloadMe={reloadMe} />;
    content = (
      <Layout me={me} route={route}>
        {page}
      </Layout>
    );
  }
  return (
    <>
      {content}
      <Toaster />
    </>
  );
}
