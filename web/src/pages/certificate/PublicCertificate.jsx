// What anyone may see of a certificate (lookup and verification pages).
import { fmtDate } from '../../format.js';
import { StatusBadge } from '../../ui.jsx';
import { CERT_STATUS, validity } from './labels.js';

export const PUBLIC_FIELDS = `number holderName maskedID subjectCode subjectName category employer regionName
  siteName authority issuedAt validFrom validUntil status revision`;

export default function PublicCertificate({ c, title }) {
  return (
    <div className="cert-public" data-number={c.number}>
      <div className="cert-public-head">
        <span>{title || c.subjectName}</span>
        <StatusBadge map={CERT_STATUS} value={c.status} />
      </div>
      <dl className="summary">
        <dt>证书编号</dt>
        <dd className="mono">{c.number}</dd>
        <dt>姓名</dt>
        <dd>{c.holderName}</dd>
        <dt>证件号码</dt>
        <dd className="mono">{c.maskedID}</dd>
        <dt>证书类别</dt>
        <dd>{c.subjectName}</dd>
        <dt>工作单位</dt>
        <dd>{c.employer || '—'}</dd>
        <dt>所属地区</dt>
        <dd>{c.regionName || '—'}</dd>
        <dt>发证机关</dt>
        <dd>{c.authority}</dd>
        <dt>发证日期</dt>
        <dd>{fmtDate(c.issuedAt)}</dd>
        <dt>有效期</dt>
        <dd>{validity(c.validFrom, c.validUntil)}</dd>
      </dl>
    </div>
  );
}
