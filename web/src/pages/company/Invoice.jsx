import { gql } from '../../api.js';
import { fmtTime } from '../../format.js';
import { Alert, Button, Card, ErrorAlert, Field, PageHeader, QueryState, toast, useAction, useForm, useQuery } from '../../ui.jsx';

const FIELDS = 'id title taxNumber address phone bankName bankAccount email updatedAt';
const GET = `query MyInvoiceProfile { myInvoiceProfile { ${FIELDS} } }`;
const SAVE = `mutation SaveInvoiceProfile($input: SaveInvoiceProfileInput!) { saveInvoiceProfile(input: $input) { ${FIELDS} } }`;

const KEYS = ['title', 'taxNumber', 'address', 'phone', 'bankName', 'bankAccount', 'email'];
const valuesOf = (p) => Object.fromEntries(KEYS.map((k) => [k, p?.[k] || '']));

function InvoiceForm({ profile, orgName, onSaved }) {
  const f = useForm(profile ? valuesOf(profile) : { ...valuesOf(null), title: orgName || '' });
  const act = useAction(f);
  async function save(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.title.trim()) errs.title = '请填写发票抬头';
    const tax = v.taxNumber.replace(/\s+/g, '').toUpperCase();
    if (!tax) errs.taxNumber = '请填写纳税人识别号';
    else if (![15, 18, 20].includes(tax.length) || !/^[0-9A-Z]+$/.test(tax)) errs.taxNumber = '纳税人识别号为15、18或20位字母或数字';
    const account = v.bankAccount.replace(/\s+/g, '');
    if (account && !/^\d{8,32}$/.test(account)) errs.bankAccount = '银行账号为8-32位数字';
    if (v.email.trim() && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v.email.trim())) errs.email = '电子邮箱格式不正确';
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const input = Object.fromEntries(KEYS.map((k) => [k, v[k].trim()]));
    input.taxNumber = tax;
    input.bankAccount = account;
    const d = await act.run(() => gql(SAVE, { input }));
    if (d) {
      toast('发票信息已保存');
      f.setValues(valuesOf(d.saveInvoiceProfile));
      onSaved(d.saveInvoiceProfile);
    }
  }
  return (
    <form onSubmit={save} noValidate className="grid-2">
      <Field label="发票抬头" required className="span-2" error={f.errors.title} {...f.bind('title')} maxLength={128} />
      <Field
        label="纳税人识别号"
        required
        error={f.errors.taxNumber}
        hint="统一社会信用代码（18位）或税务登记号"
        {...f.bind('taxNumber')}
        className="mono-input"
        maxLength={24}
      />
      <Field label="电子邮箱" error={f.errors.email} hint="用于接收电子发票" {...f.bind('email')} type="email" />
      <Field label="注册地址" className="span-2" error={f.errors.address} {...f.bind('address')} />
      <Field label="注册电话" error={f.errors.phone} {...f.bind('phone')} placeholder="如：0755-12345678" />
      <Field label="开户银行" error={f.errors.bankName} {...f.bind('bankName')} placeholder="如：中国工商银行深圳罗湖支行" />
      <Field label="银行账号" error={f.errors.bankAccount} {...f.bind('bankAccount')} inputMode="numeric" />
      <div className="span-2">
        <ErrorAlert error={act.error} />
        <div className="row gap">
          <Button type="submit" busy={act.busy}>
            保存发票信息
          </Button>
          {profile?.updatedAt && <span className="muted">上次保存：{fmtTime(profile.updatedAt)}</span>}
        </div>
      </div>
    </form>
  );
}

export default function Invoice({ me }) {
  const q = useQuery(GET);
  return (
    <>
      <PageHeader title="发票信息" desc="单位缴纳考试费用后，管理部门按此信息开具发票。保存后将替换原有信息，未填写的选填项会被清空。" />
      <Card title="开票信息" className="narrow-card">
        <QueryState q={q}>
          {(data) => (
            <>
              {!data.myInvoiceProfile && <Alert kind="info">尚未填写发票信息。</Alert>}
              <InvoiceForm
                profile={data.myInvoiceProfile}
                orgName={me.organization?.name}
                onSaved={(p) => q.setData((d) => ({ ...d, myInvoiceProfile: p }))}
              />
            </>
          )}
        </QueryState>
      </Card>
    </>
  );
}
