// 证书查询 (public, no login): by name and ID number, or by certificate number.
import { useState } from 'react';
import { gql } from '../../api.js';
import { Link } from '../../router.jsx';
import { Button, Empty, ErrorAlert, Field, Tabs, useAction, useForm } from '../../ui.jsx';
import AuthShell from '../AuthShell.jsx';
import PublicCertificate, { PUBLIC_FIELDS } from './PublicCertificate.jsx';
import './certificate.css';

const BY_PERSON = `query LookupCertificates($name: String!, $idNumber: String!) {
  lookupCertificates(name: $name, idNumber: $idNumber) { ${PUBLIC_FIELDS} }
}`;
const BY_NUMBER = `query LookupCertificate($number: String!) { lookupCertificate(number: $number) { ${PUBLIC_FIELDS} } }`;

export default function CertificateLookup() {
  const [mode, setMode] = useState('person');
  const form = useForm({ name: '', idNumber: '', number: '' });
  const act = useAction(form);
  const [found, setFound] = useState(null);

  async function submit(ev) {
    ev.preventDefault();
    const v = form.values;
    const errs = {};
    if (mode === 'person') {
      if (!v.name.trim()) errs.name = '请输入姓名';
      if (!v.idNumber.trim()) errs.idNumber = '请输入证件号码';
    } else if (!v.number.trim()) errs.number = '请输入证书编号';
    form.setErrors(errs);
    if (Object.keys(errs).length) return;
    const d = await act.run(() =>
      mode === 'person'
        ? gql(BY_PERSON, { name: v.name.trim(), idNumber: v.idNumber.trim() })
        : gql(BY_NUMBER, { number: v.number.trim() }),
    );
    if (d) setFound(mode === 'person' ? d.lookupCertificates : d.lookupCertificate ? [d.lookupCertificate] : []);
  }

  return (
    <AuthShell
      title="证书查询"
      subtitle="查询安全生产考核合格证书：按持证人姓名和证件号码，或按证书编号"
      wide
      footer={<Link to="/login">返回登录</Link>}
    >
      <Tabs
        tabs={[
          ['person', '按姓名和证件号码'],
          ['number', '按证书编号'],
        ]}
        value={mode}
        onChange={(m) => {
          setMode(m);
          setFound(null);
          act.setError(null);
        }}
        label="查询方式"
      />
      <form onSubmit={submit} noValidate className="cert-lookup-form">
        {mode === 'person' ? (
          <>
            <Field label="姓名" required autoComplete="off" error={form.errors.name} {...form.bind('name')} />
            <Field label="证件号码" required autoComplete="off" error={form.errors.idNumber} {...form.bind('idNumber')} />
          </>
        ) : (
          <Field label="证书编号" required autoComplete="off" placeholder="例如 KW-C2-2026-000001" error={form.errors.number} {...form.bind('number')} />
        )}
        <ErrorAlert error={act.error} />
        <Button type="submit" busy={act.busy} className="block">
          查询
        </Button>
      </form>
      {found && (
        <div className="lookup-result" aria-label="查询结果">
          {found.length ? (
            found.map((c) => <PublicCertificate key={c.number} c={c} />)
          ) : (
            <Empty>{mode === 'person' ? '未查到证书，请核对姓名和证件号码。' : '未查到该编号的证书，请核对证书编号。'}</Empty>
          )}
        </div>
      )}
    </AuthShell>
  );
}
