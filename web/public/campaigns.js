// The campaign builder in the map app (issue 8, 活动策划): branch teams design a local ecosystem
// campaign — pick or draw its area, see the B side (merchants, the fewest to enrol) and the C side
// (communities, seeds) on the map, edit the month-by-month calendar, move the estimate sliders —
// and save it as a versioned campaign. Loaded after app.js, on the helpers and hooks it leaves on
// window.ecomap (ecomap.draw runs the drawing tool for a polygon target).
//
// The flow:
//  1. 活动策划 (#campaign-open, a tool button) opens the campaigns view in the panel (the bottom
//     sheet on a phone): GET /api/campaigns as #campaign-list li[data-id]; branch users and
//     administrators get 新建活动 (#campaign-new). Staff read the list and open plans, read-only.
//  2. The builder (#campaign-form) edits a draft spec: name, target (a stored area, one of our
//     outlets' life circles, or a polygon drawn on the map), period (default: next month, for
//     12 months), types, budget, member weekday, notes. Every change asks
//     POST /api/campaigns/preview?crs= (debounced 400 ms, nothing stored) and redraws the plan;
//     a saved campaign without changes shows GET /api/campaigns/{id}/plan.
//  3. The plan: KPIs, tabs B端 / C端 / 日历 / 预估 / 异业, and the map sources campaign-target,
//     campaign-merchants (recommended ones larger, with numbered markers), campaign-communities
//     (sized by households, seeds ringed in gold) and campaign-cross (pairs of merchants). The
//     calendar's activity and theme per month and the C side's seed stars edit the draft; the
//     sliders move the estimate assumptions (what-ifs for read-only users).
//  4. 保存 (#campaign-save): POST (201) or PUT with the version read; a 409 (someone saved since)
//     shows #campaign-error with 载入最新版本 (#campaign-reload: drop my changes) and 合并我的修改
//     (#campaign-merge: the newest version with my changes applied again, to review and save).
//     删除 asks once more in place (#campaign-delete-confirm). Saved campaigns get export links
//     (#campaign-export: printable HTML, GeoJSON, CSV parts) and ?campaign=<id> in the URL.
(function () {
  'use strict';
  const E = window.ecomap;
  if (!E || !E.addView) return;
  const { t, esc } = E;
  const $ = (id) => document.getElementById(id);

  E.addStrings({
    zh: {
      campaigns: '活动策划', campaigns_title: '生态圈活动策划', campaign_new: '新建活动', campaign_none: '还没有活动，点“新建活动”开始策划。',
      campaign_none_staff: '还没有活动。', campaigns_total: '共 {n} 个活动', version_n: '第{v}版', changed_by_at: '{by} 修改于 {at}',
      campaign_builder: '活动方案', settings: '活动设置', campaign_name: '活动名称', campaign_name_ph: '例：张公桥好吃街生态圈活动', untitled: '未命名活动',
      target: '活动范围', target_area: '商圈 / 美食街', target_outlet: '网点生活圈', target_polygon: '在地图上绘制',
      draw_on_map: '在地图上绘制', drawing_now: '正在绘制…（双击或点“完成”结束）', redraw: '重新绘制', polygon_none: '尚未绘制范围',
      polygon_info: '已绘制 {n} 个顶点', area_km2: '面积 {a} km²', circle_min: '{m} 分钟生活圈',
      period: '活动周期', start: '开始', end: '结束', types: '活动类型', budget: '补贴总预算（元）', budget_ph: '不设上限',
      subsidy_txn: '每笔补贴（元）', cap_user: '每人补贴上限（元）', default_ph: '默认 {v}', member_weekday: '会员日',
      weekday_default: '默认（习惯养成类为周三）', notes_label: '备注', save: '保存', saving: '正在保存…', delete: '删除',
      delete_confirm: '确认删除', delete_cancel: '不删除', back_list: '返回列表', back_discard: '放弃修改并返回',
      status_new: '新活动，尚未保存', status_saved: '已保存 · {v} · {by_at}', status_dirty: '有未保存的修改（下方为预览）',
      readonly: '只读：可以查看方案、试算预估，但不能修改或保存。', saved_ok: '已保存：{v}', deleted_ok: '已删除“{name}”',
      conflict: '保存失败：在您打开之后，已有人保存了此活动（现为{v}）。您的修改仍在表单中。',
      reload_latest: '载入最新版本（放弃我的修改）', merge_mine: '在最新版本上保留我的修改', merged: '已载入最新版本（{v}），并保留了您的修改，请检查后再保存。',
      loading: '加载中…', previewing: '正在计算…', plan_saved: '已保存方案', plan_preview: '预览（未保存）',
      need_name: '请填写活动名称', need_area: '请选择商圈', need_outlet: '请选择网点', need_polygon: '请在地图上绘制活动范围',
      need_dates: '请填写开始和结束日期', end_before_start: '结束日期不能早于开始日期', too_long: '活动最长 24 个月',
      need_types: '请至少选择一种活动类型', need_money: '请填写不小于 0 的金额', field_error: '{field}：{m}',
      tab_b: 'B端商户', tab_c: 'C端小区', tab_calendar: '活动日历', tab_estimates: '效果预估', tab_cross: '异业合作',
      kpi_merchants: '范围内商户', kpi_signed: '已签约', kpi_recommended: '建议签约', kpi_households: '可触达户数',
      kpi_new_users: '预计新增用户', kpi_roi: 'ROI（基准）',
      category: '业态', merchants: '商户', signed: '已签约', prospects: '未拓展', recommended: '建议签约',
      picks_title: '建议优先签约（按顺序）', picks_none: '现有签约商户已满足范围内小区的基本业态需求，无需补签。',
      cover_optimal: '推荐 {n} 家，已证明是满足这些需求的最少家数（下界 {lb} 家）。',
      cover_bound: '推荐 {n} 家；至少需要 {lb} 家（下界），本方案至多是最优的 {w} 倍。',
      cover_demands: '小区业态需求满足：{before} → {after} / {total} 项', cover_uncoverable: '另有 {n} 项需求在步行范围内没有可签商户。',
      gain: '+{n} 项需求', all_merchants: '范围内全部商户（{n} 家）', list_shown: '显示前 {n} 家',
      c_households: '户数', c_residents: '居民', c_existing: '已是我行用户', c_penetration: '渗透率', c_covered: '覆盖户数（现在 → 补签后）',
      c_seeds: '种子小区', community: '小区', households: '户数', penetration: '渗透率', covered: '覆盖', distance: '距离',
      seed: '种子', seed_toggle: '设为 / 取消种子小区', seeds_auto: '种子小区按规则自动选择', seeds_manual: '种子小区由您指定',
      seeds_reset: '恢复自动选择', covered_now: '已覆盖', covered_after: '补签后覆盖', not_covered: '未覆盖',
      month: '月份', activity: '活动类型', theme: '主题', edited: '已修改', reset_month: '恢复建议', member_days: '会员日 {n} 天',
      festivals: '节日', calendar_note: '每月的活动类型与主题可直接修改，保存后生效。',
      case_low: '保守', case_base: '基准', case_high: '乐观', figure: '指标', sliders: '调整假设', assumptions_reset: '恢复默认假设',
      a_participation: '自然参与率', a_invites_per_user: '人均邀请', a_conversion: '邀请转化率', a_transactions_per_user_month: '月均交易笔数',
      a_subsidy_per_txn_cny: '每笔补贴（元）', generations: '裂变各代（基准）', generation: '代', gen_new: '新增', gen_cum: '累计',
      gen_seed: '种子', closed_form: 'K<1 时极限 {v} 人', population_line: '可触达居民 {r} 人 · 种子用户 {s} 人 · {m} 个月 · 补贴预算 {b}',
      no_budget: '不设上限', whatif: '试算不会保存。',
      cross_none: '范围内暂无可配对的互补商户。', walking: '步行 {m} m', both_signed: '均已签约',
      export: '导出', export_html: '打印版方案', export_geojson: 'GeoJSON 地图', export_csv: 'CSV：', part_merchants: '商户',
      part_communities: '小区', part_calendar: '日历', part_estimates: '预估', part_cross: '异业', export_saved_only: '导出的是已保存的{v}。',
      kind_area: '商圈', kind_outlet: '网点生活圈', kind_polygon: '自绘范围', pick_area_hint: '点击地图上的商圈可直接选为活动范围',
      rule: '规则',
    },
    en: {
      campaigns: 'Campaigns', campaigns_title: 'Ecosystem campaigns', campaign_new: 'New campaign', campaign_none: 'No campaigns yet: start one with “New campaign”.',
      campaign_none_staff: 'No campaigns yet.', campaigns_total: '{n} campaigns', version_n: 'v{v}', changed_by_at: '{by} at {at}',
      campaign_builder: 'Campaign', settings: 'Settings', campaign_name: 'Name', campaign_name_ph: 'e.g. Zhanggong Bridge food street campaign', untitled: 'Untitled campaign',
      target: 'Where', target_area: 'District / food street', target_outlet: 'Outlet life circle', target_polygon: 'Draw on the map',
      draw_on_map: 'Draw on the map', drawing_now: 'Drawing… (double-click or Finish to end)', redraw: 'Draw again', polygon_none: 'Nothing drawn yet',
      polygon_info: '{n} points drawn', area_km2: 'area {a} km²', circle_min: '{m}-minute circle',
      period: 'Period', start: 'Start', end: 'End', types: 'Campaign types', budget: 'Subsidy budget (CNY)', budget_ph: 'no cap',
      subsidy_txn: 'Subsidy per transaction (CNY)', cap_user: 'Cap per user (CNY)', default_ph: 'default {v}', member_weekday: 'Member day',
      weekday_default: 'Default (Wednesday for habit)', notes_label: 'Notes', save: 'Save', saving: 'Saving…', delete: 'Delete',
      delete_confirm: 'Really delete', delete_cancel: 'Keep it', back_list: 'Back to the list', back_discard: 'Discard changes and go back',
      status_new: 'New campaign, not saved yet', status_saved: 'Saved · {v} · {by_at}', status_dirty: 'Unsaved changes (the plan below is a preview)',
      readonly: 'Read-only: you can read the plan and try the estimates, not change or save it.', saved_ok: 'Saved: {v}', deleted_ok: 'Deleted “{name}”',
      conflict: 'Not saved: someone saved this campaign after you opened it (now {v}). Your changes are still in the form.',
      reload_latest: 'Load the newest version (drop my changes)', merge_mine: 'Keep my changes on the newest version', merged: 'Loaded the newest version ({v}) with your changes applied again: check them and save.',
      loading: 'Loading…', previewing: 'Computing…', plan_saved: 'Saved plan', plan_preview: 'Preview (not saved)',
      need_name: 'Give the campaign a name', need_area: 'Pick a district', need_outlet: 'Pick an outlet', need_polygon: 'Draw the campaign\'s area on the map',
      need_dates: 'Give a start and an end date', end_before_start: 'The end must not be before the start', too_long: 'A campaign lasts at most 24 months',
      need_types: 'Pick at least one campaign type', need_money: 'Give an amount of 0 or more', field_error: '{field}: {m}',
      tab_b: 'B side', tab_c: 'C side', tab_calendar: 'Calendar', tab_estimates: 'Estimates', tab_cross: 'Cross-marketing',
      kpi_merchants: 'Merchants', kpi_signed: 'Signed', kpi_recommended: 'To enrol', kpi_households: 'Households in reach',
      kpi_new_users: 'New users (base)', kpi_roi: 'ROI (base)',
      category: 'Category', merchants: 'Merchants', signed: 'Signed', prospects: 'Prospects', recommended: 'To enrol',
      picks_title: 'Enrol first (in this order)', picks_none: 'The signed merchants already meet the communities\' essential needs: nothing to add.',
      cover_optimal: '{n} recommended: proven the fewest that meet these needs (lower bound {lb}).',
      cover_bound: '{n} recommended; at least {lb} are needed (lower bound), so this is at most {w}× the optimum.',
      cover_demands: 'Community needs met: {before} → {after} of {total}', cover_uncoverable: '{n} more needs have no merchant to enrol within walking reach.',
      gain: '+{n} needs', all_merchants: 'All merchants in the area ({n})', list_shown: 'first {n} shown',
      c_households: 'Households', c_residents: 'Residents', c_existing: 'Existing users', c_penetration: 'Penetration', c_covered: 'Households covered (now → after)',
      c_seeds: 'Seed communities', community: 'Community', households: 'Households', penetration: 'Penetration', covered: 'Covered', distance: 'Distance',
      seed: 'Seed', seed_toggle: 'Make / unmake a seed community', seeds_auto: 'Seed communities chosen by the rule', seeds_manual: 'Seed communities chosen by you',
      seeds_reset: 'Choose by the rule again', covered_now: 'covered', covered_after: 'covered after enrolling', not_covered: 'not covered',
      month: 'Month', activity: 'Activity', theme: 'Theme', edited: 'edited', reset_month: 'Back to the proposal', member_days: '{n} member days',
      festivals: 'Festivals', calendar_note: 'Change any month\'s activity and theme; saving keeps them.',
      case_low: 'Low', case_base: 'Base', case_high: 'High', figure: 'Figure', sliders: 'Assumptions', assumptions_reset: 'Default assumptions',
      a_participation: 'Participation', a_invites_per_user: 'Invites per user', a_conversion: 'Invite conversion', a_transactions_per_user_month: 'Transactions / user / month',
      a_subsidy_per_txn_cny: 'Subsidy per transaction (CNY)', generations: 'Referral generations (base)', generation: 'Gen.', gen_new: 'New', gen_cum: 'Cumulative',
      gen_seed: 'seeds', closed_form: 'limit for K<1: {v}', population_line: 'Reachable residents {r} · seed users {s} · {m} months · subsidy budget {b}',
      no_budget: 'no cap', whatif: 'What-ifs are not saved.',
      cross_none: 'No complementary pairs of merchants in the area yet.', walking: '{m} m walk', both_signed: 'both signed',
      export: 'Export', export_html: 'Printable plan', export_geojson: 'GeoJSON map', export_csv: 'CSV: ', part_merchants: 'merchants',
      part_communities: 'communities', part_calendar: 'calendar', part_estimates: 'estimates', part_cross: 'cross-marketing', export_saved_only: 'Exports are of the saved {v}.',
      kind_area: 'District', kind_outlet: 'Outlet circle', kind_polygon: 'Drawn area', pick_area_hint: 'Click a district on the map to make it the target',
      rule: 'Rule',
    },
  });

  // --- Constants ------------------------------------------------------------------------------

  /** Campaign types in the course's order: code, 中文, English. */
  const TYPES = [
    ['referral', '权益裂变', 'Referral'], ['habit', '习惯养成', 'Habit'],
    ['event', '事件营销', 'Event'], ['welfare', '公益活动', 'Public welfare'],
  ];
  const WEEKDAYS = [
    ['mon', '周一', 'Monday'], ['tue', '周二', 'Tuesday'], ['wed', '周三', 'Wednesday'], ['thu', '周四', 'Thursday'],
    ['fri', '周五', 'Friday'], ['sat', '周六', 'Saturday'], ['sun', '周日', 'Sunday'],
  ];
  // The calendar's festivals (data/festivals.toml): code -> [中文, English].
  const FESTIVALS = {
    new_year: ['元旦', 'New Year\'s Day'], spring_festival: ['春节', 'Spring Festival'], lantern: ['元宵节', 'Lantern Festival'],
    lei_feng_day: ['学雷锋纪念日', 'Lei Feng Day'], womens_day: ['妇女节', 'Women\'s Day'], labour_day: ['劳动节', 'Labour Day'],
    dragon_boat: ['端午节', 'Dragon Boat'], mid_year_618: ['618年中大促', '618 sale'], qixi: ['七夕', 'Qixi'],
    mid_autumn: ['中秋节', 'Mid-Autumn'], national_day: ['国庆节', 'National Day'], chongyang: ['重阳节', 'Double Ninth'],
    double_11: ['双十一', 'Double 11'], double_12: ['双十二', 'Double 12'],
  };
  const STATUS_COLORS = {
    prospect: '#9e9e9e', visited: '#42a5f5', interested: '#ffa726', signed: '#43a047', active: '#1b5e20', rejected: '#e53935', churned: '#6d4c41',
  };
  /** The sliders: assumption, min, max, step, how the value shows. */
  const SLIDERS = [
    ['participation', 0, 0.3, 0.01, 'pct'], ['invites_per_user', 0, 10, 0.5, 'num'],
    ['conversion', 0, 0.6, 0.01, 'pct'], ['transactions_per_user_month', 0, 15, 0.5, 'num'],
    ['subsidy_per_txn_cny', 0, 30, 1, 'cny'],
  ];
  const CASES = ['low', 'base', 'high'];
  const EXPORT_PARTS = ['merchants', 'communities', 'calendar', 'estimates', 'cross'];
  const PREVIEW_MS = 400;
  const LIST_MAX = 100;
  const TARGET_COLOR = '#00796b';
  const PICK_COLOR = '#6a1b9a';
  const SEED_COLOR = '#ffb300';
  const CROSS_COLOR = '#ef6c00';

  const zh = () => E.lang() === 'zh';
  const typeName = (code) => { const x = TYPES.find((r) => r[0] === code); return x ? x[zh() ? 1 : 2] : code; };
  const festivalName = (code) => (FESTIVALS[code] ? FESTIVALS[code][zh() ? 0 : 1] : code);
  const int = (n) => Math.round(Number(n) || 0).toLocaleString('en-US');
  const pct1 = (x) => `${(100 * (Number(x) || 0)).toFixed(1)}%`;
  const fixed = (v, d) => { const s = Number(v).toFixed(d); return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s; };
  const clone = (x) => JSON.parse(JSON.stringify(x));
  const me = () => { const s = E.session(); return (s && s.user) || null; };
  const mayCreate = () => { const u = me(); return !!u && (u.role === 'branch' || u.role === 'admin'); };
  function fmtTime(iso) {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) return iso || '';
    const z = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())} ${z(d.getHours())}:${z(d.getMinutes())}`;
  }
  const versionName = (v) => t('version_n', { v });

  // Dates are China Standard Time (UTC+8), as the server's.
  const chinaToday = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  /** Next month's first day, and the last day of the twelfth month from it. */
  function defaultPeriod() {
    const d = new Date(`${chinaToday().slice(0, 7)}-01T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() + 1);
    const start = d.toISOString().slice(0, 10);
    d.setUTCMonth(d.getUTCMonth() + 12);
    d.setUTCDate(0);
    return [start, d.toISOString().slice(0, 10)];
  }
  /** Calendar months from start to end, both included. */
  function monthsBetween(start, end) {
    const [y1, m1] = start.split('-').map(Number);
    const [y2, m2] = end.split('-').map(Number);
    return (y2 - y1) * 12 + (m2 - m1) + 1;
  }

  // --- State ----------------------------------------------------------------------------------

  const c = {
    mode: 'list', // 'list' | 'edit'
    list: null, listError: null,
    id: null, version: null, mayEdit: true, meta: null, // the saved campaign (meta: changed_by, changed_at)
    draft: null, // the spec being edited
    base: null, // the spec as loaded or saved (what "changed" is measured against; merges start from it)
    savedJson: null,
    polyCrs: null, // the crs of a polygon target's coordinates (stored specs are WGS-84)
    outline: null, // the plan's target outline, in the page's crs
    plan: null, planKind: null, planError: null, pending: false,
    tab: 'b', error: null, message: null, saving: false, confirmDelete: false, confirmBack: false,
    drawing: false, fitKey: null,
    areas: null, outlets: null,
    markers: [],
  };

  const targetKey = (d) => JSON.stringify(d && d.target);

  // --- Specs ----------------------------------------------------------------------------------

  function blankDraft() {
    const [start, end] = defaultPeriod();
    const area = c.areas && c.areas[0];
    return {
      name: '', owner_org_id: null, target: { kind: 'area', area_id: area ? area.id : '' }, start, end, types: ['event'],
      budget: { total_cny: null, subsidy_per_txn_cny: null, cap_per_user_cny: null }, assumptions: {}, seed_users: null,
      seed_communities: null, member_weekday: null, calendar: [], notes: null,
    };
  }

  function fromSpec(s) {
    const d = blankDraft();
    const x = clone(s);
    Object.assign(d, {
      name: x.name || '', owner_org_id: x.owner_org_id ?? null, target: x.target, start: x.start, end: x.end,
      types: x.types || [], assumptions: x.assumptions || {}, seed_users: x.seed_users ?? null,
      seed_communities: x.seed_communities ?? null, member_weekday: x.member_weekday ?? null,
      calendar: (x.calendar || []).map((e) => {
        const o = { month: e.month };
        for (const k of ['activity', 'theme_zh', 'theme_en']) if (e[k] !== null && e[k] !== undefined) o[k] = e[k];
        return o;
      }),
      notes: x.notes ?? null,
    });
    d.budget = Object.assign({ total_cny: null, subsidy_per_txn_cny: null, cap_per_user_cny: null }, x.budget || {});
    return d;
  }

  /** The spec to send (always the same keys in the same order, so that JSON compares). */
  function specOf(d, forPreview) {
    const startMonth = (d.start || '').slice(0, 7);
    const endMonth = (d.end || '').slice(0, 7);
    const s = {
      name: (d.name || '').trim() || (forPreview ? t('untitled') : ''),
      owner_org_id: d.owner_org_id || null,
      target: clone(d.target),
      start: d.start, end: d.end,
      types: d.types.slice(),
      budget: { total_cny: d.budget.total_cny, subsidy_per_txn_cny: d.budget.subsidy_per_txn_cny, cap_per_user_cny: d.budget.cap_per_user_cny },
      assumptions: Object.fromEntries(Object.keys(d.assumptions).sort().map((k) => [k, d.assumptions[k]])),
      seed_users: d.seed_users,
      seed_communities: d.seed_communities ? d.seed_communities.slice() : null,
      member_weekday: d.member_weekday || null,
      calendar: d.calendar.filter((e) => e.month >= startMonth && e.month <= endMonth)
        .sort((a, b) => a.month.localeCompare(b.month)).map((e) => clone(e)),
      notes: d.notes && d.notes.trim() ? d.notes : null,
    };
    return s;
  }
  const dirty = () => !!c.draft && (!c.id || JSON.stringify(specOf(c.draft)) !== c.savedJson);

  /** What the form says is wrong, first problem first: [{param, message}]. */
  function problems(forPreview) {
    const d = c.draft;
    const out = [];
    if (!forPreview && !(d.name || '').trim()) out.push({ param: 'name', message: t('need_name') });
    const tg = d.target;
    if (tg.kind === 'area' && !tg.area_id) out.push({ param: 'target.area_id', message: t('need_area') });
    if (tg.kind === 'outlet' && !tg.outlet_id) out.push({ param: 'target.outlet_id', message: t('need_outlet') });
    if (tg.kind === 'polygon' && !(tg.coordinates && tg.coordinates[0] && tg.coordinates[0].length >= 4)) {
      out.push({ param: 'target.coordinates', message: t('need_polygon') });
    }
    if (!d.start || !d.end) out.push({ param: d.start ? 'end' : 'start', message: t('need_dates') });
    else if (d.end < d.start) out.push({ param: 'end', message: t('end_before_start') });
    else if (monthsBetween(d.start, d.end) > 24) out.push({ param: 'end', message: t('too_long') });
    if (!d.types.length) out.push({ param: 'types', message: t('need_types') });
    for (const k of ['total_cny', 'subsidy_per_txn_cny', 'cap_per_user_cny']) {
      const v = d.budget[k];
      if (v !== null && !(Number.isFinite(v) && v >= 0)) out.push({ param: `budget.${k}`, message: t('need_money') });
    }
    return out;
  }

  /** The form field a server's or our own `param` names. */
  function fieldOf(param) {
    const p = String(param || '');
    const ids = {
      name: 'campaign-name', 'target.area_id': 'campaign-area', 'target.outlet_id': 'campaign-outlet', 'target.minutes': 'campaign-minutes',
      start: 'campaign-start', end: 'campaign-end', 'budget.total_cny': 'campaign-budget', 'budget.subsidy_per_txn_cny': 'campaign-subsidy',
      'budget.cap_per_user_cny': 'campaign-cap', member_weekday: 'campaign-weekday', notes: 'campaign-notes', target: 'campaign-target-kind',
    };
    if (ids[p]) return $(ids[p]);
    if (p.startsWith('target.coordinates')) return $('campaign-draw');
    if (p.startsWith('types')) return document.querySelector('#campaign-form input[name="campaign-type"]');
    return null;
  }

  /** The label of the field `param` names (the form's own words), else `param`. */
  function fieldLabel(param) {
    const el = fieldOf(param);
    const label = el && el.closest('label, fieldset');
    const text = label && label.querySelector('span, legend');
    return text && text.textContent.trim() ? `${text.textContent.trim()}（${param}）` : String(param);
  }

  // --- Server ---------------------------------------------------------------------------------

  async function ensureRefs() {
    if (c.areas && c.outlets) return;
    const [areas, outlets] = await Promise.all([E.api('/api/areas'), E.api('/api/outlets')]);
    c.areas = areas.features.map((f) => f.properties);
    c.outlets = outlets.features.filter((f) => f.properties.is_ours).map((f) => f.properties);
  }

  let listSeq = 0;
  async function loadList() {
    const seq = ++listSeq;
    try {
      const r = await E.getJson(`/api/campaigns?${new URLSearchParams({ limit: LIST_MAX })}`);
      if (seq !== listSeq) return;
      c.list = r;
      c.listError = null;
    } catch (err) {
      if (seq !== listSeq) return;
      c.listError = String((err && err.message) || err);
    }
    if (c.mode === 'list') render();
  }

  // The plan shown: the saved one while nothing changed, else a preview of the draft.
  let planTimer = null;
  let planSeq = 0;
  function schedulePlan(now) {
    clearTimeout(planTimer);
    setPending(true);
    planTimer = setTimeout(() => { planTimer = null; loadPlan(); }, now ? 0 : PREVIEW_MS);
  }

  function setPending(on) {
    c.pending = on;
    const view = $('campaign-view');
    if (!view) return;
    if (on) view.dataset.pending = 'true'; else delete view.dataset.pending;
    const msg = $('campaign-plan-state');
    if (msg) msg.textContent = on ? t('previewing') : planStateText();
  }
  const planStateText = () => (c.plan ? t(c.planKind === 'saved' ? 'plan_saved' : 'plan_preview') : '');

  async function loadPlan() {
    if (!c.draft) return;
    const seq = ++planSeq;
    const crs = E.crs || 'wgs84';
    let req;
    let kind;
    if (c.id && !dirty()) {
      kind = 'saved';
      req = E.getJson(`/api/campaigns/${encodeURIComponent(c.id)}/plan?${new URLSearchParams({ crs })}`);
    } else {
      const bad = problems(true);
      if (bad.length) {
        c.planError = Object.assign({ local: true }, bad[0]);
        c.plan = null;
        if (seq === planSeq && !planTimer) setPending(false);
        renderPlan(true);
        drawMap();
        return;
      }
      kind = 'preview';
      const spec = specOf(c.draft, true);
      if (spec.target.kind === 'polygon' && c.polyCrs !== crs && c.outline) spec.target.coordinates = clone(c.outline);
      req = E.getJson(`/api/campaigns/preview?${new URLSearchParams({ crs })}`, { method: 'POST', json: spec });
    }
    let plan = null;
    let error = null;
    try {
      plan = await req;
    } catch (err) {
      error = { param: err.param || null, message: String((err && err.message) || err) };
    }
    if (seq !== planSeq || !c.draft) return;
    if (plan) {
      c.plan = plan;
      c.planKind = kind;
      c.planError = null;
      if (plan.target && plan.target.outline && plan.target.kind === 'polygon') c.outline = plan.target.outline;
    } else {
      c.planError = error;
    }
    if (!planTimer) setPending(false);
    renderPlan(false);
    drawMap();
    const key = targetKey(c.draft);
    if (plan && c.fitKey !== key) {
      c.fitKey = key;
      fit();
    }
  }

  async function openCampaign(id) {
    c.mode = 'edit';
    Object.assign(c, { id, version: null, draft: null, base: null, plan: null, planError: null, error: null, message: null, settingsOpen: null,
      confirmDelete: false, confirmBack: false, tab: c.tab || 'b', fitKey: null, outline: null });
    clearMap();
    show();
    let cmp;
    try {
      [cmp] = await Promise.all([E.getJson(`/api/campaigns/${encodeURIComponent(id)}`), ensureRefs()]);
    } catch (err) {
      c.error = { message: String((err && err.message) || err) };
      render();
      return;
    }
    if (c.id !== id) return;
    loaded(cmp);
    setUrl(id);
    render();
    schedulePlan(true);
  }

  /** A campaign (GET or save answer) becomes the saved state and the draft. */
  function loaded(cmp) {
    c.id = cmp.id;
    c.version = cmp.version;
    c.mayEdit = cmp.may_edit !== undefined ? !!cmp.may_edit : true;
    c.meta = { changed_by: cmp.changed_by, changed_at: cmp.changed_at, name: cmp.name };
    c.base = clone(cmp.spec);
    c.draft = fromSpec(cmp.spec);
    c.polyCrs = 'wgs84';
    c.savedJson = JSON.stringify(specOf(c.draft));
  }

  async function newCampaign() {
    c.mode = 'edit';
    Object.assign(c, { id: null, version: null, mayEdit: true, meta: null, draft: null, base: null, plan: null, planError: null, settingsOpen: null,
      error: null, message: null, confirmDelete: false, confirmBack: false, fitKey: null, outline: null, polyCrs: null, tab: 'b' });
    clearMap();
    setUrl(null);
    show();
    try {
      await ensureRefs();
    } catch (err) {
      c.error = { message: String((err && err.message) || err) };
      render();
      return;
    }
    if (c.mode !== 'edit' || c.id) return;
    c.draft = blankDraft();
    c.savedJson = null;
    render();
    schedulePlan(true);
    const name = $('campaign-name');
    if (name) name.focus();
  }

  async function save() {
    if (!c.draft || c.saving || !c.mayEdit) return;
    const bad = problems(false);
    if (bad.length) { showError({ param: bad[0].param, message: bad[0].message, local: true }); return; }
    const spec = specOf(c.draft);
    const crs = spec.target.kind === 'polygon' ? (c.polyCrs || E.crs) : E.crs;
    c.saving = true;
    c.error = null;
    c.message = null;
    renderActions();
    renderError();
    const q = new URLSearchParams({ crs: crs || 'wgs84' });
    let r;
    let body = null;
    try {
      r = c.id
        ? await E.send(`/api/campaigns/${encodeURIComponent(c.id)}?${q}`, { method: 'PUT', json: Object.assign({ version: c.version }, spec) })
        : await E.send(`/api/campaigns?${q}`, { method: 'POST', json: spec });
      try { body = await r.json(); } catch (e) { body = null; }
    } catch (err) {
      c.saving = false;
      showError({ message: String((err && err.message) || err) });
      return;
    }
    c.saving = false;
    if (r.status === 401) { E.sessionExpired(); return; }
    if (r.status === 409 && body && body.code === 'conflict') {
      c.error = { code: 'conflict', current_version: body.current_version, message: body.message };
      renderActions();
      renderError();
      $('campaign-error').scrollIntoView({ block: 'nearest' });
      return;
    }
    if (!r.ok) {
      showError({ param: body && body.param, message: (body && body.message) || String(r.status), code: body && body.code });
      return;
    }
    const drawnIn = c.polyCrs;
    const keepTab = c.tab;
    loaded(Object.assign({ may_edit: true }, body));
    // The answer's polygon is WGS-84; the one drawn is in the page's crs, and its outline stays.
    if (spec.target.kind === 'polygon' && drawnIn !== 'wgs84') c.outline = c.outline || spec.target.coordinates;
    c.tab = keepTab;
    c.fitKey = targetKey(c.draft);
    c.list = null;
    setUrl(c.id);
    render();
    schedulePlan(true);
  }

  async function reloadLatest(merge) {
    if (!c.id) return;
    const mine = c.draft;
    const base = c.base;
    let cmp;
    try {
      cmp = await E.getJson(`/api/campaigns/${encodeURIComponent(c.id)}`);
    } catch (err) {
      showError({ message: String((err && err.message) || err) });
      return;
    }
    loaded(cmp);
    c.error = null;
    c.message = null;
    if (merge && mine && base) {
      c.draft = mergeDraft(fromSpec(base), mine, c.draft);
      c.message = t('merged', { v: versionName(c.version) });
    }
    render();
    schedulePlan(true);
  }

  /**
   * The newest version (theirs) with my changes applied again: what I changed from the version
   * I started from wins, the rest is theirs. Budget and assumptions merge key by key, the
   * calendar month by month; everything else is taken whole.
   */
  function mergeDraft(base, mine, theirs) {
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const out = clone(theirs);
    for (const k of Object.keys(mine)) {
      if (k === 'budget' || k === 'assumptions') {
        const keys = new Set([...Object.keys(base[k] || {}), ...Object.keys(mine[k] || {})]);
        for (const kk of keys) {
          const m = (mine[k] || {})[kk];
          if (!same(m, (base[k] || {})[kk])) {
            if (m === undefined) delete out[k][kk]; else out[k][kk] = m;
          }
        }
      } else if (k === 'calendar') {
        const byMonth = (list) => new Map(list.map((e) => [e.month, e]));
        const b = byMonth(base.calendar);
        const m = byMonth(mine.calendar);
        const o = byMonth(out.calendar);
        for (const month of new Set([...b.keys(), ...m.keys()])) {
          if (same(m.get(month), b.get(month))) continue;
          if (m.has(month)) o.set(month, m.get(month)); else o.delete(month);
        }
        out.calendar = [...o.values()];
      } else if (!same(mine[k], base[k])) {
        out[k] = clone(mine[k]);
      }
    }
    return out;
  }

  async function remove() {
    if (!c.id || !c.mayEdit) return;
    const name = (c.meta && c.meta.name) || c.draft.name;
    let r;
    let body = null;
    try {
      r = await E.send(`/api/campaigns/${encodeURIComponent(c.id)}?${new URLSearchParams({ version: c.version })}`, { method: 'DELETE' });
      try { body = await r.json(); } catch (e) { body = null; }
    } catch (err) {
      showError({ message: String((err && err.message) || err) });
      return;
    }
    if (r.status === 409 && body && body.code === 'conflict') {
      c.confirmDelete = false;
      c.error = { code: 'conflict', current_version: body.current_version, message: body.message };
      renderActions();
      renderError();
      return;
    }
    if (!r.ok) { showError({ message: (body && body.message) || String(r.status) }); return; }
    toList(t('deleted_ok', { name }));
  }

  function toList(message) {
    if (c.drawing) E.cancelDraw();
    Object.assign(c, { mode: 'list', id: null, draft: null, base: null, plan: null, planError: null, error: null,
      confirmDelete: false, confirmBack: false, fitKey: null, outline: null });
    c.message = message || null;
    clearTimeout(planTimer);
    planTimer = null;
    planSeq++;
    clearMap();
    setUrl(null);
    c.list = null;
    render();
    loadList();
  }

  function show() {
    if (E.view() !== 'campaigns') E.showView('campaigns'); else render();
  }

  function setUrl(id) {
    const url = new URL(location.href);
    if (id) url.searchParams.set('campaign', id); else url.searchParams.delete('campaign');
    if (url.href !== location.href) history.replaceState(null, '', url);
  }

  function showError(err) {
    c.error = err;
    renderError();
    const el = fieldOf(err.param);
    if (el) {
      el.classList.add('invalid');
      el.setAttribute('aria-invalid', 'true');
      if (el.focus) el.focus();
    }
    const box = $('campaign-error');
    if (box) box.scrollIntoView({ block: 'nearest' });
  }

  // --- Rendering ------------------------------------------------------------------------------

  function render() {
    if (E.view() !== 'campaigns') return;
    const panel = $('panel');
    panel.classList.add('campaign');
    const el = $('outlet-detail');
    if (c.mode === 'list') { el.innerHTML = listHtml(); bindList(); return; }
    const ro = !c.mayEdit;
    el.innerHTML = `<div id="campaign-view" data-mode="edit" data-id="${esc(c.id || '')}" data-version="${esc(c.version || '')}"` +
      `${ro ? ' data-readonly="true"' : ''}${c.pending ? ' data-pending="true"' : ''}>` +
      `<h2>${esc(c.id ? ((c.meta && c.meta.name) || t('campaign_builder')) : t('campaign_new'))}</h2>` +
      (ro ? `<p id="campaign-readonly" class="note">${esc(t('readonly'))}</p>` : '') +
      (c.draft ? `<details id="campaign-settings"${settingsOpen() ? ' open' : ''}><summary><b>${esc(t('settings'))}</b>` +
        `<span id="campaign-summary">${esc(summaryLine())}</span></summary>${formHtml(ro)}</details>` : `<p class="muted">${esc(t('loading'))}</p>`) +
      '<div id="campaign-error" role="alert" hidden></div><p id="campaign-message" role="status" hidden></p>' +
      '<div id="campaign-actions"></div><section id="campaign-plan"></section></div>';
    if (c.draft) {
      bindForm();
      $('campaign-settings').addEventListener('toggle', (e) => { c.settingsOpen = e.target.open; });
    }
    renderActions();
    renderError();
    renderPlan(true);
  }

  function listHtml() {
    const l = c.list;
    let html = `<div id="campaign-view" data-mode="list"><h2>${esc(t('campaigns_title'))}</h2>`;
    if (c.message) html += `<p id="campaign-message" role="status">${esc(c.message)}</p>`;
    if (mayCreate()) html += `<div class="campaign-list-bar"><button type="button" id="campaign-new" class="primary">${esc(t('campaign_new'))}</button></div>`;
    if (c.listError) html += `<p id="campaign-error" role="alert">${esc(c.listError)}</p>`;
    if (!l) return `${html}<p class="muted">${esc(t('loading'))}</p></div>`;
    if (!l.campaigns.length) return `${html}<p class="muted" id="campaign-list-empty">${esc(t(mayCreate() ? 'campaign_none' : 'campaign_none_staff'))}</p><ul id="campaign-list"></ul></div>`;
    html += '<ul id="campaign-list">' + l.campaigns.map((x) =>
      `<li data-id="${esc(x.id)}" data-version="${esc(x.version)}" tabindex="0" role="button">` +
      `<span class="name">${esc(x.name)}</span>` +
      `<span class="sub">${esc(t(`kind_${x.target_kind}`))} · ${esc(x.start)} – ${esc(x.end)} · ${esc(versionName(x.version))}` +
      ` · ${esc(t('changed_by_at', { by: x.changed_by || '?', at: fmtTime(x.changed_at) }))}</span>` +
      `<span class="types">${(x.types || []).map((ty) => `<span class="type" data-type="${esc(ty)}">${esc(typeName(ty))}</span>`).join('')}` +
      `${x.may_edit ? '' : ` <span class="ro">${esc(zh() ? '只读' : 'read-only')}</span>`}</span></li>`).join('') + '</ul>' +
      `<p class="muted">${esc(t('campaigns_total', { n: l.total }))}</p></div>`;
    return html;
  }

  function bindList() {
    const on = (id, ev, fn) => { const el = $(id); if (el) el.addEventListener(ev, fn); };
    on('campaign-new', 'click', () => newCampaign());
    document.querySelectorAll('#campaign-list li[data-id]').forEach((li) => {
      li.addEventListener('click', () => openCampaign(li.dataset.id));
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openCampaign(li.dataset.id); } });
    });
  }

  function formHtml(ro) {
    const d = c.draft;
    const dis = ro ? ' disabled' : '';
    const tg = d.target;
    const opt = (v, label, sel) => `<option value="${esc(v)}"${sel ? ' selected' : ''}>${esc(label)}</option>`;
    const areas = (c.areas || []).map((a) => opt(a.id, `${a.name}${a.kind_zh && zh() ? `（${a.kind_zh}）` : ''}`, tg.area_id === a.id)).join('');
    const outlets = (c.outlets || []).map((o) => opt(o.id, o.name, tg.outlet_id === o.id)).join('');
    const pd = c.plan && c.plan.assumptions;
    const ph = (k, fallback) => esc(pd && pd[k] !== undefined ? t('default_ph', { v: pd[k] }) : fallback);
    const val = (v) => (v === null || v === undefined ? '' : esc(v));
    return `<form id="campaign-form" novalidate${ro ? ' data-readonly="true"' : ''}>` +
      `<label class="field"><span>${esc(t('campaign_name'))}</span><input id="campaign-name" maxlength="80" autocomplete="off"` +
      ` placeholder="${esc(t('campaign_name_ph'))}" value="${esc(d.name)}"${dis}></label>` +
      `<fieldset class="target"><legend>${esc(t('target'))}</legend><div class="row">` +
      `<select id="campaign-target-kind"${dis}>${['area', 'outlet', 'polygon'].map((k) => opt(k, t(`target_${k}`), tg.kind === k)).join('')}</select>` +
      `<span class="pick" data-kind="area"${tg.kind === 'area' ? '' : ' hidden'}><select id="campaign-area"${dis}>` +
      `${tg.area_id ? '' : opt('', '—', true)}${areas}</select></span>` +
      `<span class="pick" data-kind="outlet"${tg.kind === 'outlet' ? '' : ' hidden'}><select id="campaign-outlet"${dis}>` +
      `${tg.outlet_id ? '' : opt('', '—', true)}${outlets}</select>` +
      `<select id="campaign-minutes"${dis}>${[5, 10, 15].map((m) => opt(m, t('circle_min', { m }), Number(tg.minutes || 15) === m)).join('')}</select></span>` +
      `<span class="pick" data-kind="polygon"${tg.kind === 'polygon' ? '' : ' hidden'}>` +
      `<button type="button" id="campaign-draw" aria-pressed="${c.drawing}"${dis}>${esc(t(tg.kind === 'polygon' && tg.coordinates ? 'redraw' : 'draw_on_map'))}</button>` +
      `<span id="campaign-polygon-info">${esc(polygonInfo())}</span></span></div>` +
      (!ro && tg.kind === 'area' ? `<small class="hint">${esc(t('pick_area_hint'))}</small>` : '') + '</fieldset>' +
      `<fieldset class="period"><legend>${esc(t('period'))}</legend><div class="row">` +
      `<label><span>${esc(t('start'))}</span><input id="campaign-start" type="date" value="${val(d.start)}"${dis}></label>` +
      `<label><span>${esc(t('end'))}</span><input id="campaign-end" type="date" value="${val(d.end)}"${dis}></label></div></fieldset>` +
      `<fieldset class="types"><legend>${esc(t('types'))}</legend><div class="row">` + TYPES.map(([code]) =>
        `<label class="type"><input type="checkbox" name="campaign-type" value="${code}"${d.types.includes(code) ? ' checked' : ''}${dis}>` +
        `<span>${esc(typeName(code))}</span></label>`).join('') + '</div></fieldset>' +
      '<div class="budget">' +
      `<label><span>${esc(t('budget'))}</span><input id="campaign-budget" type="number" min="0" step="1000" inputmode="decimal"` +
      ` placeholder="${esc(t('budget_ph'))}" value="${val(d.budget.total_cny)}"${dis}></label>` +
      `<label><span>${esc(t('subsidy_txn'))}</span><input id="campaign-subsidy" type="number" min="0" step="0.5" inputmode="decimal"` +
      ` placeholder="${ph('subsidy_per_txn_cny', '')}" value="${val(d.budget.subsidy_per_txn_cny)}"${dis}></label>` +
      `<label><span>${esc(t('cap_user'))}</span><input id="campaign-cap" type="number" min="0" step="1" inputmode="decimal"` +
      ` placeholder="${ph('subsidy_cap_per_user_cny', '')}" value="${val(d.budget.cap_per_user_cny)}"${dis}></label>` +
      `<label><span>${esc(t('member_weekday'))}</span><select id="campaign-weekday"${dis}>${opt('', t('weekday_default'), !d.member_weekday)}` +
      WEEKDAYS.map(([code, z, en]) => opt(code, zh() ? z : en, d.member_weekday === code || d.member_weekday === z)).join('') + '</select></label></div>' +
      `<label class="field notes"><span>${esc(t('notes_label'))}</span><textarea id="campaign-notes" rows="2" maxlength="4000"${dis}>${esc(d.notes || '')}</textarea></label>` +
      '</form>';
  }

  // The settings are open for those who edit them, folded to a line for those who read.
  const settingsOpen = () => (c.settingsOpen === null || c.settingsOpen === undefined ? c.mayEdit : c.settingsOpen);

  /** The settings in one line: target, period, types. */
  function summaryLine() {
    const d = c.draft;
    if (!d) return '';
    const tg = d.target;
    let where = t(`kind_${tg.kind}`);
    if (tg.kind === 'area') { const a = (c.areas || []).find((x) => x.id === tg.area_id); if (a) where = a.name; }
    if (tg.kind === 'outlet') {
      const o = (c.outlets || []).find((x) => x.id === tg.outlet_id);
      where = `${o ? o.name : tg.outlet_id} · ${t('circle_min', { m: tg.minutes })}`;
    }
    return `${where} · ${d.start || '?'} – ${d.end || '?'} · ${d.types.map(typeName).join('、')}`;
  }

  function polygonInfo() {
    const tg = c.draft && c.draft.target;
    if (c.drawing) return t('drawing_now');
    if (!tg || tg.kind !== 'polygon') return '';
    if (!tg.coordinates) return t('polygon_none');
    const n = tg.coordinates[0].length - 1;
    const area = c.plan && c.plan.target && c.plan.target.kind === 'polygon' ? c.plan.target.area_m2 : null;
    return t('polygon_info', { n }) + (area ? ` · ${t('area_km2', { a: fixed(area / 1e6, 3) })}` : '');
  }

  /** A change to the draft: clear the field's error mark and ask for a preview. */
  function changed(now) {
    c.confirmBack = false;
    const sum = $('campaign-summary');
    if (sum) sum.textContent = summaryLine();
    c.message = null;
    if (c.error && c.error.code !== 'conflict') c.error = null;
    document.querySelectorAll('#campaign-form .invalid').forEach((el) => { el.classList.remove('invalid'); el.removeAttribute('aria-invalid'); });
    renderError();
    renderActions();
    schedulePlan(now);
  }

  function bindForm() {
    const d = c.draft;
    const on = (id, ev, fn) => { const el = $(id); if (el) el.addEventListener(ev, fn); };
    const money = (v) => (String(v).trim() === '' ? null : Number(v));
    on('campaign-name', 'input', (e) => { d.name = e.target.value; changed(); });
    on('campaign-target-kind', 'change', (e) => {
      const kind = e.target.value;
      if (kind === 'area') d.target = { kind, area_id: (c.areas && c.areas[0] && c.areas[0].id) || '' };
      else if (kind === 'outlet') {
        const sel = E.selectedOutlet();
        const pick = sel && sel.properties.is_ours ? sel.properties.id : (c.outlets && c.outlets[0] && c.outlets[0].id);
        d.target = { kind, outlet_id: pick || '', minutes: 15 };
      } else d.target = { kind, coordinates: null };
      rerenderForm();
      changed(true);
      if (kind === 'polygon') startDraw();
    });
    on('campaign-area', 'change', (e) => { d.target = { kind: 'area', area_id: e.target.value }; changed(true); });
    on('campaign-outlet', 'change', (e) => { d.target = { kind: 'outlet', outlet_id: e.target.value, minutes: Number($('campaign-minutes').value) }; changed(true); });
    on('campaign-minutes', 'change', (e) => { d.target = { kind: 'outlet', outlet_id: $('campaign-outlet').value, minutes: Number(e.target.value) }; changed(true); });
    on('campaign-draw', 'click', () => startDraw());
    on('campaign-start', 'change', (e) => { d.start = e.target.value; changed(); });
    on('campaign-end', 'change', (e) => { d.end = e.target.value; changed(); });
    document.querySelectorAll('#campaign-form input[name="campaign-type"]').forEach((cb) => cb.addEventListener('change', () => {
      const code = cb.value;
      d.types = cb.checked ? d.types.filter((x) => x !== code).concat([code]) : d.types.filter((x) => x !== code);
      changed();
    }));
    on('campaign-budget', 'input', (e) => { d.budget.total_cny = money(e.target.value); changed(); });
    on('campaign-subsidy', 'input', (e) => { d.budget.subsidy_per_txn_cny = money(e.target.value); syncSlider('subsidy_per_txn_cny'); changed(); });
    on('campaign-cap', 'input', (e) => { d.budget.cap_per_user_cny = money(e.target.value); changed(); });
    on('campaign-weekday', 'change', (e) => { d.member_weekday = e.target.value || null; changed(); });
    on('campaign-notes', 'input', (e) => { d.notes = e.target.value; changed(); });
    on('campaign-form', 'submit', (e) => { e.preventDefault(); save(); });
  }

  function rerenderForm() {
    const form = $('campaign-form');
    if (!form) return;
    const wrap = document.createElement('div');
    wrap.innerHTML = formHtml(!c.mayEdit);
    form.replaceWith(wrap.firstChild);
    bindForm();
  }

  function startDraw() {
    if (!c.mayEdit || !c.draft) return;
    if (c.drawing) { E.cancelDraw(); return; }
    c.drawing = true;
    E.draw((ring) => {
      c.drawing = false;
      c.draft.target = { kind: 'polygon', coordinates: [ring] };
      c.polyCrs = E.crs;
      c.outline = [ring];
      rerenderForm();
      changed(true);
    }, () => {
      c.drawing = false;
      rerenderForm();
    });
    rerenderForm();
  }

  function renderActions() {
    const box = $('campaign-actions');
    if (!box || c.mode !== 'edit') return;
    const isDirty = dirty();
    let status;
    let state;
    if (!c.id) { status = t('status_new'); state = 'new'; } else if (isDirty) { status = t('status_dirty'); state = 'dirty'; } else {
      state = 'saved';
      status = t('status_saved', { v: versionName(c.version),
        by_at: t('changed_by_at', { by: (c.meta && c.meta.changed_by) || '?', at: fmtTime(c.meta && c.meta.changed_at) }) });
    }
    let buttons = '';
    if (c.mayEdit && c.draft) {
      buttons += `<button type="button" id="campaign-save" class="primary"${c.saving ? ' disabled' : ''}>${esc(t(c.saving ? 'saving' : 'save'))}</button>`;
      if (c.id) {
        buttons += c.confirmDelete
          ? `<button type="button" id="campaign-delete-confirm" class="danger">${esc(t('delete_confirm'))}</button>` +
            `<button type="button" id="campaign-delete-cancel">${esc(t('delete_cancel'))}</button>`
          : `<button type="button" id="campaign-delete">${esc(t('delete'))}</button>`;
      }
    }
    buttons += `<button type="button" id="campaign-back">${esc(t(c.confirmBack ? 'back_discard' : 'back_list'))}</button>`;
    box.innerHTML = `<p id="campaign-status" data-state="${state}">${esc(status)}</p><div class="buttons">${buttons}</div>`;
    const on = (id, fn) => { const el = $(id); if (el) el.addEventListener('click', fn); };
    on('campaign-save', () => save());
    on('campaign-delete', () => { c.confirmDelete = true; renderActions(); });
    on('campaign-delete-cancel', () => { c.confirmDelete = false; renderActions(); });
    on('campaign-delete-confirm', () => remove());
    on('campaign-back', () => {
      if (c.mayEdit && dirty() && c.draft && !c.confirmBack) { c.confirmBack = true; renderActions(); return; }
      toList();
    });
    const msg = $('campaign-message');
    if (msg) { msg.textContent = c.message || ''; msg.hidden = !c.message; }
  }

  function renderError() {
    const box = $('campaign-error');
    if (!box) return;
    const err = c.error;
    box.hidden = !err;
    if (!err) { box.innerHTML = ''; delete box.dataset.code; delete box.dataset.param; return; }
    if (err.code) box.dataset.code = err.code; else delete box.dataset.code;
    if (err.param) box.dataset.param = err.param; else delete box.dataset.param;
    if (err.code === 'conflict') {
      box.innerHTML = `<p class="msg">${esc(t('conflict', { v: versionName(err.current_version) }))}</p>` +
        `<div class="buttons"><button type="button" id="campaign-merge" class="primary">${esc(t('merge_mine'))}</button>` +
        `<button type="button" id="campaign-reload">${esc(t('reload_latest'))}</button></div>`;
      $('campaign-merge').addEventListener('click', () => reloadLatest(true));
      $('campaign-reload').addEventListener('click', () => reloadLatest(false));
      return;
    }
    box.innerHTML = `<p class="msg">${esc(err.param && !err.local ? t('field_error', { field: fieldLabel(err.param), m: err.message }) : err.message)}</p>`;
  }

  // --- The plan -------------------------------------------------------------------------------

  const TABS = [['b', 'tab_b'], ['c', 'tab_c'], ['calendar', 'tab_calendar'], ['estimates', 'tab_estimates'], ['cross', 'tab_cross']];

  /** Draws the plan section; full: also the tabs and the sliders (else they are kept as they are). */
  function renderPlan(full) {
    const sec = $('campaign-plan');
    if (!sec || c.mode !== 'edit') return;
    const view = $('campaign-view');
    if (view) {
      if (c.plan) view.dataset.plan = c.planKind; else delete view.dataset.plan;
    }
    renderActions();
    const info = $('campaign-polygon-info');
    if (info) info.textContent = polygonInfo();
    if (full || !$('campaign-tab-body')) {
      sec.innerHTML = '<div class="plan-head"><span id="campaign-plan-state" class="muted"></span></div>' +
        '<div id="campaign-plan-msg" role="status" hidden></div><div id="campaign-kpis" class="kpis"></div>' +
        '<div class="tabs" role="tablist">' + TABS.map(([k, label]) =>
          `<button type="button" id="campaign-tab-${k}" role="tab" aria-selected="${c.tab === k}">${esc(t(label))}</button>`).join('') + '</div>' +
        `<div id="campaign-tab-body" data-tab="${c.tab}"></div><div id="campaign-export"></div>`;
      for (const [k] of TABS) $(`campaign-tab-${k}`).addEventListener('click', () => setTab(k));
    }
    $('campaign-plan-state').textContent = c.pending ? t('previewing') : planStateText();
    const msg = $('campaign-plan-msg');
    const pe = c.planError;
    msg.hidden = !pe;
    msg.textContent = pe ? (pe.param && !pe.local ? t('field_error', { field: fieldLabel(pe.param), m: pe.message }) : pe.message) : '';
    if (pe) msg.dataset.param = pe.param || ''; else delete msg.dataset.param;
    renderKpis();
    renderTabBody(full);
    renderExport();
  }

  function setTab(k) {
    if (c.tab === k) return;
    c.tab = k;
    for (const [x] of TABS) $(`campaign-tab-${x}`).setAttribute('aria-selected', String(x === k));
    $('campaign-tab-body').dataset.tab = k;
    renderTabBody(true);
  }

  function renderKpis() {
    const box = $('campaign-kpis');
    const p = c.plan;
    if (!box) return;
    if (!p) { box.innerHTML = ''; return; }
    const base = p.estimates.find((e) => e.case === 'base');
    const kpi = (k, value, label, extra) => `<div class="kpi" data-kpi="${k}"><b>${esc(value)}${extra ? `<small>（${esc(extra)}）</small>` : ''}</b><span>${esc(label)}</span></div>`;
    box.innerHTML = kpi('merchants', int(p.b_side.merchants), t('kpi_merchants')) +
      kpi('signed', int(p.b_side.signed), t('kpi_signed'), p.b_side.merchants ? pct1(p.b_side.signed / p.b_side.merchants) : '') +
      kpi('recommended', int(p.b_side.cover.picks.length), t('kpi_recommended')) +
      kpi('households', int(p.c_side.households), t('kpi_households')) +
      (base ? kpi('new_users', int(base.new_users), t('kpi_new_users')) + kpi('roi', pct1(base.roi), t('kpi_roi')) : '');
  }

  function renderTabBody(full) {
    const body = $('campaign-tab-body');
    if (!body) return;
    const p = c.plan;
    if (!p) {
      body.innerHTML = c.planError ? '' : `<p class="muted">${esc(t('loading'))}</p>`;
      return;
    }
    if (c.tab === 'b') body.innerHTML = bHtml(p);
    else if (c.tab === 'c') body.innerHTML = cHtml(p);
    else if (c.tab === 'calendar') renderCalendar(body, p);
    else if (c.tab === 'estimates') renderEstimates(body, p, full);
    else body.innerHTML = crossHtml(p);
    bindTab(body);
  }

  function bHtml(p) {
    const b = p.b_side;
    const cv = b.cover;
    const n = cv.picks.length;
    const note = (cv.optimal ? t('cover_optimal', { n, lb: cv.lower_bound }) : t('cover_bound', { n, lb: cv.lower_bound, w: fixed(cv.within, 2) })) +
      ' ' + t('cover_demands', { before: cv.demands_met_before, after: cv.demands_met_after, total: cv.demands_total }) +
      (cv.uncoverable && cv.uncoverable.length ? ' ' + t('cover_uncoverable', { n: cv.uncoverable.length }) : '');
    const shown = b.list.slice(0, 100);
    return `<div class="table-wrap"><table id="campaign-b-cats"><thead><tr><th>${esc(t('category'))}</th><th>${esc(t('merchants'))}</th>` +
      `<th>${esc(t('signed'))}</th><th>${esc(t('prospects'))}</th><th>${esc(t('recommended'))}</th></tr></thead><tbody>` +
      b.by_category.map((r) => `<tr data-code="${esc(r.code)}"><td>${esc(E.catName(r.code))}</td><td class="merchants">${r.merchants}</td>` +
        `<td class="signed">${r.signed}</td><td class="prospects">${r.prospects}</td>` +
        `<td class="recommended${r.recommended ? ' some' : ''}">${r.recommended}</td></tr>`).join('') +
      `</tbody><tfoot><tr><td>${esc(zh() ? '合计' : 'Total')}</td><td>${int(b.merchants)}</td><td>${int(b.signed)}</td>` +
      `<td>${int(b.by_category.reduce((a, r) => a + r.prospects, 0))}</td><td>${n}</td></tr></tfoot></table></div>` +
      `<h3>${esc(t('picks_title'))}</h3>` +
      `<p id="campaign-cover-note" class="note" data-optimal="${cv.optimal}" data-lower-bound="${cv.lower_bound}">${esc(note)}</p>` +
      (n ? '<ol id="campaign-picks">' + cv.picks.map((x) => {
        const m = b.list.find((r) => r.id === x.merchant_id);
        return `<li data-merchant-id="${esc(x.merchant_id)}" data-order="${x.order}" tabindex="0" role="button"><span class="order">${x.order}</span>` +
          `<span class="name">${esc(x.name)} <small>${esc(E.catName(x.category))}${m ? ` · ${esc(E.statusName(m.status))}` : ''}</small></span>` +
          `<span class="gain">${esc(t('gain', { n: x.gain }))}</span></li>`;
      }).join('') + '</ol>' : `<ol id="campaign-picks"></ol><p class="muted">${esc(t('picks_none'))}</p>`) +
      `<details id="campaign-merchant-list"><summary>${esc(t('all_merchants', { n: b.merchants }))}` +
      `${b.list.length > shown.length || b.truncated ? ` · ${esc(t('list_shown', { n: shown.length }))}` : ''}</summary><ol>` +
      shown.map((m) => `<li data-merchant-id="${esc(m.id)}" tabindex="0" role="button"><span class="dot" style="background:${STATUS_COLORS[m.status] || '#9e9e9e'}"></span>` +
        `<span class="name">${esc(m.name)} <small>${esc(E.catName(m.category))} · ${esc(E.statusName(m.status))}</small></span>` +
        `${m.recommended ? `<span class="order">${m.recommended}</span>` : ''}<span class="dist">${Math.round(m.distance_m)} m</span></li>`).join('') +
      '</ol></details>';
  }

  function cHtml(p) {
    const s = p.c_side;
    const ro = !c.mayEdit;
    const kpi = (k, value, label) => `<div class="kpi" data-kpi="${k}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
    const mark = (x) => (x.covered_now ? `<span class="cov now" title="${esc(t('covered_now'))}">✓</span>`
      : x.covered_after ? `<span class="cov after" title="${esc(t('covered_after'))}">→✓</span>` : `<span class="cov no" title="${esc(t('not_covered'))}">—</span>`);
    return `<div id="campaign-c-totals" class="kpis">` +
      kpi('households', int(s.households), t('c_households')) + kpi('residents', int(s.residents), t('c_residents')) +
      kpi('existing_users', int(s.existing_users), t('c_existing')) + kpi('penetration', pct1(s.penetration), t('c_penetration')) +
      kpi('covered', `${int(s.covered_households_now)} → ${int(s.covered_households_after)}`, t('c_covered')) +
      kpi('seeds', `${s.seeds.length}`, t('c_seeds')) + '</div>' +
      '<div class="table-wrap"><table id="campaign-communities"><thead><tr>' +
      `<th>${esc(t('community'))}</th><th>${esc(t('households'))}</th><th>${esc(t('penetration'))}</th><th>${esc(t('covered'))}</th><th>${esc(t('distance'))}</th>` +
      '</tr></thead><tbody>' + s.communities.map((x) =>
        `<tr data-id="${esc(x.id)}" data-seed="${!!x.seed}"><td class="name">` +
        (ro ? `<span class="seed-mark">${x.seed ? '★' : ''}</span>`
          : `<button type="button" class="seed" data-seed-toggle="${esc(x.id)}" aria-pressed="${!!x.seed}" title="${esc(t('seed_toggle'))}">${x.seed ? '★' : '☆'}</button>`) +
        `${esc(x.name)}</td><td class="households">${int(x.households)}${x.residents_estimated ? '*' : ''}</td>` +
        `<td class="penetration">${pct1(x.penetration)}</td>` +
        `<td class="covered" data-now="${!!x.covered_now}" data-after="${!!x.covered_after}">${mark(x)}</td>` +
        `<td class="dist">${x.distance_m === null || x.distance_m === undefined ? '' : `${Math.round(x.distance_m)} m`}</td></tr>`).join('') +
      '</tbody></table></div>' +
      `<p class="note" id="campaign-seed-rule">★ ${esc(t(s.seeds_chosen ? 'seeds_manual' : 'seeds_auto'))}` +
      `${s.seeds_chosen ? '' : `：${esc(zh() ? s.seed_rule_zh : s.seed_rule_en)}`}` +
      `${!ro && c.draft && c.draft.seed_communities ? ` <button type="button" class="link" id="campaign-seeds-auto">${esc(t('seeds_reset'))}</button>` : ''}</p>`;
  }

  function renderCalendar(body, p) {
    const ro = !c.mayEdit;
    const dis = ro ? ' disabled' : '';
    const themeKey = zh() ? 'theme_zh' : 'theme_en';
    // Keep the caret where it was when the table is redrawn under it.
    const a = document.activeElement;
    const keep = a && body.contains(a) && a.dataset.field ? { month: a.closest('tr').dataset.month, field: a.dataset.field,
      pos: a.selectionStart } : null;
    body.innerHTML = `<p class="note">${esc(t('calendar_note'))}</p><div class="table-wrap"><table id="campaign-calendar"><tbody>` +
      p.calendar.map((m) => {
        const ym = m.month.slice(0, 7);
        const [y, mo] = ym.split('-');
        const fest = (m.festivals || []).map(([code, date]) => `${festivalName(code)} ${date.slice(5)}`).join('、');
        return `<tr data-month="${ym}" data-activity="${esc(m.activity)}" data-edited="${!!m.edited}"${m.anchor ? ` data-anchor="${esc(m.anchor)}"` : ''}>` +
          `<th><b>${zh() ? `${Number(mo)}月` : new Date(`${ym}-01T00:00:00Z`).toLocaleString('en', { month: 'short', timeZone: 'UTC' })}</b><small>${y}</small></th>` +
          `<td><div class="line"><select data-field="activity" aria-label="${esc(t('activity'))}"${dis}>` +
          TYPES.map(([code]) => `<option value="${code}"${code === m.activity ? ' selected' : ''}>${esc(typeName(code))}</option>`).join('') + '</select>' +
          (m.edited ? `<span class="edited">${esc(t('edited'))}</span>` : '') +
          (m.edited && !ro ? `<button type="button" class="link" data-reset="${ym}">${esc(t('reset_month'))}</button>` : '') + '</div>' +
          `<input data-field="theme" maxlength="60" aria-label="${esc(t('theme'))}" value="${esc(m[themeKey])}"${dis}>` +
          `<small class="when">${fest ? `${esc(t('festivals'))}：${esc(fest)} · ` : ''}${esc(t('member_days', { n: (m.member_days || []).length }))}</small>` +
          `<small class="why">${esc(zh() ? m.note_zh : m.note_en)}</small></td></tr>`;
      }).join('') + '</tbody></table></div>';
    if (keep) {
      const el = body.querySelector(`tr[data-month="${keep.month}"] [data-field="${keep.field}"]`);
      if (el) {
        el.focus();
        if (keep.pos !== null && keep.pos !== undefined && el.setSelectionRange) el.setSelectionRange(keep.pos, keep.pos);
      }
    }
  }

  /** The draft's edit of month `ym` (made when missing). */
  function monthEdit(ym) {
    let e = c.draft.calendar.find((x) => x.month === ym);
    if (!e) { e = { month: ym }; c.draft.calendar.push(e); }
    return e;
  }

  const sliderValue = (k) => {
    const d = c.draft;
    if (k === 'subsidy_per_txn_cny' && d.budget.subsidy_per_txn_cny !== null) return d.budget.subsidy_per_txn_cny;
    if (d.assumptions[k] !== undefined) return d.assumptions[k];
    return c.plan ? c.plan.assumptions[k] : null;
  };
  const sliderText = (k, kind) => {
    const v = sliderValue(k);
    if (v === null || v === undefined) return '';
    return kind === 'pct' ? `${fixed(100 * v, 1)}%` : kind === 'cny' ? `${fixed(v, v % 1 ? 1 : 0)} ${zh() ? '元' : 'CNY'}` : fixed(v, v % 1 ? 1 : 0);
  };

  function syncSlider(k) {
    const input = document.querySelector(`#campaign-sliders input[data-assumption="${k}"]`);
    if (!input) return;
    const s = SLIDERS.find((x) => x[0] === k);
    const v = sliderValue(k);
    if (document.activeElement !== input && v !== null && v !== undefined) input.value = String(v);
    const out = document.querySelector(`#campaign-sliders output[data-for="${k}"]`);
    if (out) out.textContent = sliderText(k, s[4]);
  }

  function renderEstimates(body, p, full) {
    let sliders = $('campaign-sliders');
    if (full || !sliders || !body.contains(sliders) || sliders.dataset.lang !== E.lang()) {
      body.innerHTML = `<div id="campaign-sliders" data-lang="${E.lang()}"><h3>${esc(t('sliders'))}</h3>` + SLIDERS.map(([k, min, max, step, kind]) => {
        const v = sliderValue(k);
        return `<label class="slider"><span class="label">${esc(t(`a_${k}`))}</span>` +
          `<input type="range" data-assumption="${k}" min="${min}" max="${max}" step="${step}" value="${esc(v ?? min)}">` +
          `<output data-for="${k}">${esc(sliderText(k, kind))}</output></label>`;
      }).join('') + `<p class="note">${c.mayEdit ? '' : esc(t('whatif')) + ' '}` +
        `<button type="button" class="link" id="campaign-assumptions-reset">${esc(t('assumptions_reset'))}</button></p></div>` +
        '<div id="campaign-estimates-out"></div>';
      sliders = $('campaign-sliders');
      sliders.querySelectorAll('input[type=range]').forEach((input) => input.addEventListener('input', () => {
        const k = input.dataset.assumption;
        const v = Number(input.value);
        if (k === 'subsidy_per_txn_cny') {
          c.draft.budget.subsidy_per_txn_cny = v;
          const f = $('campaign-subsidy');
          if (f) f.value = String(v);
        } else c.draft.assumptions[k] = v;
        syncSlider(k);
        changed();
      }));
      $('campaign-assumptions-reset').addEventListener('click', () => {
        c.draft.assumptions = {};
        c.draft.budget.subsidy_per_txn_cny = null;
        const f = $('campaign-subsidy');
        if (f) f.value = '';
        c.tabResetSliders = true;
        changed(true);
      });
    } else {
      for (const [k] of SLIDERS) syncSlider(k);
    }
    if (c.tabResetSliders && c.planKind) {
      c.tabResetSliders = false;
      for (const [k] of SLIDERS) {
        const input = document.querySelector(`#campaign-sliders input[data-assumption="${k}"]`);
        if (input) input.value = String(sliderValue(k));
        syncSlider(k);
      }
    }
    $('campaign-estimates-out').innerHTML = estimatesHtml(p);
  }

  function figureText(f) {
    if (f.key === 'k') return fixed(f.value, 2);
    if (f.key === 'roi') return pct1(f.value);
    return int(f.value);
  }

  function estimatesHtml(p) {
    const byCase = Object.fromEntries(p.estimates.map((e) => [e.case, e]));
    const base = byCase.base;
    if (!base) return '';
    const unit = (f) => (f.unit ? `<small>（${esc(zh() ? f.unit : { 人: 'people', 笔: 'txns', 元: 'CNY' }[f.unit] || f.unit)}）</small>` : '');
    const budget = p.budget && p.budget.subsidy_budget_cny !== null && p.budget.subsidy_budget_cny !== undefined
      ? `${int(p.budget.subsidy_budget_cny)} ${zh() ? '元' : 'CNY'}` : t('no_budget');
    const rows = base.figures.map((f) => {
      const cells = CASES.map((k) => {
        const g = byCase[k] && byCase[k].figures.find((x) => x.key === f.key);
        return `<td data-case="${k}" data-value="${g ? g.value : ''}">${g ? esc(figureText(g)) : ''}</td>`;
      }).join('');
      return `<tr data-key="${esc(f.key)}"><th>${esc(zh() ? f.zh : f.en)}${unit(f)}</th>${cells}</tr>` +
        `<tr class="how" data-how="${esc(f.key)}"><td colspan="4">${esc(zh() ? f.how : (f.how_en || f.how))}</td></tr>`;
    }).join('');
    const maxNew = Math.max(1, ...base.generations.map((g) => g.new_users));
    return `<p class="meta" id="campaign-population">${esc(t('population_line', { r: int(base.reachable), s: int(p.population.seeds), m: p.budget.months, b: budget }))}</p>` +
      `<div class="table-wrap"><table id="campaign-estimates"><thead><tr><th>${esc(t('figure'))}</th>` +
      CASES.map((k) => `<th data-case="${k}">${esc(t(`case_${k}`))}</th>`).join('') + `</tr></thead><tbody>${rows}</tbody></table></div>` +
      `<h3>${esc(t('generations'))} <small>K = ${fixed(base.k, 2)}</small></h3><table id="campaign-generations"><thead><tr>` +
      `<th>${esc(t('generation'))}</th><th>${esc(t('gen_new'))}</th><th>${esc(t('gen_cum'))}</th></tr></thead><tbody>` +
      base.generations.map((g) => `<tr data-n="${g.n}"><td>${g.n === 0 ? esc(t('gen_seed')) : g.n}</td>` +
        `<td class="bar-cell"><span class="bar" style="width:${(100 * g.new_users / maxNew).toFixed(1)}%"></span><span class="v">${int(g.new_users)}</span></td>` +
        `<td>${int(g.cumulative)}</td></tr>`).join('') + '</tbody></table>' +
      (base.k < 1 && base.closed_form !== null && base.closed_form !== undefined ? `<p class="note">${esc(t('closed_form', { v: int(base.closed_form) }))}</p>` : '');
  }

  function crossHtml(p) {
    const list = p.cross || [];
    if (!list.length) return `<ul id="campaign-cross"></ul><p class="muted" id="campaign-cross-empty">${esc(t('cross_none'))}</p>`;
    return '<ul id="campaign-cross">' + list.map((x) => `<li data-a="${esc(x.a_id)}" data-b="${esc(x.b_id)}" tabindex="0" role="button">` +
      `<span class="pair"><b>${esc(x.a_name)}</b> <small>${esc(E.catName(x.a_category))}</small> × <b>${esc(x.b_name)}</b> <small>${esc(E.catName(x.b_category))}</small></span>` +
      `<span class="sub">${esc(t('walking', { m: Math.round(x.walking_m) }))}${x.both_signed ? ` · ${esc(t('both_signed'))}` : ''}</span>` +
      `<span class="offer">${esc(zh() ? x.offer_zh : x.offer_en)}</span>` +
      `${x.reason_zh ? `<small class="why">${esc(x.reason_zh)}</small>` : ''}</li>`).join('') + '</ul>';
  }

  function bindTab(body) {
    body.querySelectorAll('#campaign-picks li[data-merchant-id], #campaign-merchant-list li[data-merchant-id]').forEach((li) => {
      const go = () => { if (E.selectMerchant) E.selectMerchant(li.dataset.merchantId, { fly: true }); };
      li.addEventListener('click', go);
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });
    });
    body.querySelectorAll('button[data-seed-toggle]').forEach((b) => b.addEventListener('click', () => {
      const id = b.dataset.seedToggle;
      const seeds = (c.draft.seed_communities || (c.plan ? c.plan.c_side.seeds : [])).slice();
      c.draft.seed_communities = seeds.includes(id) ? seeds.filter((x) => x !== id) : seeds.concat([id]);
      changed(true);
    }));
    const auto = body.querySelector('#campaign-seeds-auto');
    if (auto) auto.addEventListener('click', () => { c.draft.seed_communities = null; changed(true); });
    body.querySelectorAll('#campaign-communities tr[data-id]').forEach((tr) => tr.addEventListener('click', (e) => {
      if (e.target.closest('button')) return;
      const f = c.plan && c.plan.map.features.find((x) => x.properties.kind === 'community' && x.properties.id === tr.dataset.id);
      if (f && E.map) E.map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(E.map.getZoom(), 16), duration: 300 });
    }));
    body.querySelectorAll('#campaign-calendar tr[data-month]').forEach((tr) => {
      const ym = tr.dataset.month;
      const sel = tr.querySelector('select[data-field=activity]');
      sel.addEventListener('change', () => {
        const e = monthEdit(ym);
        e.activity = sel.value;
        // A new activity comes with its own proposed theme (the server's), unless one is typed.
        delete e.theme_zh;
        delete e.theme_en;
        changed(true);
      });
      const input = tr.querySelector('input[data-field=theme]');
      input.addEventListener('change', () => {
        const e = monthEdit(ym);
        const v = input.value.trim();
        const k = zh() ? 'theme_zh' : 'theme_en';
        if (v) e[k] = v; else delete e[k];
        if (Object.keys(e).length === 1) c.draft.calendar = c.draft.calendar.filter((x) => x !== e);
        changed(true);
      });
      input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); input.blur(); } });
      const reset = tr.querySelector('button[data-reset]');
      if (reset) reset.addEventListener('click', () => { c.draft.calendar = c.draft.calendar.filter((x) => x.month !== ym); changed(true); });
    });
    body.querySelectorAll('#campaign-cross li').forEach((li) => li.addEventListener('click', () => {
      const x = c.plan.cross.find((p) => p.a_id === li.dataset.a && p.b_id === li.dataset.b);
      if (!x || !E.map || !x.a_lonlat) return;
      const b = x.b_lonlat || x.a_lonlat;
      E.map.fitBounds([[Math.min(x.a_lonlat[0], b[0]), Math.min(x.a_lonlat[1], b[1])], [Math.max(x.a_lonlat[0], b[0]), Math.max(x.a_lonlat[1], b[1])]],
        { padding: E.mapPadding(), maxZoom: 17, duration: 300 });
    }));
  }

  function renderExport() {
    const box = $('campaign-export');
    if (!box) return;
    if (!c.id) { box.innerHTML = ''; return; }
    const href = (format, part) => `/api/campaigns/${encodeURIComponent(c.id)}/plan?${new URLSearchParams(
      Object.assign({ format, crs: E.crs || 'wgs84' }, part ? { part } : {}))}`;
    box.innerHTML = `<h3>${esc(t('export'))}</h3><p>` +
      `<a data-format="html" href="${esc(href('html'))}" target="_blank" rel="noopener">${esc(t('export_html'))}</a> · ` +
      `<a data-format="geojson" href="${esc(href('geojson'))}" download="${esc(c.id)}.geojson">${esc(t('export_geojson'))}</a></p>` +
      `<p>${esc(t('export_csv'))}${EXPORT_PARTS.map((part) =>
        `<a data-format="csv" data-part="${part}" href="${esc(href('csv', part))}" download="${esc(c.id)}-${part}.csv">${esc(t(`part_${part}`))}</a>`).join(' · ')}</p>` +
      (dirty() ? `<p class="note">${esc(t('export_saved_only', { v: versionName(c.version) }))}</p>` : '');
  }

  // --- The map --------------------------------------------------------------------------------

  const EMPTY = () => ({ type: 'FeatureCollection', features: [] });
  const SOURCES = ['campaign-target', 'campaign-communities', 'campaign-cross', 'campaign-merchants'];

  function addLayers(map) {
    for (const s of SOURCES) map.addSource(s, { type: 'geojson', data: EMPTY() });
    const before = map.getLayer('outlets-competitors') ? 'outlets-competitors' : undefined;
    // The area under the base map's merchants; the rest under the outlets' badges.
    const under = map.getLayer('merchant-clusters') ? 'merchant-clusters' : before;
    map.addLayer({ id: 'campaign-target-fill', type: 'fill', source: 'campaign-target', paint: { 'fill-color': TARGET_COLOR, 'fill-opacity': 0.1 } }, under);
    map.addLayer({ id: 'campaign-target-line', type: 'line', source: 'campaign-target',
      paint: { 'line-color': TARGET_COLOR, 'line-width': 3, 'line-dasharray': [3, 1.5] } }, under);
    map.addLayer({ id: 'campaign-communities', type: 'circle', source: 'campaign-communities', paint: {
      'circle-radius': ['interpolate', ['linear'], ['sqrt', ['max', ['get', 'households'], 0]], 10, 5, 40, 11, 60, 17],
      'circle-color': ['case', ['boolean', ['get', 'covered_now'], false], '#1565c0', ['boolean', ['get', 'covered_after'], false], '#26a69a', '#90a4ae'],
      'circle-opacity': 0.45,
      'circle-stroke-color': ['case', ['boolean', ['get', 'seed'], false], SEED_COLOR, '#ffffff'],
      'circle-stroke-width': ['case', ['boolean', ['get', 'seed'], false], 3.5, 1] } }, before);
    map.addLayer({ id: 'campaign-cross', type: 'line', source: 'campaign-cross',
      layout: { 'line-cap': 'round' }, paint: { 'line-color': CROSS_COLOR, 'line-width': 2.5, 'line-dasharray': [1.5, 1.5] } }, before);
    const status = ['match', ['get', 'status']];
    for (const [k, v] of Object.entries(STATUS_COLORS)) status.push(k, v);
    status.push('#9e9e9e');
    const rec = ['!=', ['get', 'recommended'], null];
    map.addLayer({ id: 'campaign-merchants', type: 'circle', source: 'campaign-merchants', paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, ['case', rec, 8, 2.5], 16, ['case', rec, 11, 5], 18, ['case', rec, 13, 7]],
      'circle-color': ['case', rec, PICK_COLOR, status],
      'circle-opacity': ['case', rec, 0.3, 0.9],
      'circle-stroke-color': ['case', rec, PICK_COLOR, TARGET_COLOR],
      'circle-stroke-width': ['case', rec, 2, 1.2] } }, before);
  }

  function clearMap() {
    for (const m of c.markers) m.remove();
    c.markers = [];
    const map = E.map;
    if (!map || !map.getSource('campaign-target')) return;
    for (const s of SOURCES) map.getSource(s).setData(EMPTY());
  }

  function drawMap() {
    const map = E.map;
    if (!map || !map.getSource('campaign-target')) return;
    if (E.view() !== 'campaigns' || c.mode !== 'edit' || !c.plan) { clearMap(); return; }
    const features = c.plan.map.features;
    const of = (kind) => ({ type: 'FeatureCollection', features: features.filter((f) => f.properties.kind === kind) });
    map.getSource('campaign-target').setData(of('target'));
    map.getSource('campaign-communities').setData(of('community'));
    map.getSource('campaign-cross').setData(of('cross'));
    map.getSource('campaign-merchants').setData(of('merchant'));
    for (const m of c.markers) m.remove();
    c.markers = [];
    const picks = features.filter((f) => f.properties.kind === 'merchant' && f.properties.recommended !== null && f.properties.recommended !== undefined)
      .sort((a, b) => a.properties.recommended - b.properties.recommended);
    for (const f of picks) {
      const p = f.properties;
      const el = document.createElement('button');
      el.type = 'button';
      el.className = 'campaign-pick';
      el.dataset.merchantId = p.id;
      el.dataset.order = p.recommended;
      el.title = `${p.recommended}. ${p.name}`;
      el.textContent = String(p.recommended);
      el.addEventListener('click', (e) => {
        e.stopPropagation();
        if (E.selectMerchant) E.selectMerchant(p.id, { fly: false });
      });
      c.markers.push(new maplibregl.Marker({ element: el, anchor: 'center' }).setLngLat(f.geometry.coordinates).addTo(map));
    }
  }

  /** Fits the map to the plan (target, communities, merchants), clear of the panel and the legend. */
  function fit() {
    if (c.plan) E.fitClear(c.plan.map.features, { margin: 16, maxZoom: 17, rightShare: 0.45 });
  }

  // --- Wiring ---------------------------------------------------------------------------------

  function openTool() {
    if (c.mode === 'edit' && (c.draft || c.id)) {
      show();
      if (c.id) setUrl(c.id);
      drawMap();
      if (c.plan) fit();
      return;
    }
    c.mode = 'list';
    c.message = null;
    show();
    loadList();
  }

  E.addView('campaigns', {
    render() {
      render();
      drawMap();
    },
    // Another view or closing the panel takes the campaign off the map (the tool button brings
    // the builder back, draft included).
    leave() {
      if (c.drawing) E.cancelDraw();
      const panel = $('panel');
      if (panel) panel.classList.remove('campaign');
      clearMap();
      setUrl(null);
    },
    // While editing: a click on a district makes it the target (an area target), a click on one
    // of our outlets makes its circle the target (an outlet target).
    click(f) {
      if (c.mode !== 'edit' || !c.draft || !c.mayEdit) return false;
      const kind = c.draft.target.kind;
      const p = f.properties || {};
      if (f.layer.id === 'areas' && kind === 'area' && (c.areas || []).some((a) => a.id === p.id)) {
        c.draft.target = { kind: 'area', area_id: p.id };
        rerenderForm();
        changed(true);
        return true;
      }
      if (f.layer.id === 'outlets-ours' && kind === 'outlet' && (c.outlets || []).some((o) => o.id === p.id)) {
        c.draft.target = { kind: 'outlet', outlet_id: p.id, minutes: c.draft.target.minutes || 15 };
        rerenderForm();
        changed(true);
        return true;
      }
      return false;
    },
  });

  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'campaign-open';
  button.dataset.i18n = 'campaigns';
  button.textContent = t('campaigns');
  const tools = $('tools');
  const after = $('visit-plan');
  tools.insertBefore(button, after ? after.nextSibling : tools.firstChild);
  button.addEventListener('click', () => openTool());

  E.onStart((map) => {
    addLayers(map);
    const wanted = new URLSearchParams(location.search).get('campaign');
    if (wanted) setTimeout(() => openCampaign(wanted), 0);
  });
})();
