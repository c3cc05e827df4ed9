// Field visits in the map app (issue 7): "plan my afternoon" (规划拜访) and one-tap outcomes,
// made for a phone first. Loaded after app.js, on the helpers and hooks it leaves on window.ecomap.
//
// The flow:
//  1. 规划拜访 (#visit-plan, a tool button; also #outlet-plan in our outlets' panel) opens the
//     visits view in the panel (the bottom sheet on a phone) for an outlet: a member of staff's
//     own outlet (their org node), else the outlet of ours selected on the map (administrators
//     and branch users pick one first; the view says so, #visit-message).
//  2. The planning form (#visit-plan-form: #visit-date, default today in China; #visit-start and
//     #visit-end, default 14:00-17:30; #visit-staff, 1-3) asks GET /api/outlets/{id}/plan. The
//     answer is kept in localStorage under (user, outlet, date), so reopening the day's plan
//     (after a reload, or with no network) shows the same route even though recorded outcomes
//     change what the planner would choose now; 重新规划 (#visit-replan) asks the server again.
//  3. The route is drawn: source `visit-route` (the answer's LineStrings, one colour per member
//     of staff), source `visit-stops` (a point per stop with n, staff, merchant_id, done,
//     outcome) and a numbered HTML marker per stop (.visit-marker: no glyph server is needed).
//     The sheet lists the stops (#visit-stops li[data-merchant-id][data-n]), the totals
//     (#visit-summary), the must-visits that did not fit (#visit-unplanned) and links to the
//     CSV and the printable page.
//  4. Tapping a stop (marker or row) opens the outcome form (#visit-form): six big buttons
//     (button[data-outcome]). One tap records visited / signed / closed / not found; 有意向
//     records with the follow-up date shown above it (#visit-follow-up, a week ahead); 拒绝 shows
//     the reasons (button[data-reason]) and one tap on a reason records it (其他 needs notes,
//     #visit-notes). Each record is POST /api/visits with a client_id made at the tap.
//  5. A record is written to localStorage (pending) before it is sent and removed only once the
//     server answered it (201, or 200 for a replay). One that got no answer stays pending: the
//     form says so (#visit-error) with #visit-retry, and it is sent again with the same
//     client_id (on the button, every 20 s, when the browser comes online, at the next start),
//     so the server stores it once. An answer refusing it (400) is shown with the field's name.
//  6. A recorded stop turns grey (row and marker data-done="true", the feature's `done`) and
//     shows its outcome; the form closes and the next stop still to do is highlighted. What is
//     done comes from the server: GET /api/visits?staff=<me> over the plan's day (through today
//     for a plan made ahead of its day), the newest outcome per merchant.
(function () {
  'use strict';
  const E = window.ecomap;
  if (!E || !E.addView) return;
  const { t, esc } = E;
  const $ = (id) => document.getElementById(id);

  E.addStrings({
    zh: {
      plan_visits: '规划拜访', visits_title: '拜访路线', pick_outlet: '请先在地图上选择一个我行网点，再规划拜访。',
      plan_date: '日期', plan_window: '时段', plan_staff: '人数', plan_submit: '生成路线', planning: '正在规划…',
      edit_plan: '修改', replan: '重新规划', staff_n: '{n} 人', route_n: '路线 {n}',
      route_line: '{depart} 出发 · {end} 回到网点 · {stops} 站', stops_n: '站点', done_n: '已完成',
      walking_min_total: '步行分钟', priority_total: '优先分合计', walk_min: '步行 {m} 分钟',
      must_visit: '必访', hours_unknown: '营业时间不详', follow_up_due: '回访', pending: '待发送',
      unplanned: '未能排入的必访商户', download_csv: '下载 CSV', printable: '打印版', no_stops: '该时段没有可拜访的商户',
      follow_up: '有意向时的回访日期', notes: '备注（可选）', notes_other: '备注（选“其他”时必填）',
      reject_reason: '拒绝原因（点选即记录）', back: '返回列表', retry: '重试', saving: '正在保存…',
      offline_saved: '网络异常：记录已保存在手机上，将自动重试（同一条记录不会重复）。',
      server_busy: '服务器暂时无法保存（{s}）：记录已保存在手机上，将自动重试。',
      need_notes: '选择“其他”时请填写备注', need_follow_up: '请填写回访日期', bad_window: '结束时间须晚于开始时间',
      history: '拜访记录', no_history: '暂无拜访记录', current_status: '当前状态', visited_by: '{who}',
      field_next_follow_up: '回访日期', field_notes: '备注', field_reason: '原因', field_visited_at: '拜访时间',
      field_outcome: '结果', field_merchant_id: '商户', field_client_id: '记录编号', field_window: '时段', field_date: '日期', field_staff: '人数',
      saved_plan: '已保存的路线（{at}）',
    },
    en: {
      plan_visits: 'Plan visits', visits_title: 'Visit route', pick_outlet: 'Pick one of our outlets on the map first, then plan its visits.',
      plan_date: 'Date', plan_window: 'Window', plan_staff: 'Staff', plan_submit: 'Plan the route', planning: 'Planning…',
      edit_plan: 'Change', replan: 'Plan again', staff_n: '{n} staff', route_n: 'Route {n}',
      route_line: 'leave {depart} · back {end} · {stops} stops', stops_n: 'Stops', done_n: 'Done',
      walking_min_total: 'Walking min', priority_total: 'Priority sum', walk_min: '{m} min walk',
      must_visit: 'must visit', hours_unknown: 'hours unknown', follow_up_due: 'follow-up', pending: 'not sent yet',
      unplanned: 'Must-visits that did not fit', download_csv: 'Download CSV', printable: 'Printable', no_stops: 'No merchant can be visited in this window',
      follow_up: 'Follow-up date if interested', notes: 'Notes (optional)', notes_other: 'Notes (required for “Other”)',
      reject_reason: 'Why not? (a tap records it)', back: 'Back to the list', retry: 'Retry', saving: 'Saving…',
      offline_saved: 'No network: the record is kept on this phone and will be sent again (it is never stored twice).',
      server_busy: 'The server could not save it ({s}): the record is kept on this phone and will be sent again.',
      need_notes: 'Give notes when the reason is “Other”', need_follow_up: 'Give a follow-up date', bad_window: 'The window must end after it starts',
      history: 'Visits', no_history: 'No visits yet', current_status: 'Status', visited_by: '{who}',
      field_next_follow_up: 'Follow-up date', field_notes: 'Notes', field_reason: 'Reason', field_visited_at: 'Visit time',
      field_outcome: 'Outcome', field_merchant_id: 'Merchant', field_client_id: 'Record id', field_window: 'Window', field_date: 'Date', field_staff: 'Staff',
      saved_plan: 'Saved route ({at})',
    },
  });

  // Outcomes in the order of the form's buttons: code, 中文, English, colour (the statuses').
  const OUTCOMES = [
    ['visited', '已拜访', 'Visited', '#42a5f5'], ['interested', '有意向', 'Interested', '#ffa726'],
    ['signed', '已签约', 'Signed', '#43a047'], ['rejected', '拒绝', 'Rejected', '#e53935'],
    ['closed', '已停业', 'Closed', '#6d4c41'], ['not_found', '未找到', 'Not found', '#757575'],
  ];
  const REASONS = [
    ['no_need', '不需要', 'No need'], ['fees', '费率高', 'Fees too high'], ['competitor', '已签他行', 'Signed with another bank'],
    ['settlement', '到账慢', 'Slow settlement'], ['hassle', '嫌麻烦', 'Too much hassle'],
    ['security', '担心资金安全', 'Worried about safety'], ['owner_absent', '老板不在，无法决定', 'Owner away, cannot decide'],
    ['other', '其他', 'Other'],
  ];
  // Unplanned must-visits' reasons in English (the API gives reason_zh).
  const UNPLANNED_EN = {
    closed: 'not open long enough in the window', rush: 'open only during the rush', out_of_reach: 'out of reach in the window',
    no_room: 'no room with the other must-visits', not_a_candidate: 'not a candidate', other_outlet: 'another outlet\'s',
    follow_up_later: 'follow-up later',
  };
  const STAFF_COLORS = ['#1565c0', '#8e24aa', '#00897b'];
  const DONE_COLOR = '#9e9e9e';
  const MAX_STAFF = 3;
  const DEFAULT_WINDOW = ['14:00', '17:30'];
  const FOLLOW_UP_DAYS = 7;
  const RETRY_MS = 20_000;
  /** Stored plans older than this many days (by plan date) are dropped. */
  const KEEP_PLAN_DAYS = 14;

  const zh = () => E.lang() === 'zh';
  const colon = () => (zh() ? '：' : ': ');
  const outcomeName = (code) => {
    const o = OUTCOMES.find((x) => x[0] === code);
    return o ? o[zh() ? 1 : 2] : code;
  };
  const reasonName = (code) => {
    const r = REASONS.find((x) => x[0] === code);
    return r ? r[zh() ? 1 : 2] : code;
  };
  const staffColor = (k) => STAFF_COLORS[(Number(k) - 1) % STAFF_COLORS.length] || STAFF_COLORS[0];
  const fieldName = (param) => {
    const k = `field_${param}`;
    const s = t(k);
    return s === k ? param : s;
  };

  // Dates are China Standard Time (UTC+8, no daylight saving), as the server's.
  const chinaToday = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  function addDays(date, n) {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  // An idempotency key: crypto.randomUUID where the page is a secure context, else the same
  // shape from getRandomValues (available everywhere).
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // --- Storage: plans by (user, outlet, date), records not yet answered by user ------------------

  const me = () => { const s = E.session(); return (s && s.user && s.user.username) || ''; };
  const PLAN_PREFIX = 'ecomap.visits.plan.';
  const planKey = (outlet, date) => `${PLAN_PREFIX}${me()}.${outlet}.${date}`;
  const pendingKey = () => `ecomap.visits.pending.${me()}`;
  function readJson(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }
  function writeJson(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
  }
  function prunePlans() {
    const oldest = addDays(chinaToday(), -KEEP_PLAN_DAYS);
    try {
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const k = localStorage.key(i);
        const m = k && k.startsWith(PLAN_PREFIX) && /\.(\d{4}-\d{2}-\d{2})$/.exec(k);
        if (m && m[1] < oldest) localStorage.removeItem(k);
      }
    } catch (e) { /* storage unavailable: nothing to prune */ }
  }
  const pendingList = () => readJson(pendingKey()) || [];
  const savePending = (list) => writeJson(pendingKey(), list);
  function addPending(entry) { savePending(pendingList().filter((p) => p.client_id !== entry.client_id).concat([entry])); }
  function dropPending(clientId) { savePending(pendingList().filter((p) => p.client_id !== clientId)); }
  const pendingFor = (mid) => pendingList().find((p) => p.body.merchant_id === mid) || null;

  // --- State ---------------------------------------------------------------------------------------

  const v = {
    outlet: null, // {id, name}
    params: null, // {date, start, end, staff}
    plan: null, // the API's answer, as stored
    editing: false, // the planning form is shown over a plan
    loading: false,
    planError: null,
    done: {}, // merchant id -> {outcome, reason, at}
    status: {}, // merchant id -> status after the latest record from this page
    history: {}, // merchant id -> GET /api/merchants/{id}/visits
    failed: {}, // merchant id -> message: a record of it is pending after a failed send
    form: null, // merchant id whose outcome form is open
    rejecting: false,
    draft: { notes: '', followUp: '' },
    error: null, // {message, param} shown in #visit-error
    posting: new Set(), // merchant ids being sent
    next: null, // merchant id of the stop to do next
    scrollNext: false,
    markers: new Map(), // merchant id -> {marker, el}
  };
  const defaults = () => ({ date: chinaToday(), start: DEFAULT_WINDOW[0], end: DEFAULT_WINDOW[1], staff: 1 });
  const paramsOf = (plan) => ({ date: plan.date, start: plan.window[0], end: plan.window[1], staff: plan.staff });
  const sameParams = (a, b) => a.date === b.date && a.start === b.start && a.end === b.end && Number(a.staff) === Number(b.staff);
  // Every stop of the plan, route by route, in order, with its route's staff number.
  const allStops = () => (v.plan ? v.plan.routes.flatMap((r) => r.stops.map((s) => Object.assign({ staff: r.staff }, s))) : []);
  const stopOf = (mid) => allStops().find((s) => s.merchant_id === mid) || null;
  const isDone = (mid) => !!v.done[mid];

  // The outlet a plan is for: a member of staff's own; else the outlet of ours selected on the
  // map; else the one planned last on this page.
  function targetOutlet() {
    const s = E.session();
    const u = s && s.user;
    if (u && u.role === 'staff' && u.org_node_id) return { id: u.org_node_id, name: E.outletName(u.org_node_id) };
    const sel = E.selectedOutlet();
    if (sel && sel.properties.is_ours) return { id: sel.properties.id, name: sel.properties.name };
    return v.outlet;
  }

  function openPlanner(outlet) {
    if (!outlet) {
      v.outlet = null;
      E.showView('visits');
      return;
    }
    if (!v.outlet || v.outlet.id !== outlet.id) {
      clearMap();
      Object.assign(v, { plan: null, params: null, done: {}, next: null });
    }
    Object.assign(v, { outlet, form: null, rejecting: false, error: null, editing: false, planError: null });
    if (!v.params) v.params = defaults();
    if (!v.plan) {
      const stored = readJson(planKey(outlet.id, v.params.date));
      if (stored && stored.crs === E.crs && stored.outlet_id === outlet.id) {
        v.plan = stored;
        v.params = paramsOf(stored);
      }
    }
    E.showView('visits');
    if (v.plan) {
      drawPlan();
      fit();
      refreshDone();
    }
  }

  // --- Rendering the view ----------------------------------------------------------------------------

  function render() {
    if (E.view() !== 'visits') return;
    const el = $('outlet-detail');
    let html = `<div id="visit-view" data-outlet-id="${esc(v.outlet ? v.outlet.id : '')}">`;
    if (!v.outlet) {
      html += `<h2>${esc(t('visits_title'))}</h2><p id="visit-message">${esc(t('pick_outlet'))}</p></div>`;
      el.innerHTML = html;
      return;
    }
    if (v.form && stopOf(v.form)) html += formHtml(stopOf(v.form));
    else {
      v.form = null;
      html += `<h2>${esc(t('visits_title'))} · ${esc(v.outlet.name || v.outlet.id)}</h2>`;
      html += v.editing || !v.plan ? planFormHtml() : paramsHtml();
      html += `<p id="visit-plan-error" role="alert"${v.planError ? '' : ' hidden'}>${esc(v.planError || '')}</p>`;
      if (v.loading) html += `<p class="muted">${esc(t('planning'))}</p>`;
      if (v.plan) html += planHtml();
    }
    html += '</div>';
    el.innerHTML = html;
    bind();
    updateMap();
    if (v.scrollNext) {
      v.scrollNext = false;
      const li = document.querySelector('#visit-stops li.next');
      if (li) li.scrollIntoView({ block: 'nearest' });
    }
  }

  function planFormHtml() {
    const p = v.params || defaults();
    const opts = Array.from({ length: MAX_STAFF }, (_, i) => i + 1)
      .map((n) => `<option value="${n}"${n === Number(p.staff) ? ' selected' : ''}>${esc(t('staff_n', { n }))}</option>`).join('');
    return '<form id="visit-plan-form" novalidate>' +
      `<label><span>${esc(t('plan_date'))}</span><input id="visit-date" type="date" required value="${esc(p.date)}"></label>` +
      `<label><span>${esc(t('plan_window'))}</span><span class="window"><input id="visit-start" type="time" step="300" required value="${esc(p.start)}">` +
      `<span>–</span><input id="visit-end" type="time" step="300" required value="${esc(p.end)}"></span></label>` +
      `<label><span>${esc(t('plan_staff'))}</span><select id="visit-staff">${opts}</select></label>` +
      `<div class="visit-actions"><button id="visit-submit" type="submit" class="primary"${v.loading ? ' disabled' : ''}>${esc(t('plan_submit'))}</button>` +
      (v.plan ? `<button id="visit-edit-cancel" type="button">${esc(t('cancel'))}</button>` : '') + '</div></form>';
  }

  function paramsHtml() {
    const p = v.params;
    return `<div id="visit-params"><span class="what">${esc(p.date)} · ${esc(p.start)}–${esc(p.end)} · ${esc(t('staff_n', { n: p.staff }))}</span>` +
      `<button id="visit-edit" type="button">${esc(t('edit_plan'))}</button>` +
      `<button id="visit-replan" type="button"${v.loading ? ' disabled' : ''}>${esc(t('replan'))}</button></div>`;
  }

  function planHtml() {
    const plan = v.plan;
    const stops = allStops();
    const done = stops.filter((s) => isDone(s.merchant_id)).length;
    const walking = plan.routes.reduce((a, r) => a + Number(r.walking_min || 0), 0);
    const kpi = (k, value, label) => `<div class="kpi" data-kpi="${k}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
    let html = '<div id="visit-summary" class="visit-kpis">' +
      kpi('stops', stops.length, t('stops_n')) + kpi('done', `${done}/${stops.length}`, t('done_n')) +
      kpi('walking_min', Math.round(walking), t('walking_min_total')) +
      kpi('total_priority', Number(plan.total_priority || 0).toFixed(2), t('priority_total')) + '</div>';
    const next = nextStop();
    html += '<div id="visit-stops">';
    if (!stops.length) html += `<p class="muted">${esc(t('no_stops'))}</p>`;
    for (const r of plan.routes) {
      if (!r.stops.length && plan.routes.length > 1) continue;
      html += `<section class="visit-route" data-staff="${r.staff}"><h3><span class="swatch" style="background:${staffColor(r.staff)}"></span>` +
        `${plan.routes.length > 1 ? `${esc(t('route_n', { n: r.staff }))} · ` : ''}` +
        `<span class="muted">${esc(t('route_line', { depart: r.depart, end: r.end, stops: r.stops.length }))}</span></h3><ol>`;
      for (const s of r.stops) html += stopHtml(Object.assign({ staff: r.staff }, s), next);
      html += '</ol></section>';
    }
    html += '</div>';
    if (plan.unplanned_must && plan.unplanned_must.length) {
      html += `<div id="visit-unplanned"><h3>${esc(t('unplanned'))}</h3><ul>` + plan.unplanned_must.map((u) =>
        `<li data-merchant-id="${esc(u.merchant_id)}" data-reason="${esc(u.reason)}"><span>${esc(u.merchant_id)}</span> · ` +
        `<span class="reason">${esc(zh() ? u.reason_zh : (UNPLANNED_EN[u.reason] || u.reason))}</span></li>`).join('') + '</ul></div>';
    }
    const q = (format) => `/api/outlets/${encodeURIComponent(plan.outlet_id)}/plan?${new URLSearchParams({
      date: plan.date, window: `${plan.window[0]}-${plan.window[1]}`, staff: plan.staff, crs: plan.crs || E.crs, format })}`;
    html += `<p class="visit-links"><a id="visit-csv" href="${esc(q('csv'))}" download>${esc(t('download_csv'))}</a>` +
      ` · <a id="visit-print" href="${esc(q('html'))}" target="_blank" rel="noopener">${esc(t('printable'))}</a></p>`;
    return html;
  }

  function stopHtml(s, next) {
    const mid = s.merchant_id;
    const d = v.done[mid];
    const pending = !!pendingFor(mid);
    const badges = [];
    if (s.must_visit) badges.push(`<span class="badge must">${esc(t('must_visit'))}</span>`);
    if (s.follow_up_due) badges.push(`<span class="badge follow">${esc(t('follow_up_due'))}</span>`);
    if (s.hours_unknown) badges.push(`<span class="badge hours">${esc(t('hours_unknown'))}</span>`);
    if (pending) badges.push(`<span class="badge pending">${esc(t('pending'))}</span>`);
    const state = d ? `<span class="state done" data-outcome="${esc(d.outcome)}">${esc(outcomeName(d.outcome))}</span>`
      : `<span class="state">${esc(E.statusName(v.status[mid] || s.status))}</span>`;
    return `<li data-merchant-id="${esc(mid)}" data-n="${s.n}" data-staff="${s.staff}" data-arrive="${esc(s.arrive)}" data-leave="${esc(s.leave)}"` +
      ` data-done="${d ? 'true' : 'false'}"${pending ? ' data-pending="true"' : ''}${mid === next ? ' class="next" aria-current="step"' : ''} tabindex="0" role="button">` +
      `<span class="n" style="background:${d ? DONE_COLOR : staffColor(s.staff)}">${s.n}</span>` +
      `<span class="body"><span class="name">${esc(s.name)}</span>` +
      `<span class="sub"><span class="time">${esc(s.arrive)}–${esc(s.leave)}</span> · ${esc(E.catName(s.category))} · ` +
      `<span class="walk">${esc(t('walk_min', { m: Math.round(Number(s.walk_min) || 0) }))}</span></span>` +
      (badges.length ? `<span class="badges">${badges.join('')}</span>` : '') + `</span>${state}</li>`;
  }

  function formHtml(s) {
    const mid = s.merchant_id;
    const h = v.history[mid];
    const status = h ? h.merchant.status : (v.status[mid] || s.status);
    const flag = h && h.merchant.flag ? ` · ${esc(zh() ? h.merchant.flag_zh : h.merchant.flag)}` : '';
    const d = v.done[mid];
    const pending = pendingFor(mid);
    const busy = v.posting.has(mid) || !!pending;
    const today = chinaToday();
    if (!v.draft.followUp) v.draft.followUp = addDays(today, FOLLOW_UP_DAYS);
    const outcomes = OUTCOMES.map(([code, , , color]) =>
      `<button type="button" data-outcome="${code}" style="--c:${color}"${busy ? ' disabled' : ''}` +
      `${v.rejecting && code === 'rejected' ? ' aria-pressed="true"' : ''}>${esc(outcomeName(code))}</button>`).join('');
    const reasons = v.rejecting ? `<div id="visit-reasons"><p>${esc(t('reject_reason'))}</p>` + REASONS.map(([code]) =>
      `<button type="button" data-reason="${code}"${busy ? ' disabled' : ''}>${esc(reasonName(code))}</button>`).join('') + '</div>' : '';
    const err = v.error;
    const errorBox = `<div id="visit-error" role="alert"${err ? '' : ' hidden'}${err && err.param ? ` data-param="${esc(err.param)}"` : ''}>` +
      (err ? `<span class="msg">${err.param ? `${esc(fieldName(err.param))}${colon()}` : ''}${esc(err.message)}</span>` : '') +
      (pending && !v.posting.has(mid) ? `<button id="visit-retry" type="button">${esc(t('retry'))}</button>` : '') + '</div>';
    return `<section id="visit-form" data-merchant-id="${esc(mid)}" data-n="${s.n}" data-staff="${s.staff}">` +
      `<div class="head"><span class="n" style="background:${d ? DONE_COLOR : staffColor(s.staff)}">${s.n}</span>` +
      `<div><h3>${esc(s.name)}</h3><p class="meta">${esc(E.catName(s.category))} · ${esc(s.arrive)}–${esc(s.leave)}` +
      `${s.opening_hours ? ` · ${esc(s.opening_hours)}` : ''}</p>` +
      `<p class="meta">${esc(t('current_status'))}${colon()}<span class="status" data-status="${esc(status)}">${esc(E.statusName(status))}</span>${flag}` +
      `${d ? ` · <span class="recorded" data-outcome="${esc(d.outcome)}">✓ ${esc(outcomeName(d.outcome))}</span>` : ''}</p></div></div>` +
      `<div class="visit-outcomes">${outcomes}</div>${reasons}` +
      `<label class="visit-field"><span>${esc(t('follow_up'))}</span><input id="visit-follow-up" type="date" min="${today}" max="${addDays(today, 365)}" value="${esc(v.draft.followUp)}"></label>` +
      `<label class="visit-field notes"><span>${esc(t(v.rejecting ? 'notes_other' : 'notes'))}</span>` +
      `<textarea id="visit-notes" rows="2" maxlength="2000">${esc(v.draft.notes)}</textarea></label>` +
      errorBox + (v.posting.has(mid) ? `<p class="muted" id="visit-saving">${esc(t('saving'))}</p>` : '') +
      `<div id="visit-history">${historyHtml(h)}</div>` +
      `<button id="visit-back" type="button">${esc(t('back'))}</button></section>`;
  }

  function historyHtml(h) {
    if (!h) return '';
    const rows = h.events.slice(0, 5).map((e) => `<li data-event-id="${esc(e.id)}" data-outcome="${esc(e.outcome)}">` +
      `<span class="when">${esc(String(e.visited_at || '').slice(0, 16).replace('T', ' '))}</span> ` +
      `<b>${esc(e.outcome === 'imported' ? (e.outcome_zh || e.outcome) : outcomeName(e.outcome))}</b>` +
      `${e.reason ? ` · ${esc(reasonName(e.reason))}` : ''}${e.next_follow_up ? ` · → ${esc(e.next_follow_up)}` : ''}` +
      ` <span class="muted">${esc(e.recorded_by_name || e.recorded_by || '')}</span></li>`).join('');
    return `<h3>${esc(t('history'))}</h3>` + (rows ? `<ul>${rows}</ul>` : `<p class="muted">${esc(t('no_history'))}</p>`);
  }

  function bind() {
    const on = (id, ev, fn) => { const el = $(id); if (el) el.addEventListener(ev, fn); };
    on('visit-plan-form', 'submit', (e) => { e.preventDefault(); submitPlan(false); });
    on('visit-edit', 'click', () => { v.editing = true; render(); });
    on('visit-edit-cancel', 'click', () => { v.editing = false; v.planError = null; render(); });
    on('visit-replan', 'click', () => submitPlan(true));
    document.querySelectorAll('#visit-stops li[data-merchant-id]').forEach((li) => {
      li.addEventListener('click', () => openForm(li.dataset.merchantId));
      li.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openForm(li.dataset.merchantId); }
      });
    });
    document.querySelectorAll('#visit-form button[data-outcome]').forEach((b) =>
      b.addEventListener('click', () => record(b.dataset.outcome, null)));
    document.querySelectorAll('#visit-form button[data-reason]').forEach((b) =>
      b.addEventListener('click', () => record('rejected', b.dataset.reason)));
    on('visit-notes', 'input', (e) => { v.draft.notes = e.target.value; });
    on('visit-follow-up', 'input', (e) => { v.draft.followUp = e.target.value; });
    on('visit-follow-up', 'change', (e) => { v.draft.followUp = e.target.value; });
    on('visit-retry', 'click', () => retryAll());
    on('visit-back', 'click', () => closeForm());
  }

  // --- Planning ---------------------------------------------------------------------------------------

  let planSeq = 0;
  async function submitPlan(force) {
    if (!v.outlet) return;
    const p = v.editing || !v.plan || !v.params ? readForm() : Object.assign({}, v.params);
    if (!p) return;
    v.params = p;
    const key = planKey(v.outlet.id, p.date);
    const stored = readJson(key);
    if (!force && stored && stored.crs === E.crs && stored.outlet_id === v.outlet.id && sameParams(paramsOf(stored), p)) {
      usePlan(stored);
      return;
    }
    const seq = ++planSeq;
    const outlet = v.outlet;
    Object.assign(v, { loading: true, planError: null });
    render();
    try {
      const plan = await E.api(`/api/outlets/${encodeURIComponent(outlet.id)}/plan`, {
        date: p.date, window: `${p.start}-${p.end}`, staff: p.staff,
      });
      if (seq !== planSeq || v.outlet !== outlet) return;
      plan.saved_at = new Date().toISOString();
      writeJson(key, plan);
      prunePlans();
      usePlan(plan);
    } catch (err) {
      if (seq !== planSeq) return;
      v.loading = false;
      v.planError = `${err.param ? `${fieldName(err.param)}${colon()}` : ''}${(err && err.message) || err}`;
      render();
    }
  }

  // The planning form's values, or null (and the reason shown) when they do not make a request.
  function readForm() {
    const date = $('visit-date') ? $('visit-date').value : (v.params || defaults()).date;
    const start = $('visit-start') ? $('visit-start').value : DEFAULT_WINDOW[0];
    const end = $('visit-end') ? $('visit-end').value : DEFAULT_WINDOW[1];
    const staff = $('visit-staff') ? Number($('visit-staff').value) : 1;
    let problem = null;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) problem = `${t('field_date')}${colon()}YYYY-MM-DD`;
    else if (!start || !end || start >= end) problem = t('bad_window');
    if (problem) {
      v.planError = problem;
      const el = $('visit-plan-error');
      if (el) { el.textContent = problem; el.hidden = false; }
      return null;
    }
    return { date, start: start.slice(0, 5), end: end.slice(0, 5), staff };
  }

  function usePlan(plan) {
    const sameDay = v.plan && v.plan.date === plan.date && v.plan.outlet_id === plan.outlet_id;
    Object.assign(v, { plan, params: paramsOf(plan), editing: false, loading: false, planError: null, next: null, form: null });
    if (!sameDay) v.done = {};
    render();
    drawPlan();
    fit();
    refreshDone();
  }

  // What I recorded at the plan's stops, from the server: over the plan's day, and through today
  // when the plan is for a later day (a record is dated when it is made).
  let doneSeq = 0;
  async function refreshDone() {
    const plan = v.plan;
    if (!plan || !me()) return;
    const today = chinaToday();
    const from = plan.date < today ? plan.date : today;
    const to = plan.date > today ? plan.date : today;
    const seq = ++doneSeq;
    let r;
    try {
      r = await E.getJson(`/api/visits?${new URLSearchParams({ staff: me(), from, to, limit: 2000 })}`);
    } catch (err) {
      return; // offline or signed out: keep what is known
    }
    if (seq !== doneSeq || v.plan !== plan) return;
    const ids = new Set(allStops().map((s) => s.merchant_id));
    const done = {};
    for (const e of r.visits) {
      if (ids.has(e.merchant_id) && !done[e.merchant_id]) done[e.merchant_id] = { outcome: e.outcome, reason: e.reason, at: e.visited_at };
    }
    v.done = done;
    if (!v.form) render(); else updateMap();
  }

  // The stop to do next: the one chosen after the last record, else the first not done.
  function nextStop() {
    if (v.next && stopOf(v.next) && !isDone(v.next)) return v.next;
    const s = allStops().find((x) => !isDone(x.merchant_id));
    return s ? s.merchant_id : null;
  }
  // After recording `mid`: the next stop of its route not done (wrapping round), else any.
  function nextAfter(mid) {
    const plan = v.plan;
    const route = plan.routes.find((r) => r.stops.some((s) => s.merchant_id === mid));
    if (route) {
      const i = route.stops.findIndex((s) => s.merchant_id === mid);
      const order = route.stops.slice(i + 1).concat(route.stops.slice(0, i));
      const s = order.find((x) => !isDone(x.merchant_id));
      if (s) return s.merchant_id;
    }
    const any = allStops().find((x) => !isDone(x.merchant_id));
    return any ? any.merchant_id : null;
  }

  // --- The map ------------------------------------------------------------------------------------------

  const EMPTY = () => ({ type: 'FeatureCollection', features: [] });

  function addLayers(map) {
    map.addSource('visit-route', { type: 'geojson', data: EMPTY() });
    map.addSource('visit-stops', { type: 'geojson', data: EMPTY() });
    const staffColorExpr = ['match', ['get', 'staff']];
    STAFF_COLORS.forEach((c, i) => staffColorExpr.push(i + 1, c));
    staffColorExpr.push(STAFF_COLORS[0]);
    // Under the outlets' badges (the route starts and ends at one), over everything else.
    const before = map.getLayer('outlets-competitors') ? 'outlets-competitors' : undefined;
    map.addLayer({ id: 'visit-route-casing', type: 'line', source: 'visit-route',
      layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': '#fff', 'line-width': 8, 'line-opacity': 0.9 } }, before);
    map.addLayer({ id: 'visit-route', type: 'line', source: 'visit-route',
      layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': staffColorExpr, 'line-width': 4.5 } }, before);
    map.addLayer({ id: 'visit-stops', type: 'circle', source: 'visit-stops', paint: {
      'circle-radius': 19, 'circle-opacity': 0.22,
      'circle-color': ['case', ['boolean', ['get', 'done'], false], DONE_COLOR, staffColorExpr] } }, before);
  }

  function clearMap() {
    const map = E.map;
    for (const { marker } of v.markers.values()) marker.remove();
    v.markers.clear();
    if (map && map.getSource('visit-route')) {
      map.getSource('visit-route').setData(EMPTY());
      map.getSource('visit-stops').setData(EMPTY());
    }
  }

  function drawPlan() {
    const map = E.map;
    if (!map || !v.plan || !map.getSource('visit-route')) return;
    clearMap();
    const features = v.plan.map.features;
    map.getSource('visit-route').setData({ type: 'FeatureCollection', features: features.filter((f) => f.geometry.type === 'LineString') });
    for (const f of features.filter((x) => x.properties.kind === 'stop')) {
      const p = f.properties;
      const el = document.createElement('button');
      el.type = 'button';
      el.className = 'visit-marker';
      el.dataset.merchantId = p.merchant_id;
      el.dataset.n = p.n;
      el.dataset.staff = p.staff;
      el.setAttribute('aria-label', `${p.n}. ${p.name}`);
      el.innerHTML = `<b>${esc(p.n)}</b><span class="tag"></span>`;
      // A tap on a marker opens its form and is not also a click on the map under it.
      el.addEventListener('click', (e) => { e.stopPropagation(); openForm(p.merchant_id); });
      const marker = new maplibregl.Marker({ element: el, anchor: 'center' }).setLngLat(f.geometry.coordinates).addTo(map);
      v.markers.set(p.merchant_id, { marker, el });
    }
    updateMap();
  }

  // Done, pending and next on the markers and the stops' source.
  function updateMap() {
    const map = E.map;
    if (!map || !v.plan || !map.getSource('visit-stops')) return;
    const next = nextStop();
    const stops = v.plan.map.features.filter((f) => f.properties.kind === 'stop').map((f) => {
      const d = v.done[f.properties.merchant_id];
      return { type: 'Feature', geometry: f.geometry, properties: {
        n: f.properties.n, staff: f.properties.staff, merchant_id: f.properties.merchant_id, name: f.properties.name,
        arrive: f.properties.arrive, done: !!d, outcome: d ? d.outcome : '' } };
    });
    map.getSource('visit-stops').setData({ type: 'FeatureCollection', features: stops });
    const pending = new Set(pendingList().map((p) => p.body.merchant_id));
    for (const [mid, { el }] of v.markers) {
      const d = v.done[mid];
      el.dataset.done = d ? 'true' : 'false';
      if (pending.has(mid)) el.dataset.pending = 'true'; else delete el.dataset.pending;
      el.classList.toggle('next', mid === next);
      el.classList.toggle('open', mid === v.form);
      el.style.setProperty('--c', d ? DONE_COLOR : staffColor(el.dataset.staff));
      el.querySelector('.tag').textContent = d ? outcomeName(d.outcome) : '';
      // The next stop and the open one on top of their neighbours.
      el.style.zIndex = mid === v.form ? '3' : mid === next ? '2' : d ? '0' : '1';
    }
  }

  // Fits the map to the route, clear of the panel (desktop), the folded legend and the map's
  // buttons (phone), with room for the markers.
  function fit() {
    if (v.plan) E.fitClear(v.plan.map.features, { margin: 24, maxZoom: 18, rightShare: 0.35 });
  }

  // --- Outcomes ---------------------------------------------------------------------------------------------

  function openForm(mid) {
    if (!stopOf(mid)) return;
    if (v.form !== mid) {
      Object.assign(v, { rejecting: false, error: null, draft: { notes: '', followUp: '' } });
      if (v.failed[mid]) v.error = { message: v.failed[mid], param: null };
    }
    v.form = mid;
    if (E.view() !== 'visits') E.showView('visits'); else render();
    const panel = $('panel');
    if (panel) panel.scrollTop = 0;
    const m = v.markers.get(mid);
    const map = E.map;
    if (m && map) {
      // Keep the stop in view above the sheet.
      const p = map.project(m.marker.getLngLat());
      const c = map.getContainer().getBoundingClientRect();
      if (p.x < 20 || p.y < 20 || p.x > c.width - 20 || p.y > c.height - 20) map.easeTo({ center: m.marker.getLngLat(), duration: 300 });
    }
    loadHistory(mid);
  }

  function closeForm() {
    Object.assign(v, { form: null, rejecting: false, error: null });
    render();
  }

  async function loadHistory(mid) {
    let h;
    try {
      h = await E.getJson(`/api/merchants/${encodeURIComponent(mid)}/visits`);
    } catch (err) {
      return; // offline: the form works without it
    }
    v.history[mid] = h;
    if (v.form !== mid) return;
    const box = $('visit-history');
    if (box) box.innerHTML = historyHtml(h);
    const st = document.querySelector('#visit-form .status');
    if (st) {
      st.dataset.status = h.merchant.status;
      st.textContent = E.statusName(h.merchant.status);
    }
  }

  function showFormError(message, param) {
    v.error = { message, param: param || null };
    if (v.form) render();
    if (param === 'notes' && $('visit-notes')) $('visit-notes').focus();
    if (param === 'next_follow_up' && $('visit-follow-up')) $('visit-follow-up').focus();
  }

  async function record(outcome, reason) {
    const mid = v.form;
    if (!mid || v.posting.has(mid) || pendingFor(mid)) return;
    if (outcome === 'rejected' && !reason) {
      v.rejecting = true;
      v.error = null;
      render();
      const first = document.querySelector('#visit-reasons button');
      if (first) first.scrollIntoView({ block: 'nearest' });
      return;
    }
    const notes = ($('visit-notes') ? $('visit-notes').value : v.draft.notes).trim();
    const followUp = $('visit-follow-up') ? $('visit-follow-up').value : v.draft.followUp;
    v.draft = { notes, followUp };
    if (reason === 'other' && !notes) { showFormError(t('need_notes'), 'notes'); return; }
    if (outcome === 'interested' && !followUp) { showFormError(t('need_follow_up'), 'next_follow_up'); return; }
    const body = { merchant_id: mid, outcome, client_id: uuid(), visited_at: new Date().toISOString() };
    if (reason) body.reason = reason;
    if (notes) body.notes = notes;
    if (outcome === 'interested') body.next_follow_up = followUp;
    const entry = { client_id: body.client_id, body, user: me(), at: body.visited_at };
    addPending(entry);
    v.error = null;
    await post(entry);
  }

  // Sends one pending record. It stays pending unless the server answered it (stored, replayed
  // or refused), so a record is sent again with the same client_id until it has an answer.
  const inflight = new Set();
  async function post(entry) {
    if (inflight.has(entry.client_id)) return false;
    inflight.add(entry.client_id);
    const mid = entry.body.merchant_id;
    v.posting.add(mid);
    if (v.form === mid) render();
    let r = null;
    let body = null;
    try {
      r = await E.send('/api/visits', { method: 'POST', json: entry.body });
      try { body = await r.json(); } catch (e) { body = null; }
    } catch (err) {
      r = null; // no answer: the network, or the server went away
    } finally {
      inflight.delete(entry.client_id);
      v.posting.delete(mid);
    }
    if (r && r.ok && body && body.event) {
      dropPending(entry.client_id);
      recorded(entry, body);
      return true;
    }
    if (r && r.status === 401) {
      failed(mid, t('session_expired'));
      E.sessionExpired();
      return false;
    }
    if (r && r.status === 400 && body && body.param === 'visited_at' && entry.body.visited_at) {
      // The phone's clock disagrees with the server's: let the server date it.
      delete entry.body.visited_at;
      addPending(entry);
      return post(entry);
    }
    if (r && r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
      // Refused: sending it again would not help. Nothing was stored.
      dropPending(entry.client_id);
      delete v.failed[mid];
      if (v.form === mid) showFormError((body && body.message) || `${r.status}`, body && body.param);
      else render();
      return false;
    }
    failed(mid, r ? t('server_busy', { s: r.status }) : t('offline_saved'));
    return false;
  }

  function failed(mid, message) {
    v.failed[mid] = message;
    if (v.form === mid) v.error = { message, param: null };
    render();
  }

  function recorded(entry, body) {
    const mid = entry.body.merchant_id;
    v.done[mid] = { outcome: body.event.outcome, reason: body.event.reason, at: body.event.visited_at };
    if (body.merchant && body.merchant.status) v.status[mid] = body.merchant.status;
    delete v.failed[mid];
    delete v.history[mid];
    if (v.form === mid) {
      Object.assign(v, { form: null, rejecting: false, error: null, draft: { notes: '', followUp: '' } });
      if (v.plan && stopOf(mid)) {
        v.next = nextAfter(mid);
        v.scrollNext = true;
      }
    }
    render();
    updateMap();
  }

  let retrying = false;
  async function retryAll() {
    if (retrying || !me()) return;
    const list = pendingList();
    if (!list.length) return;
    retrying = true;
    try {
      for (const entry of list) await post(entry);
    } finally {
      retrying = false;
    }
  }

  // --- Wiring ---------------------------------------------------------------------------------------------

  E.addView('visits', {
    render,
    // Closing the sheet keeps the route on the map (a tap on a stop brings the sheet back);
    // another view in the panel takes it away (规划拜访 brings it back from the stored plan).
    leave(next) {
      Object.assign(v, { form: null, rejecting: false, error: null });
      if (next !== null) clearMap();
    },
  });
  E.addOutletAction({
    id: 'outlet-plan', label: () => t('plan_visits'),
    run: (f) => openPlanner({ id: f.properties.id, name: f.properties.name }),
  });

  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'visit-plan';
  button.dataset.i18n = 'plan_visits';
  button.textContent = t('plan_visits');
  const tools = $('tools');
  tools.insertBefore(button, tools.firstChild);
  button.addEventListener('click', () => openPlanner(targetOutlet()));

  E.onStart((map) => {
    addLayers(map);
    // Records left from before (the network was down, the page was closed): send them now.
    setTimeout(() => retryAll(), 0);
    setInterval(() => retryAll(), RETRY_MS);
    window.addEventListener('online', () => retryAll());
  });
})();
