import { useState } from 'react';
import { gql } from '../../api.js';
import { fmtTime } from '../../format.js';
import {
  Badge,
  Button,
  Card,
  ConfirmButton,
  Empty,
  ErrorAlert,
  Field,
  PageHeader,
  QueryState,
  nodes,
  toast,
  useAction,
  useForm,
  useQuery,
} from '../../ui.jsx';

const FIELDS = 'id name capacity location disabled createdAt updatedAt siteID';
const SITES = `query ExamSites {
  organizations(first: 200, where: {kind: EXAM_SITE}, orderBy: {field: NAME, direction: ASC}) {
    edges { node { id name } }
  }
}`;
const LIST = `query Rooms($siteID: ID!) {
  rooms(first: 500, where: {siteID: $siteID}, orderBy: {field: NAME, direction: ASC}) {
    totalCount
    edges { node { ${FIELDS} } }
  }
}`;
const CREATE = `mutation CreateRoom($input: CreateRoomInput!) { createRoom(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation UpdateRoom($id: ID!, $input: UpdateRoomInput!) { updateRoom(id: $id, input: $input) { ${FIELDS} } }`;

function roomErrors(v) {
  const e = {};
  if (!v.name.trim()) e.name = '请输入考场名称';
  const c = Number(v.capacity);
  if (!Number.isInteger(c) || c < 1 || c > 10000) e.capacity = '座位数为正整数';
  return e;
}

function RoomEditor({ room, onSaved, onCancel }) {
  const f = useForm({ name: room.name, capacity: String(room.capacity), location: room.location || '' });
  const act = useAction(f);
  async function save(e) {
    e.preventDefault();
    const errs = roomErrors(f.values);
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const v = f.values;
    const input = { name: v.name.trim(), capacity: Number(v.capacity) };
    if (v.location.trim()) input.location = v.location.trim();
    else if (room.location) input.clearLocation = true;
    const d = await act.run(() => gql(UPDATE, { id: room.id, input }));
    if (d) onSaved(d.updateRoom);
  }
  return (
    <form className="inline-editor grid-3" onSubmit={save} noValidate>
      <Field label="考场名称" required error={f.errors.name} {...f.bind('name')} />
      <Field label="座位数" required error={f.errors.capacity} {...f.bind('capacity')} type="number" min={1} />
      <Field label="位置" {...f.bind('location')} />
      <div className="span-3 row gap">
        <Button type="submit" small busy={act.busy}>
          保存
        </Button>
        <Button small kind="ghost" onClick={onCancel}>
          取消
        </Button>
        <ErrorAlert error={act.error} />
      </div>
    </form>
  );
}

