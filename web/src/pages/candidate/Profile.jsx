import { useEffect, useState } from 'react';
import { gql, gqlUpload } from '../../api.js';
import { Link } from '../../router.jsx';
import {
  ATTACHMENT_KIND_HINTS,
  ATTACHMENT_KIND_LABELS,
  CANDIDATE_TYPE_LABELS,
  EDUCATION_LABELS,
  EXAM_CATEGORIES,
  ID_TYPE_LABELS,
  SEX_LABELS,
  categoryLabel,
  fmtTime,
} from '../../format.js';
import {
  Alert,
  Badge,
  Button,
  Card,
  ErrorAlert,
  Field,
  Loading,
  PageHeader,
  QueryState,
  Thumb,
  UPLOAD_ACCEPT,
  checkUpload,
  toast,
  useAction,
  useForm,
  useQuery,
} from '../../ui.jsx';

const PROFILE_FIELDS =
  'id candidateType category sex birthDate companyName companyID yearsInTrade education ethnicity address title postCode updatedAt';
const COMPLETENESS_FIELDS = 'complete missing { field label } candidateType category approvedHours requiredHours';
const ATTACHMENT_FIELDS = 'id kind url fileName contentType createdAt';

const PAGE = `query ProfilePage {
  me { id name idType idNumberMasked phone email }
  myProfile { ${PROFILE_FIELDS} }
  ethnicities
}`;
const COMPLETENESS = `query Completeness { profileCompleteness { ${COMPLETENESS_FIELDS} } }`;
const ATTACHMENTS = `query MyAttachments { myAttachments { ${ATTACHMENT_FIELDS} } uploadableAttachmentKinds }`;
const SAVE = `mutation UpdateMyProfile($input: UpdateProfileInput!) { updateMyProfile(input: $input) { ${PROFILE_FIELDS} } }`;
const UPLOAD = `mutation UploadAttachment($kind: AttachmentKind!, $file: Upload!) {
  uploadAttachment(kind: $kind, file: $file) { ${ATTACHMENT_FIELDS} }
}`;

// Kinds uploaded elsewhere (the payment proof goes with a bank transfer).
const NOT_HERE = new Set(['PAYMENT_PROOF', 'CHECKIN_READER_PHOTO', 'CHECKIN_LIVE_PHOTO']);

/** The stored date of a birthDate (a calendar day sent as UTC midnight). */
const dayOf = (t) => (t ? String(t).slice(0, 10) : '');

function initialValues(p) {
  return {
    candidateType: p?.candidateType || '',
    category: p?.category || '',
    sex: p?.sex || '',
    birthDate: dayOf(p?.birthDate),
    companyName: p?.companyName || '',
    yearsInTrade: p?.yearsInTrade ?? '',
    education: p?.education || '',
    ethnicity: p?.ethnicity || '',
    address: p?.address || '',
    title: p?.title || '',
    postCode: p?.postCode || '',
  };
}

