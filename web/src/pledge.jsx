// The integrity pledge (诚信考试承诺书) every enrollment accepts.

export function PledgeText({ company = false }) {
  return (
    <div className="pledge" tabIndex={0} aria-label="诚信考试承诺书">
      <h3>诚信考试承诺书</h3>
      <p style={{ marginTop: 0 }}>
        {company
          ? '本单位已如实核对所报考职工的身份及资格，代其作出如下承诺，并已告知其本人：'
          : '本人自愿参加安全生产考核，已认真阅读考试有关规定，郑重承诺如下：'}
      </p>
      <ol>
        <li>所填报的个人信息、工作单位、从业年限、学历及上传的证件、证明材料均真实、准确、有效，不存在伪造、变造或冒用他人材料的情况。</li>
        <li>本人符合所报考类别的报考条件；如因信息不实导致不能参加考试或取消考试成绩、证书，责任由本人承担。</li>
        <li>按时参加考试，考试时持本人有效身份证件及准考证进入考场，接受身份核验和现场拍照，不由他人代考，也不替他人考试。</li>
        <li>自觉遵守考场纪律，不携带、不使用规定以外的物品及通讯工具；在线考试期间保持摄像头开启，不离开考试页面，不借助他人或任何资料答题。</li>
        <li>不以任何方式泄露、传播、复制考试试题及答案，不参与任何形式的考试舞弊活动。</li>
        <li>服从考务人员和监考人员的管理，如有违纪违规行为，自愿接受取消本次考试成绩等处理；情节严重的，依法依规记入诚信档案并承担相应法律责任。</li>
      </ol>
      <p>以上承诺经勾选确认后即具有与书面签字同等的效力。</p>
    </div>
  );
}

export function PledgeCheck({ checked, onChange, company = false }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {company ? '本单位已阅读并同意《诚信考试承诺书》，并已告知报考职工' : '我已阅读并同意《诚信考试承诺书》'}
    </label>
  );
}