function RoomList({ siteID }) {
  const q = useQuery(LIST, { siteID }, [siteID]);
  const f = useForm({ name: '', capacity: '', location: '' });
  const act = useAction(f);
  const [editing, setEditing] = useState(null);
  const [toggling, setToggling] = useState(null);
  const [listError, setListError] = useState(null);

  function replace(room) {
    q.setData((d) => ({
      ...d,
      rooms: { ...d.rooms, edges: d.rooms.edges.map((e) => (e.node.id === room.id ? { ...e, node: room } : e)) },
    }));
  }

  async function create(e) {
    e.preventDefault();
    const errs = roomErrors(f.values);
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const v = f.values;
    const input = { siteID, name: v.name.trim(), capacity: Number(v.capacity) };
    if (v.location.trim()) input.location = v.location.trim();
    const d = await act.run(() => gql(CREATE, { input }));
    if (d) {
      toast(`已添加考场“${d.createRoom.name}”`);
      f.reset();
      q.reload();
    }
  }

  async function setDisabled(room, disabled) {
    setToggling(room.id);
    setListError(null);
    try {
      const d = await gql(UPDATE, { id: room.id, input: { disabled } });
      replace(d.updateRoom);
      toast(disabled ? '考场已停用' : '考场已启用');
    } catch (e) {
      setListError(e);
    } finally {
      setToggling(null);
    }
  }

  return (
    <>
      <Card title="添加考场">
        <form onSubmit={create} noValidate className="grid-4">
          <Field label="考场名称" required error={f.errors.name} {...f.bind('name')} placeholder="如：第一考场" />
          <Field label="座位数" required error={f.errors.capacity} {...f.bind('capacity')} type="number" min={1} placeholder="如：40" />
          <Field label="位置" {...f.bind('location')} placeholder="如：教学楼3层301" />
          <div className="field field-submit">
            <Button type="submit" busy={act.busy}>
              添加考场
            </Button>
          </div>
          <div className="span-4">
            <ErrorAlert error={act.error} />
          </div>
        </form>
      </Card>
      <Card title="考场列表">
        <ErrorAlert error={listError} />
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.rooms);
            if (!list.length) return <Empty>暂无考场，请先添加</Empty>;
            const seats = list.filter((r) => !r.disabled).reduce((n, r) => n + r.capacity, 0);
            return (
              <>
                <div className="toolbar">
                  <span className="muted">
                    共 {list.length} 个考场，启用中的座位共 {seats} 个。考场不可删除，不再使用时请停用。
                  </span>
                </div>
                <div className="table-wrap">
                  <table className="table">
                    <thead>
                      <tr>
                        <th>考场名称</th>
                        <th className="right">座位数</th>
                        <th>位置</th>
                        <th>状态</th>
                        <th>更新时间</th>
                        <th className="right">操作</th>
                      </tr>
                    </thead>
                    <tbody>
                      {list.map((r) =>
                        editing === r.id ? (
                          <tr key={r.id} className="editing">
                            <td colSpan={6}>
                              <RoomEditor
                                room={r}
                                onCancel={() => setEditing(null)}
                                onSaved={(room) => {
                                  replace(room);
                                  setEditing(null);
                                  toast('考场信息已保存');
                                }}
                              />
                            </td>
                          </tr>
                        ) : (
                          <tr key={r.id} className={r.disabled ? 'inactive' : ''}>
                            <td className="cell-main">{r.name}</td>
                            <td className="right num">{r.capacity}</td>
                            <td>{r.location || '—'}</td>
                            <td>
                              <Badge kind={r.disabled ? 'muted' : 'success'}>{r.disabled ? '已停用' : '启用'}</Badge>
                            </td>
                            <td>{fmtTime(r.updatedAt)}</td>
                            <td className="right nowrap">
                              <Button small kind="ghost" onClick={() => setEditing(r.id)}>
                                编辑
                              </Button>
                              {r.disabled ? (
                                <Button small kind="ghost" busy={toggling === r.id} onClick={() => setDisabled(r, false)}>
                                  启用
                                </Button>
                              ) : (
                                <ConfirmButton
                                  busy={toggling === r.id}
                                  confirm="停用后不再安排考试"
                                  onConfirm={() => setDisabled(r, true)}
                                >
                                  停用
                                </ConfirmButton>
                              )}
                            </td>
                          </tr>
                        ),
                      )}
                    </tbody>
                  </table>
                </div>
              </>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}

export default function Rooms({ me }) {
  const ownSite = me.organization?.kind === 'EXAM_SITE' ? me.organization : null;
  const sitesQ = useQuery(ownSite ? null : SITES);
  const [picked, setPicked] = useState('');
  const sites = ownSite ? [] : nodes(sitesQ.data?.organizations);
  const siteID = ownSite ? ownSite.id : picked || sites[0]?.id || '';

  return (
    <>
      <PageHeader
        title="考场管理"
        desc={ownSite ? `${ownSite.name} · 维护本考点的考场及座位数，座位数决定每场考试可安排的人数。` : '维护各考点的考场及座位数。'}
        actions={
          !ownSite &&
          sites.length > 0 && (
            <label className="inline-select">
              考点
              <select value={siteID} onChange={(e) => setPicked(e.target.value)}>
                {sites.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
          )
        }
      />
      {!ownSite && sitesQ.error && <ErrorAlert error={sitesQ.error} />}
      {siteID ? (
        <RoomList key={siteID} siteID={siteID} />
      ) : (
        !ownSite && sitesQ.data && (
          <Card>
            <Empty>{me.role === 'EXAM_SITE' ? '您的账号未关联考点，请联系管理员。' : '暂无考点，请先在“机构管理”中创建考点。'}</Empty>
          </Card>
        )
      )}
    </>
  );
}