function ProfileForm({ me, profile, ethnicities, completeness, onSaved }) {
  const f = useForm(initialValues(profile));
  const act = useAction(f);
  const resident = me.idType === 'RESIDENT_ID' || !me.idType;
  const v = f.values;

  async function save(e) {
    e.preventDefault();
    const errs = {};
    if (!v.candidateType) errs.candidateType = '请选择考生类型';
    if (v.candidateType === 'SOCIAL' && !v.category) errs.category = '社会化考生请选择考试类别';
    if (!v.companyName.trim()) errs.companyName = '请填写工作单位全称';
    const years = v.yearsInTrade === '' ? null : Number(v.yearsInTrade);
    if (years !== null && (!Number.isInteger(years) || years < 0 || years > 70)) errs.yearsInTrade = '从业年限为0-70的整数';
    if (v.postCode.trim() && !/^[0-9０-９]{6}$/.test(v.postCode.trim())) errs.postCode = '邮政编码为6位数字';
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const input = {
      candidateType: v.candidateType || null,
      companyName: v.companyName.trim(),
      yearsInTrade: years,
      education: v.education || null,
      ethnicity: v.ethnicity,
      address: v.address.trim(),
      title: v.title.trim(),
      postCode: v.postCode.trim(),
    };
    if (v.candidateType === 'SOCIAL') input.category = v.category || null;
    if (!resident) {
      input.sex = v.sex || null;
      input.birthDate = v.birthDate ? `${v.birthDate}T00:00:00Z` : null;
    }
    const d = await act.run(() => gql(SAVE, { input }));
    if (d) {
      toast('个人资料已保存');
      f.setValues(initialValues(d.updateMyProfile));
      onSaved(d.updateMyProfile);
    }
  }

  return (
    <form onSubmit={save} noValidate>
      <div className="section-title">基本信息（来自注册信息）</div>
      <div className="grid-3">
        <Field label="姓名">
          <div className="readonly-value">{me.name}</div>
        </Field>
        <Field label="证件类型">
          <div className="readonly-value">{ID_TYPE_LABELS[me.idType] || '居民身份证'}</div>
        </Field>
        <Field label="证件号码">
          <div className="readonly-value mono">{me.idNumberMasked || '—'}</div>
        </Field>
        {resident ? (
          <>
            <Field label="性别" hint="由身份证号码得出">
              <div className="readonly-value">{SEX_LABELS[profile?.sex] || '保存后自动填写'}</div>
            </Field>
            <Field label="出生日期" hint="由身份证号码得出">
              <div className="readonly-value">{dayOf(profile?.birthDate) || '保存后自动填写'}</div>
            </Field>
          </>
        ) : (
          <>
            <Field label="性别" required error={f.errors.sex}>
              <select {...f.bind('sex')}>
                <option value="">请选择</option>
                {Object.entries(SEX_LABELS).map(([k, l]) => (
                  <option key={k} value={k}>
                    {l}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="出生日期" required error={f.errors.birthDate} {...f.bind('birthDate')} type="date" />
          </>
        )}
        <Field label="手机号码">
          <div className="readonly-value mono">{me.phone || '—'}</div>
        </Field>
      </div>

      <div className="section-title">报考信息</div>
      <div className="grid-3">
        <Field
          label="考生类型"
          required
          error={f.errors.candidateType}
          hint={v.candidateType === 'NON_SOCIAL' ? '经培训机构网络辅导，须满32学时' : v.candidateType === 'SOCIAL' ? '自行选择考试类别，须上传学习证明' : null}
        >
          <select {...f.bind('candidateType')}>
            <option value="">请选择</option>
            {Object.entries(CANDIDATE_TYPE_LABELS).map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        {v.candidateType === 'NON_SOCIAL' ? (
          <Field label="考试类别" hint="非社会化考生的考试类别随培训记录确定">
            <div className="readonly-value">{completeness?.category ? categoryLabel(completeness.category) : '暂无已审核的培训记录'}</div>
          </Field>
        ) : (
          <Field label="考试类别" required error={f.errors.category}>
            <select {...f.bind('category')} disabled={v.candidateType !== 'SOCIAL'}>
              <option value="">请选择</option>
              {EXAM_CATEGORIES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field label="从业年限" error={f.errors.yearsInTrade} {...f.bind('yearsInTrade')} type="number" min={0} max={70} extra={<span className="unit">年</span>} />
      </div>

      <div className="section-title">工作与学历</div>
      <div className="grid-3">
        <Field
          label="工作单位"
          required
          className="span-2"
          error={f.errors.companyName}
          hint={
            profile?.companyID
              ? '已与注册单位关联：该单位可为您报名、缴费。'
              : '请填写与单位承诺书一致的全称；与已注册单位名称完全一致时，单位可为您报名、缴费。'
          }
          {...f.bind('companyName')}
          maxLength={128}
          placeholder="如：深圳市安建工程有限公司"
        />
        <Field label="专业技术职务" error={f.errors.title} {...f.bind('title')} maxLength={64} placeholder="如：工程师（可不填）" />
        <Field label="文化程度" error={f.errors.education}>
          <select {...f.bind('education')}>
            <option value="">请选择</option>
            {Object.entries(EDUCATION_LABELS).map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="民族" error={f.errors.ethnicity}>
          <select {...f.bind('ethnicity')}>
            <option value="">请选择</option>
            {ethnicities.map((e) => (
              <option key={e} value={e}>
                {e}
              </option>
            ))}
          </select>
        </Field>
        <Field label="邮政编码" error={f.errors.postCode} {...f.bind('postCode')} inputMode="numeric" maxLength={6} placeholder="6位数字" />
        <Field label="通讯地址" className="span-3" error={f.errors.address} {...f.bind('address')} maxLength={256} placeholder="省、市、区及详细地址" />
      </div>
      <ErrorAlert error={act.error} />
      <div className="row gap">
        <Button type="submit" busy={act.busy}>
          保存资料
        </Button>
        {profile?.updatedAt && <span className="muted">上次保存：{fmtTime(profile.updatedAt)}</span>}
      </div>
    </form>
  );
}

function AttachmentTile({ kind, current, missing, onUploaded }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const label = ATTACHMENT_KIND_LABELS[kind] || kind;

  async function pick(e) {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const problem = checkUpload(file, { imageOnly: kind === 'ID_PHOTO' });
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const d = await gqlUpload(UPLOAD, { kind }, { file });
      toast(`${label}已上传`);
      onUploaded(d.uploadAttachment);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className={`attachment ${missing && !current ? 'missing' : ''}`} data-kind={kind}>
      {current ? <Thumb url={current.url} contentType={current.contentType} fileName={current.fileName} label={label} /> : <span className="thumb-empty">未上传</span>}
      <div className="attachment-info">
        <div className="attachment-title">
          {label}
          {current ? <Badge kind="success">已上传</Badge> : missing ? <Badge kind="danger">必传</Badge> : null}
        </div>
        <div className="attachment-hint">{ATTACHMENT_KIND_HINTS[kind] || 'JPG、PNG 或 PDF'}</div>
        {current && (
          <div className="attachment-file" title={current.fileName || ''}>
            {current.fileName || '文件'} · {fmtTime(current.createdAt)}
          </div>
        )}
        <span className="file-pick">
          <Button small kind="secondary" busy={busy} tabIndex={-1}>
            {current ? '重新上传' : '上传'}
          </Button>
          <input
            type="file"
            accept={kind === 'ID_PHOTO' ? 'image/jpeg,image/png,.jpg,.jpeg,.png' : UPLOAD_ACCEPT}
            aria-label={`上传${label}`}
            onChange={pick}
            disabled={busy}
          />
        </span>
        {error && <div className="field-error">{error}</div>}
      </div>
    </div>
  );
}

function Attachments({ completeness, onChanged }) {
  const q = useQuery(ATTACHMENTS);
  const missing = new Set((completeness?.missing || []).map((m) => m.field));
  return (
    <Card title="证件及证明材料" actions={<span className="muted">支持 JPG、PNG、PDF，图片过大时系统自动压缩</span>}>
      <QueryState q={q}>
        {(data) => {
          const byKind = Object.fromEntries(data.myAttachments.map((a) => [a.kind, a]));
          const kinds = data.uploadableAttachmentKinds.filter((k) => !NOT_HERE.has(k));
          return (
            <>
              <div className="attachments">
                {kinds.map((k) => (
                  <AttachmentTile
                    key={k}
                    kind={k}
                    current={byKind[k]}
                    missing={missing.has(k)}
                    onUploaded={() => {
                      q.reload();
                      onChanged();
                    }}
                  />
                ))}
              </div>
              <p className="muted" style={{ margin: '14px 0 0' }}>
                缴费凭证请在“我的报名”中选择银行转账时上传。同一类材料以最近一次上传的为准。
              </p>
            </>
          );
        }}
      </QueryState>
    </Card>
  );
}

export function CompletenessPanel({ c, showLink = true }) {
  if (!c) return <Loading />;
  const hours = c.candidateType === 'NON_SOCIAL' && c.requiredHours > 0;
  const pct = hours ? Math.min(100, Math.round((c.approvedHours / c.requiredHours) * 100)) : 0;
  return (
    <div className="completeness">
      {c.complete ? (
        <Alert kind="success" title="资料已完整">
          可以报名参加考试。
          {showLink && (
            <>
              {' '}
              <Link to="/enroll">前往考试报名 →</Link>
            </>
          )}
        </Alert>
      ) : (
        <Alert kind="warning" title={`尚缺 ${c.missing.length} 项，暂不能报名`}>
          <ul>
            {c.missing.map((m) => (
              <li key={m.field}>{m.label}</li>
            ))}
          </ul>
        </Alert>
      )}
      <dl className="kv" style={{ gridTemplateColumns: '72px minmax(0,1fr)' }}>
        <dt>考生类型</dt>
        <dd>{CANDIDATE_TYPE_LABELS[c.candidateType] || '未选择'}</dd>
        <dt>考试类别</dt>
        <dd>{c.category ? categoryLabel(c.category) : '未确定'}</dd>
      </dl>
      {hours && (
        <div>
          <div className="row" style={{ justifyContent: 'space-between', fontSize: 13 }}>
            <span>已审核学时</span>
            <span className="num">
              {c.approvedHours} / {c.requiredHours}
            </span>
          </div>
          <div className={`progress ${pct >= 100 ? 'done' : ''}`} role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
            <span style={{ width: `${pct}%` }} />
          </div>
        </div>
      )}
    </div>
  );
}

export default function Profile() {
  const page = useQuery(PAGE);
  const comp = useQuery(COMPLETENESS);
  const [profile, setProfile] = useState(null);
  useEffect(() => {
    if (page.data) setProfile(page.data.myProfile);
  }, [page.data]);

  return (
    <>
      <PageHeader title="个人资料" desc="请如实填写个人信息并上传证件及证明材料。资料完整后方可报名；报名审核期间部分信息不能修改。" />
      <div className="layout-side">
        <div>
          <Card title="基本资料">
            <QueryState q={page}>
              {(data) => (
                <ProfileForm
                  key={data.myProfile?.id || 'new'}
                  me={data.me}
                  profile={profile ?? data.myProfile}
                  ethnicities={data.ethnicities}
                  completeness={comp.data?.profileCompleteness}
                  onSaved={(p) => {
                    setProfile(p);
                    comp.reload();
                  }}
                />
              )}
            </QueryState>
          </Card>
          <Attachments completeness={comp.data?.profileCompleteness} onChanged={comp.reload} />
        </div>
        <div className="side">
          <Card title="资料完整性">
            {comp.error && !comp.data ? <ErrorAlert error={comp.error} /> : <CompletenessPanel c={comp.data?.profileCompleteness} />}
          </Card>
        </div>
      </div>
    </>
  );
}
