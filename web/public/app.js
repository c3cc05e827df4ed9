// ecomap map app: MapLibre GL JS over ecomap's API (GeoJSON) and vector tiles (merchants, the
// coverage grid). Chinese first, English on request.
//
// Coverage tools: an outlet's life circles (生活圈 tab), the H3 coverage grid (覆盖网格, with white
// space), drawing an area to survey it (绘制商圈, POST /api/survey) and the comparison of our
// outlets (网点对比, GET /api/coverage/outlets).
//
// Works offline with no base map (a plain background under ecomap's own layers). A base map is
// configured by /config.json (the server's --basemap-* options) or the URL
// (?basemap=URL&basemap_type=raster|vector&basemap_crs=wgs84|gcj02|bd09); the app then asks the
// API for coordinates in the base map's system so that points land on the right street.
// Text on the map (area and outlet labels) is drawn into icons with the browser's own fonts, so
// Chinese labels need no glyph server.
//
// Every data endpoint needs a signed-in user: the app asks /api/session first and shows a login
// form (#login) until someone signs in; nothing else is requested before that. The session is an
// HttpOnly cookie; the CSRF token it comes with is kept in memory and sent as X-CSRF-Token on
// every request that is not a GET.
//
// Field visits (规划拜访: an afternoon's route and one-tap outcomes) live in visits.js and the
// campaign builder (活动策划) in campaigns.js, loaded after this file; they build on the helpers
// and hooks this file leaves on window.ecomap (ecomap.draw hands a drawn polygon to them).
(function () {
  'use strict';

  const I18N = {
    zh: {
      title: '生态圈地图', search: '搜索网点或商户', ours: '我行网点', competitors: '他行网点',
      merchants: '商户', communities: '小区（按户数着色）', areas: '商圈 / 美食街', households: '户数',
      category: '业态', status: '状态', address: '地址', bank: '银行', kind: '类型', all: '全部',
      rating: '评分', avg_spend: '人均消费（元）', footfall: '日客流', ecny: '数字人民币', chain: '连锁品牌',
      competitor_signed: '已签约他行', hours: '营业时间', yes: '是', no: '否', close: '关闭',
      nearby: '周边商户', radius: '半径', lang: 'EN', population: '人口', price: '均价（元/㎡）',
      customers: '我行客户', our_bank: '我行', outlet: '网点', merchant: '商户', total: '共 {n} 家',
      shown: '显示前 {n} 家', no_results: '无结果', observed: '实测',
      footfall_missing: '无实测', area_merchants: '区域内商户',
      login_title: '登录生态圈地图', username: '用户名', password: '密码', sign_in: '登录',
      signing_in: '正在登录…', logout: '退出', bad_credentials: '用户名或密码错误',
      too_many_requests: '登录失败次数过多，请 {n} 秒后再试', too_many_later: '登录失败次数过多，请稍后再试',
      login_failed: '登录失败', session_expired: '登录已过期，请重新登录',
      contact_name: '联系人', contact_phone: '联系电话', unmask: '查看完整联系方式', audited: '查看将被记录',
      priorities: '优先拓展', rank: '排名', score: '得分', factor: '因素', raw: '原始值', normalised: '归一化',
      weight: '权重', contribution: '贡献', score_total: '总分', footfall_label: '客流量', estimated: '估算',
      per_day: '人/日', edit_weights: '调整权重', save: '保存', reset_defaults: '恢复默认', cancel: '取消',
      weights_in_force: '当前：{src} 第{v}版，{by} 修改于 {at}', weights_default: '当前：默认权重',
      weights_target: '保存到：{node}（该网点的上级机构）', weights_target_self: '保存到：{node}',
      weights_saved: '已保存：{node} 第{v}版', no_priorities: '半径内无可拓展商户', loading: '加载中…',
      weights_invalid: '请为每项权重填写 -1 到 1 之间的数',
      merchants_total: '共 {n} 家商户', cluster_legend: '商户聚合（数字为家数）', cluster_hint: '放大到 14 级查看单个商户',
      filter_zoom_hint: '按业态筛选时，放大到 14 级查看商户', circles: '生活圈', min5: '5分钟', min10: '10分钟', min15: '15分钟',
      walk_m: '步行 {m} m', signed: '已签约', signed_share: '签约率', not_signed: '未签约', communities_n: '小区',
      competitor_outlets: '他行网点', competitor_signed_merchants: '已签他行商户', community_coverage: '小区覆盖',
      coverage_line: '{covered} / {total} 户（{cc} / {c} 个小区）', coverage_note: '有足够签约商户（超市、生鲜、餐饮、医药）的小区户数占比',
      by_category: '业态构成', by_status: '拓展状态', count: '数量', share: '占比', none: '无', distance_model: '距离按直线 × 绕行系数估算', walking_label: '步行距离', no_way: '路网不可达', by_network: '街道路网', by_straight: '直线 × 绕行系数', distance_network: '步行距离按街道路网计算（生活圈为等时圈）',
      coverage_grid: '覆盖网格', grid_by: '着色', grid_signed_share: '签约率', grid_merchants: '商户数', whitespace: '空白区',
      whitespace_note: '有需求（户数或客流）但无签约商户', no_merchants: '无商户', grid_zoom_hint: '放大到 10 级以上显示网格',
      hex: '网格', prospects: '未拓展', footfall_day: '日客流', priority_sum: '优先分合计',
      draw_area: '绘制商圈', draw_hint: '点击地图添加顶点（已 {n} 个），双击或点“完成”结束，Esc 取消',
      finish: '完成', undo: '撤销', drawn_survey: '绘制商圈调研', draw_again: '重新绘制', clear: '清除',
      area_size: '面积 {a} km² · 触达范围 {r} m', households_in_reach: '可触达户数', banks_nearby: '周边他行网点',
      top_prospects: '优先拓展商户', communities_in_reach: '可触达小区', our_outlets_nearby: '周边我行网点',
      signed_vs_not: '签约情况', survey_failed: '调研失败：{m}',
      compare: '网点对比', compare_title: '网点覆盖对比', branch: '支行', merchants_500m: '10分钟商户', signed_share_500m: '10分钟签约率',
      merchants_1km: '15分钟商户', signed_share_1km: '15分钟签约率', households_1km: '15分钟户数', covered_share: '户覆盖率',
      whitespace_hexes: '空白网格', competitors_1km: '他行网点', gaps: '缺口业态', gaps_note: '10分钟生活圈内没有签约商户的基本业态',
      no_outlets: '范围内没有我行网点', sort_hint: '点击表头排序', layers: '图层', n_communities: '{n} 个', signed_pct: '签约率',
    },
    en: {
      title: 'Ecosystem map', search: 'Search outlets or merchants', ours: 'Our outlets',
      competitors: 'Competitor outlets', merchants: 'Merchants', communities: 'Communities (by households)',
      areas: 'Districts / food streets', households: 'Households', category: 'Category', status: 'Status',
      address: 'Address', bank: 'Bank', kind: 'Type', all: 'All', rating: 'Rating',
      avg_spend: 'Avg. spend (CNY)', footfall: 'Daily footfall', ecny: 'e-CNY', chain: 'Chain',
      competitor_signed: 'Signed with', hours: 'Opening hours', yes: 'yes', no: 'no', close: 'Close',
      nearby: 'Nearby merchants', radius: 'Radius', lang: '中文', population: 'Population',
      price: 'House price (CNY/m²)', customers: 'Bank customers', our_bank: 'ours', outlet: 'outlet',
      merchant: 'merchant', total: '{n} in total', shown: 'first {n} shown',
      no_results: 'No results', observed: 'observed', footfall_missing: 'not observed',
      area_merchants: 'Merchants in the area',
      login_title: 'Sign in to the ecosystem map', username: 'Username', password: 'Password',
      sign_in: 'Sign in', signing_in: 'Signing in…', logout: 'Sign out',
      bad_credentials: 'Wrong username or password',
      too_many_requests: 'Too many failed sign-ins: wait {n} s and try again',
      too_many_later: 'Too many failed sign-ins: wait a while and try again',
      login_failed: 'Sign-in failed', session_expired: 'Your session has ended: sign in again',
      contact_name: 'Contact', contact_phone: 'Phone', unmask: 'Show full contact', audited: 'Viewing is audited',
      priorities: 'Priorities', rank: 'Rank', score: 'Score', factor: 'Factor', raw: 'Raw', normalised: 'Normalised',
      weight: 'Weight', contribution: 'Contribution', score_total: 'Total', footfall_label: 'Footfall',
      estimated: 'estimated', per_day: '/day', edit_weights: 'Adjust weights', save: 'Save',
      reset_defaults: 'Reset to defaults', cancel: 'Cancel',
      weights_in_force: 'In force: {src} v{v} by {by} at {at}', weights_default: 'In force: default weights',
      weights_target: 'Saved for: {node} (the outlet\'s parent unit)', weights_target_self: 'Saved for: {node}',
      weights_saved: 'Saved: {node} v{v}', no_priorities: 'No merchants to win within the radius', loading: 'Loading…',
      weights_invalid: 'Give every weight a number from -1 to 1',
      merchants_total: '{n} merchants', cluster_legend: 'Clusters (number = merchants)', cluster_hint: 'Zoom to 14 to see single merchants',
      filter_zoom_hint: 'With a category filter, zoom to 14 to see merchants', circles: 'Life circles', min5: '5 min', min10: '10 min', min15: '15 min',
      walk_m: '{m} m walk', signed: 'Signed', signed_share: 'Signed share', not_signed: 'Not signed', communities_n: 'Communities',
      competitor_outlets: 'Competitor outlets', competitor_signed_merchants: 'Signed with competitors', community_coverage: 'Community coverage',
      coverage_line: '{covered} / {total} households ({cc} / {c} communities)', coverage_note: 'Share of households in communities with enough signed merchants (supermarket, fresh food, dining, health)',
      by_category: 'By category', by_status: 'By status', count: 'Count', share: 'Share', none: 'none', distance_model: 'Distances: straight line × detour factor', walking_label: 'Walking distance', no_way: 'no way on the streets', by_network: 'street network', by_straight: 'straight line × detour', distance_network: 'Walking distances on the street network (circles are isochrones)',
      coverage_grid: 'Coverage grid', grid_by: 'Colour', grid_signed_share: 'Signed share', grid_merchants: 'Merchants', whitespace: 'White space',
      whitespace_note: 'Demand (households or footfall) but nothing signed', no_merchants: 'No merchants', grid_zoom_hint: 'Zoom to 10 or closer to see the grid',
      hex: 'Hex', prospects: 'Prospects', footfall_day: 'Daily footfall', priority_sum: 'Priority sum',
      draw_area: 'Draw area', draw_hint: 'Click the map to add points ({n} so far); double-click or Finish to end, Esc to cancel',
      finish: 'Finish', undo: 'Undo', drawn_survey: 'Survey of the drawn area', draw_again: 'Draw again', clear: 'Clear',
      area_size: 'Area {a} km² · reach {r} m', households_in_reach: 'Households in reach', banks_nearby: 'Competing banks nearby',
      top_prospects: 'Top prospects', communities_in_reach: 'Communities in reach', our_outlets_nearby: 'Our outlets nearby',
      signed_vs_not: 'Signed vs not', survey_failed: 'Survey failed: {m}',
      compare: 'Compare outlets', compare_title: 'Outlet coverage comparison', branch: 'Branch', merchants_500m: 'Merchants 10 min', signed_share_500m: 'Signed 10 min',
      merchants_1km: 'Merchants 15 min', signed_share_1km: 'Signed 15 min', households_1km: 'Households 15 min', covered_share: 'Households covered',
      whitespace_hexes: 'White-space hexes', competitors_1km: 'Competitors', gaps: 'Gaps', gaps_note: 'Essential categories with no signed merchant within the 10-minute circle',
      no_outlets: 'No outlets of ours in scope', sort_hint: 'Click a header to sort', layers: 'Layers', n_communities: '{n}', signed_pct: 'Signed %',
    },
  };
  const STATUS = {
    prospect: ['#9e9e9e', '未拓展', 'Prospect'], visited: ['#42a5f5', '已拜访', 'Visited'],
    interested: ['#ffa726', '有意向', 'Interested'], signed: ['#43a047', '已签约', 'Signed'],
    active: ['#1b5e20', '动销', 'Active'], rejected: ['#e53935', '拒绝', 'Rejected'],
    churned: ['#6d4c41', '流失', 'Churned'],
  };
  const ROLE_EN = { admin: 'Administrator', branch: 'Branch user', staff: 'Outlet staff' };
  const KIND_EN = { business_district: 'Business district', community: 'Community', mixed: 'Mixed', food_street: 'Food street' };
  const LIST_MAX = 200;
  /** Merchant tiles above this zoom are the same tiles, drawn larger. */
  const TILE_MAX_ZOOM = 16;
  /** The server sends single merchants from this zoom on (clusters below it). */
  const DETAIL_ZOOM = 14;
  /** The coverage grid's tiles start at this zoom. */
  const GRID_MIN_ZOOM = 10;
  const MERCHANT_POINTS = ['==', ['get', 'cluster'], 0];
  // 5-, 10- and 15-minute life circles.
  const CIRCLE_COLORS = ['#d84315', '#f9a825', '#1565c0'];
  // The grid's colour ramps: [stop, colour] by signed share and by merchant count.
  const GRID_RAMPS = {
    signed_share: [[0, '#fcbba1'], [0.2, '#fff7bc'], [0.4, '#a1d99b'], [0.6, '#31a354']],
    merchants: [[1, '#eff3ff'], [5, '#bdd7e7'], [20, '#6baed6'], [60, '#08519c']],
  };
  const GRID_EMPTY = '#e0e0e0';
  const WHITESPACE_COLOR = '#ff6f00';
  /** The priorities list shows this many merchants, best first. */
  const PRIORITY_MAX = 50;
  // The scoring factors in the API's order, with names for when no ranked merchant carries them.
  const FACTORS = [
    ['category', '业态价值', 'Category value'], ['footfall', '客流量', 'Footfall'],
    ['avg_spend', '人均消费', 'Average spend'], ['distance', '步行距离', 'Walking distance'],
    ['agglomeration', '商圈集聚', 'Food street / business district'], ['ecny', '数字人民币', 'Accepts e-CNY'],
    ['competitor_signed', '已签他行', 'Signed with a competitor'], ['cside', 'C端潜力', 'Unbanked households in reach'],
  ];
  const params = new URLSearchParams(location.search);
  let lang = params.get('lang') === 'en' ? 'en' : 'zh';
  const t = (k, vars) => (I18N[lang][k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v]);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const $ = (id) => document.getElementById(id);

  const state = {
    crs: 'wgs84', categories: [], data: {}, outlet: null, merchant: null, radius: 500,
    nearby: null, unmasked: {},
    // What the panel shows: 'outlet' | 'place' | 'survey' | 'compare' (null: closed).
    view: null,
    // The selected outlet's life circles (GET /api/outlets/{id}/circles) and which circle's
    // categories are listed (minutes).
    circles: null, circleMinutes: 15,
    // The coverage grid: on/off and what colours it.
    grid: false, gridMode: 'signed_share',
    // The survey of the last drawn polygon: {ring, result, error}.
    survey: null,
    // The outlet comparison (GET /api/coverage/outlets): rows, the branch asked for, the sort.
    compare: null, compareBranch: '', compareSort: { key: null, dir: 1 },
    // The outlet panel's tab ('nearby' | 'priorities'), the ranked merchants of the outlet, and
    // the scoring weights the editor works on ({node, may_edit, effective, defaults}).
    tab: 'nearby', priorities: null, weights: null, weightsOpen: false, weightsMsg: '',
  };
  // { user, csrf_token } once signed in; the token lives only here (never in storage).
  let session = null;
  let started = false;

  // fetch with the CSRF token on anything but GET/HEAD; JSON bodies are sent as JSON.
  async function send(url, opts) {
    const o = Object.assign({ method: 'GET' }, opts);
    const headers = Object.assign({}, o.headers);
    if (!['GET', 'HEAD'].includes(o.method.toUpperCase()) && session && session.csrf_token) {
      headers['X-CSRF-Token'] = session.csrf_token;
    }
    if (o.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      o.body = JSON.stringify(o.json);
    }
    return fetch(url, { method: o.method, headers, body: o.body, credentials: 'same-origin' });
  }

  async function getJson(url, opts) {
    const r = await send(url, opts);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      // Signed out elsewhere or the session ran out: back to the login form.
      if (r.status === 401 && session) showLogin(t('session_expired'));
      const err = new Error((body && body.message) || `${r.status} ${url}`);
      err.status = r.status;
      err.code = body && body.code;
      err.param = body && body.param;
      throw err;
    }
    return body;
  }
  const api = (path, extra) => {
    const q = new URLSearchParams(extra || {});
    q.set('crs', state.crs);
    return getJson(`${path}?${q}`);
  };

  async function loadConfig() {
    let config = { basemap: { url: null, type: 'raster', crs: 'wgs84', attribution: null } };
    try { config = await getJson('/config.json'); } catch (e) { /* served without config: defaults */ }
    const b = Object.assign({}, config.basemap);
    if (params.has('basemap')) b.url = params.get('basemap') || null;
    if (params.has('basemap_type')) b.type = params.get('basemap_type');
    if (params.has('basemap_crs')) b.crs = params.get('basemap_crs');
    if (!['wgs84', 'gcj02', 'bd09'].includes(b.crs)) b.crs = 'wgs84';
    return b;
  }

  function baseStyle(b) {
    const style = {
      version: 8, sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } }],
    };
    if (b.url && b.type === 'raster') {
      style.sources.basemap = { type: 'raster', tiles: [b.url], tileSize: 256, attribution: b.attribution || '' };
      style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
    }
    return b.url && b.type === 'vector' ? b.url : style;
  }

  // Draws a label or a bank badge into an image, with the browser's fonts (CJK included).
  function textImage(text, opts) {
    const ratio = window.devicePixelRatio || 1;
    const font = `${opts.bold ? 'bold ' : ''}${opts.size}px "PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif`;
    const c = document.createElement('canvas');
    const ctx = c.getContext('2d');
    ctx.font = font;
    const w = Math.ceil(opts.width || ctx.measureText(text).width + opts.pad * 2);
    const h = Math.ceil(opts.height || opts.size + opts.pad * 2);
    c.width = w * ratio; c.height = h * ratio;
    ctx.scale(ratio, ratio);
    ctx.fillStyle = opts.bg; ctx.strokeStyle = opts.border || opts.bg; ctx.lineWidth = 2;
    const r = opts.radius;
    ctx.beginPath();
    ctx.moveTo(r, 1); ctx.arcTo(w - 1, 1, w - 1, h - 1, r); ctx.arcTo(w - 1, h - 1, 1, h - 1, r);
    ctx.arcTo(1, h - 1, 1, 1, r); ctx.arcTo(1, 1, w - 1, 1, r); ctx.closePath();
    ctx.fill(); ctx.stroke();
    ctx.font = font; ctx.fillStyle = opts.color; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    ctx.fillText(text, w / 2, h / 2 + 1);
    return { image: ctx.getImageData(0, 0, c.width, c.height), ratio };
  }
  function addImage(map, id, text, opts) {
    if (map.hasImage(id)) return;
    const { image, ratio } = textImage(text, opts);
    map.addImage(id, image, { pixelRatio: ratio });
  }

  function statusColor() {
    const expr = ['match', ['get', 'status']];
    for (const [k, v] of Object.entries(STATUS)) expr.push(k, v[0]);
    expr.push('#9e9e9e');
    return expr;
  }

  function prepareOutlets(map, fc) {
    for (const f of fc.features) {
      const p = f.properties;
      const ch = p.is_ours ? '我' : (p.competitor_bank || '他').slice(0, 1);
      p.icon = p.is_ours ? 'bank-ours' : `bank-${ch}`;
      addImage(map, p.icon, ch, p.is_ours
        ? { size: 15, pad: 5, width: 28, height: 28, radius: 14, bg: '#c62828', border: '#fff', color: '#fff', bold: true }
        : { size: 12, pad: 4, width: 22, height: 22, radius: 3, bg: '#424242', border: '#fff', color: '#fff', bold: true });
    }
  }
  function prepareAreas(map, fc) {
    const points = [];
    for (const f of fc.features) {
      const p = f.properties;
      p.icon = `area-${p.id}`;
      addImage(map, p.icon, p.name, { size: 13, pad: 5, radius: 4, bg: 'rgba(255,255,255,.9)', border: '#d81b60', color: '#ad1457', bold: true });
      points.push({ type: 'Feature', geometry: { type: 'Point', coordinates: p.label_point }, properties: p });
    }
    return { type: 'FeatureCollection', features: points };
  }

  function addLayers(map) {
    map.addLayer({ id: 'communities', type: 'fill', source: 'communities', paint: {
      'fill-color': ['interpolate', ['linear'], ['get', 'households'], 300, '#deebf7', 1500, '#6baed6', 3000, '#08519c'],
      'fill-opacity': 0.55, 'fill-outline-color': '#08519c' } });
    map.addLayer({ id: 'areas', type: 'fill', source: 'areas', paint: { 'fill-color': '#d81b60', 'fill-opacity': 0.06 } });
    map.addLayer({ id: 'areas-outline', type: 'line', source: 'areas', paint: {
      'line-color': '#d81b60', 'line-width': ['match', ['get', 'kind'], 'food_street', 3, 2], 'line-dasharray': [2, 1] } });
    // The coverage grid (added on first use: its tiles are the costly ones) goes here, over the
    // communities and areas and under everything else.
    map.addLayer({ id: 'circles-fill', type: 'fill', source: 'circles', paint: {
      'fill-color': ['match', ['get', 'minutes'], 5, CIRCLE_COLORS[0], 10, CIRCLE_COLORS[1], CIRCLE_COLORS[2]],
      'fill-opacity': 0.07 } });
    map.addLayer({ id: 'circles-line', type: 'line', source: 'circles', paint: {
      'line-color': ['match', ['get', 'minutes'], 5, CIRCLE_COLORS[0], 10, CIRCLE_COLORS[1], CIRCLE_COLORS[2]],
      'line-width': 2, 'line-opacity': 0.9 } });
    map.addLayer({ id: 'radius', type: 'line', source: 'radius', paint: { 'line-color': '#c62828', 'line-width': 1.5, 'line-dasharray': [3, 2] } });
    // Merchants come as vector tiles: single points (cluster = 0) from zoom 14, clusters with a
    // count below it (or where a tile holds too many points).
    map.addLayer({ id: 'merchant-clusters', type: 'circle', source: 'merchants', 'source-layer': 'merchants',
      filter: ['==', ['get', 'cluster'], 1], paint: {
        'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 4, 1.414, 7.5, 3, 11, 10, 18, 30, 28],
        'circle-color': ['interpolate', ['linear'], ['/', ['get', 'signed'], ['max', ['get', 'count'], 1]], 0, '#757575', 0.4, '#2e7d32'],
        'circle-opacity': 0.85, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.2 } });
    map.addLayer({ id: 'merchant-cluster-count', type: 'symbol', source: 'merchants', 'source-layer': 'merchants',
      filter: ['all', ['==', ['get', 'cluster'], 1], ['>', ['get', 'count'], 1]], layout: {
        'icon-image': ['concat', 'count-', ['to-string', ['get', 'count']]],
        'symbol-sort-key': ['-', ['get', 'count']], 'icon-allow-overlap': false } });
    map.addLayer({ id: 'merchants', type: 'circle', source: 'merchants', 'source-layer': 'merchants',
      filter: MERCHANT_POINTS, paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 1.5, 14, 3.5, 17, 7],
        'circle-color': statusColor(), 'circle-stroke-color': '#fff', 'circle-stroke-width': 0.6 } });
    map.addLayer({ id: 'nearby', type: 'circle', source: 'nearby', paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 3, 14, 6, 17, 10],
      'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ff6f00', 'circle-stroke-width': 1.5 } });
    // Merchants sized by priority (priorities tab only), over the merchant dots (see-through)
    // and under the selection and the outlets.
    map.addLayer({ id: 'priorities', type: 'circle', source: 'priorities', paint: {
      'circle-radius': ['interpolate', ['linear'], ['get', 'score'], 0, 4, 0.9, 14],
      'circle-color': '#8e24aa', 'circle-opacity': 0.35, 'circle-stroke-color': '#6a1b9a',
      'circle-stroke-width': 1, 'circle-stroke-opacity': 0.6 } });
    map.addLayer({ id: 'selected', type: 'circle', source: 'selected', paint: {
      'circle-radius': 12, 'circle-color': 'rgba(255,193,7,.35)', 'circle-stroke-color': '#ff6f00', 'circle-stroke-width': 3 } });
    map.addLayer({ id: 'areas-label', type: 'symbol', source: 'area-labels', layout: {
      'icon-image': ['get', 'icon'], 'icon-allow-overlap': true, 'icon-anchor': 'bottom', 'icon-offset': [0, -14] } });
    map.addLayer({ id: 'outlets-competitors', type: 'symbol', source: 'outlets', filter: ['==', ['get', 'is_ours'], false],
      layout: { 'icon-image': ['get', 'icon'], 'icon-allow-overlap': true, 'icon-ignore-placement': true } });
    map.addLayer({ id: 'outlets-ours', type: 'symbol', source: 'outlets', filter: ['==', ['get', 'is_ours'], true],
      layout: { 'icon-image': ['get', 'icon'], 'icon-allow-overlap': true, 'icon-ignore-placement': true } });
    // The polygon being drawn (or the last one surveyed), over everything.
    map.addLayer({ id: 'draw-fill', type: 'fill', source: 'draw', filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': '#1565c0', 'fill-opacity': 0.12 } });
    map.addLayer({ id: 'draw-line', type: 'line', source: 'draw',
      filter: ['all', ['!=', ['geometry-type'], 'Point'], ['!=', ['get', 'role'], 'guide']],
      paint: { 'line-color': '#1565c0', 'line-width': 2.5 } });
    map.addLayer({ id: 'draw-guide', type: 'line', source: 'draw', filter: ['==', ['get', 'role'], 'guide'],
      paint: { 'line-color': '#1565c0', 'line-width': 1.5, 'line-dasharray': [2, 2] } });
    map.addLayer({ id: 'draw-vertices', type: 'circle', source: 'draw', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 4.5, 'circle-color': '#fff', 'circle-stroke-color': '#1565c0', 'circle-stroke-width': 2 } });
  }

  // Cluster counts are drawn into icons on demand (no glyph server): 'count-<n>'.
  function countImage(map, id) {
    const m = /^count-(\d+)$/.exec(id);
    if (!m || map.hasImage(id)) return;
    const n = Number(m[1]);
    const text = n >= 10000 ? `${Math.round(n / 1000)}k` : String(n);
    addImage(map, id, text, { size: n < 10 ? 11 : 10, pad: 1, radius: 2, bg: 'rgba(0,0,0,0)', color: '#fff', bold: true });
  }

  const EMPTY = () => ({ type: 'FeatureCollection', features: [] });

  function bboxOf(fcs) {
    let b = [Infinity, Infinity, -Infinity, -Infinity];
    const visit = (c) => {
      if (typeof c[0] === 'number') {
        b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
      } else c.forEach(visit);
    };
    fcs.forEach((fc) => fc.features.forEach((f) => visit(f.geometry.coordinates)));
    return Number.isFinite(b[0]) ? b : null;
  }

  // A vector tile source of ecomap's /tiles, in the coordinate system of the base map. The URL
  // is absolute (tiles are fetched from a worker) and same-origin, so the session cookie goes along.
  function tileSource(layer, minzoom) {
    const q = state.crs === 'wgs84' ? '' : `?crs=${state.crs}`;
    return { type: 'vector', tiles: [`${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${q}`],
      minzoom: minzoom || 0, maxzoom: TILE_MAX_ZOOM };
  }

  function updateCounts() {
    const d = state.data;
    window.ecomap.counts = {
      outlets: d.outlets.features.length, merchants: d.merchantTotal,
      communities: d.communities.features.length, areas: d.areas.features.length,
    };
    updateStatusLine();
  }

  // The merchant total, and what to do to see more when the view shows clusters only.
  function updateStatusLine() {
    const map = window.ecomap && window.ecomap.map;
    if (!map || state.data.merchantTotal === undefined) return;
    let hint = '';
    if (map.getZoom() < DETAIL_ZOOM) hint = t($('category-filter').value ? 'filter_zoom_hint' : 'cluster_hint');
    $('status-line').textContent = t('merchants_total', { n: state.data.merchantTotal }) + (hint ? ` · ${hint}` : '');
  }

  // --- Signing in and out ---------------------------------------------------------------------

  function showLogin(message) {
    session = null;
    document.body.dataset.auth = 'required';
    $('user').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    setLoginError(message || '');
    $('login-submit').disabled = false;
    $('login-username').focus();
  }

  function setLoginError(text) {
    const el = $('login-error');
    el.textContent = text;
    el.hidden = !text;
  }

  async function submitLogin(e) {
    e.preventDefault();
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    if (!username || !password) { setLoginError(t('bad_credentials')); return; }
    const button = $('login-submit');
    button.disabled = true;
    setLoginError('');
    try {
      const r = await send('/api/login', { method: 'POST', json: { username, password } });
      let body = null;
      try { body = await r.json(); } catch (err) { body = null; }
      if (!r.ok) {
        const code = body && body.code;
        if (r.status === 429 || code === 'too_many_requests') {
          const wait = Number(r.headers.get('Retry-After'));
          setLoginError(Number.isFinite(wait) && wait > 0 ? t('too_many_requests', { n: Math.ceil(wait) }) : t('too_many_later'));
        } else if (code === 'bad_credentials') {
          setLoginError(t('bad_credentials'));
        } else {
          setLoginError((body && body.message) || `${t('login_failed')} (${r.status})`);
        }
        $('login-password').select();
        return;
      }
      $('login-password').value = '';
      // A session that ended while the map was up: start afresh rather than patch the old state.
      if (started) { location.reload(); return; }
      signedIn(body);
      await start();
    } catch (err) {
      setLoginError(String((err && err.message) || err));
    } finally {
      button.disabled = false;
    }
  }

  function signedIn(s) {
    session = { user: s.user, csrf_token: s.csrf_token };
    delete document.body.dataset.auth;
    $('login').hidden = true;
    setLoginError('');
    renderUser();
    $('user').hidden = false;
    $('logout').hidden = false;
  }

  function renderUser() {
    if (!session) return;
    const u = session.user;
    const role = lang === 'zh' ? (u.role_zh || u.role) : (ROLE_EN[u.role] || u.role);
    $('user').innerHTML = `<span class="name">${esc(u.display_name || u.username)}</span><span class="role">${esc(role)}</span>`;
    $('user').title = `${u.display_name || ''} (${u.username}) · ${role}`;
  }

  async function logout() {
    $('logout').disabled = true;
    try {
      await send('/api/logout', { method: 'POST' });
    } finally {
      location.reload();
    }
  }

  async function boot() {
    const s = await getJson('/api/session');
    if (!s || !s.user) { showLogin(); return; }
    signedIn(s);
    await start();
  }

  // --- The map ---------------------------------------------------------------------------------

  async function start() {
    started = true;
    // Read before the map exists: MapLibre's hash option writes the hash as soon as it starts.
    const hadHash = /^#[\d.]+\/[-\d.]+\/[-\d.]+/.test(location.hash);
    const basemap = await loadConfig();
    state.crs = basemap.crs;
    const map = new maplibregl.Map({
      container: 'map', style: baseStyle(basemap), center: [103.761, 29.569], zoom: 14, hash: true,
      attributionControl: { compact: true },
      // Keeps the drawn frame for screenshots and printing (a page a branch team can print).
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    map.addControl(new maplibregl.NavigationControl(), 'top-right');
    map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }));
    // The drawing bar sits on the map itself (so it stays over the map when a sheet shrinks it).
    map.getContainer().appendChild($('draw-bar'));
    Object.assign(window.ecomap, { map, crs: state.crs, counts: {}, selectOutlet, selectMerchant });
    await new Promise((resolve) => (map.loaded() ? resolve() : map.once('load', resolve)));

    // Merchants come as vector tiles; the list endpoint only tells how many the user has.
    const [cats, outlets, merchantPage, communities, areas] = await Promise.all([
      getJson('/api/categories'), api('/api/outlets'), api('/api/merchants', { limit: 1 }),
      api('/api/communities', { limit: 2000 }), api('/api/areas'),
    ]);
    state.categories = cats.categories;
    Object.assign(state.data, { outlets, merchantTotal: merchantPage.total, communities, areas });
    prepareOutlets(map, outlets);
    const areaLabels = prepareAreas(map, areas);
    map.on('styleimagemissing', (e) => countImage(map, e.id));
    map.addSource('communities', { type: 'geojson', data: communities });
    map.addSource('areas', { type: 'geojson', data: areas });
    map.addSource('area-labels', { type: 'geojson', data: areaLabels });
    map.addSource('merchants', tileSource('merchants'));
    map.addSource('outlets', { type: 'geojson', data: outlets });
    for (const s of ['radius', 'nearby', 'selected', 'priorities', 'circles', 'draw']) map.addSource(s, { type: 'geojson', data: EMPTY() });
    addLayers(map);
    renderLegend();
    updateCounts();
    for (const f of ext.started) f(map);

    map.on('click', (e) => {
      if (draw.active) { drawClick(e); return; }
      const layers = ['outlets-ours', 'outlets-competitors', 'merchants', 'merchant-clusters', 'communities', 'areas', 'coverage'];
      const hits = map.queryRenderedFeatures(e.point, { layers: layers.filter((l) => map.getLayer(l)) });
      if (!hits.length) return;
      // The grid lies over the communities and areas, but they come first when clicked.
      const f = hits.find((h) => h.layer.id !== 'coverage') || hits[0];
      // A view added by a later script may take the click (campaigns.js: an area becomes the
      // campaign's target) by returning true.
      const v = ext.views[state.view];
      if (v && v.click && v.click(f, e)) return;
      if (f.layer.id.startsWith('outlets')) selectOutlet(f.properties.id);
      else if (f.layer.id === 'merchants') selectMerchant(f.properties.id, { fly: false });
      else if (f.layer.id === 'merchant-clusters') zoomToCluster(f);
      else if (f.layer.id === 'communities') showPlace('community', f.properties);
      else if (f.layer.id === 'coverage') showHex(f, e.lngLat);
      else showPlace('area', f.properties);
    });
    for (const id of ['merchants', 'merchant-clusters', 'outlets-ours', 'outlets-competitors']) {
      map.on('mouseenter', id, () => { if (!draw.active) map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { if (!draw.active) map.getCanvas().style.cursor = ''; });
    }
    map.on('dblclick', (e) => { if (draw.active) { e.preventDefault(); finishDrawing(); } });
    map.on('mousemove', (e) => { if (draw.active) { draw.cursor = [e.lngLat.lng, e.lngLat.lat]; renderDraw(); } });
    map.on('zoomend', () => { updateStatusLine(); updateGridHint(); });
    // Tiles are fetched by MapLibre, not through getJson: a 401 there also means signed out.
    map.on('error', (e) => {
      const err = (e && e.error) || e;
      if (err && err.status === 401) {
        if (session) showLogin(t('session_expired'));
        return;
      }
      console.error(err);
    });

    if (!hadHash) {
      const b = bboxOf([outlets, communities]);
      if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0 });
    }
    const wanted = params.get('outlet');
    if (wanted) await selectOutlet(wanted, { fly: !hadHash });
    document.body.dataset.ready = 'true';
  }

  function renderLegend() {
    const map = window.ecomap.map;
    const rows = [
      ['outlets-ours', t('ours'), '#c62828', false],
      ['outlets-competitors', t('competitors'), '#424242', true],
      ['merchants', t('merchants'), '#43a047', false, ['merchants', 'merchant-clusters', 'merchant-cluster-count']],
      ['communities', t('communities'), '#6baed6', true],
      ['areas', t('areas'), '#d81b60', true],
    ];
    $('legend-layers').innerHTML = rows.map(([id, label, color, sq]) => {
      const vis = map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
      return `<label><input type="checkbox" data-layer="${id}" ${vis ? 'checked' : ''}>` +
        `<span class="sw${sq ? ' sq' : ''}" style="background:${color}"></span>${esc(label)}</label>`;
    }).join('');
    const members = { areas: ['areas', 'areas-outline', 'areas-label'], merchants: rows[2][4] };
    $('legend-layers').querySelectorAll('input[data-layer]').forEach((cb) => cb.addEventListener('change', () => {
      for (const id of members[cb.dataset.layer] || [cb.dataset.layer]) {
        map.setLayoutProperty(id, 'visibility', cb.checked && !hiddenByFilter(id) ? 'visible' : 'none');
      }
    }));
    const sel = $('category-filter');
    const current = sel.value;
    sel.innerHTML = `<option value="">${esc(t('all'))}</option>` + state.categories.map((c) =>
      `<option value="${esc(c.code)}">${esc(lang === 'zh' ? c.zh : c.en)}</option>`).join('');
    sel.value = current;
    $('legend-status').innerHTML = Object.values(STATUS).map((v) =>
      `<div><span class="sw" style="background:${v[0]}"></span> ${esc(lang === 'zh' ? v[1] : v[2])}</div>`).join('') +
      `<div class="cluster-entry"><span class="sw cluster"></span> ${esc(t('cluster_legend'))}</div>`;
    renderGridLegend();
  }

  // Clusters carry no category: with a category chosen they are hidden, and the status line
  // says to zoom in.
  const hiddenByFilter = (id) => id.startsWith('merchant-cluster') && !!$('category-filter').value;

  function applyCategoryFilter() {
    const map = window.ecomap.map;
    const code = $('category-filter').value;
    map.setFilter('merchants', code ? ['all', MERCHANT_POINTS, ['==', ['get', 'category'], code]] : MERCHANT_POINTS);
    const shown = document.querySelector('#legend input[data-layer="merchants"]');
    for (const id of ['merchant-clusters', 'merchant-cluster-count']) {
      map.setLayoutProperty(id, 'visibility', (!shown || shown.checked) && !hiddenByFilter(id) ? 'visible' : 'none');
    }
    updateStatusLine();
  }

  // Server clusters have no expansion zoom: two levels closer (single merchants from 14 on).
  function zoomToCluster(f) {
    const map = window.ecomap.map;
    const z = map.getZoom();
    const to = z < DETAIL_ZOOM ? Math.max(Math.min(z + 2, DETAIL_ZOOM), z + 1) : z + 1.5;
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(to, 19), duration: 400 });
  }

  // Room to leave around what the map fits: on a desktop the panel covers the map's right side.
  function mapPadding() {
    const panel = $('panel');
    const side = !panel.hidden && !phoneLayout() ? panel.getBoundingClientRect().width + 20 : 0;
    const map = window.ecomap.map.getContainer().getBoundingClientRect();
    const pad = Math.min(24, map.width / 8, map.height / 8);
    return { top: pad, bottom: pad, left: pad, right: Math.min(pad + side, map.width / 2) };
  }
  const phoneLayout = () => window.matchMedia('(max-width: 600px)').matches;

  // On a phone the panel is a bottom sheet and the map shrinks to the space above it, so the
  // selection stays in view (and no scrolling sheet sits over the map canvas).
  function setSheet(open) {
    $('panel').hidden = !open;
    document.body.classList.toggle('sheet-open', open);
    window.ecomap.map.resize();
  }
  function openPanel() { if ($('panel').hidden) setSheet(true); }

  function row(k, v, field) {
    if (v === null || v === undefined || v === '') return '';
    return `<tr${field ? ` data-field="${field}"` : ''}><td>${esc(k)}</td><td>${esc(v)}</td></tr>`;
  }

  async function selectOutlet(id, opts) {
    const options = Object.assign({ fly: true }, opts);
    const map = window.ecomap.map;
    const f = state.data.outlets.features.find((o) => o.properties.id === id)
      || await api(`/api/outlets/${encodeURIComponent(id)}`).catch(() => null);
    if (!f) return;
    setView('outlet');
    state.outlet = f;
    state.merchant = null;
    clearPriorities();
    clearCircles();
    state.weights = null;
    state.weightsOpen = false;
    state.weightsMsg = '';
    $('merchant-detail').innerHTML = '';
    map.getSource('selected').setData(EMPTY());
    const url = new URL(location.href);
    url.searchParams.set('outlet', id);
    history.replaceState(null, '', url);
    renderOutlet();
    openPanel();
    if (options.fly) map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 15), duration: 0 });
    await Promise.all([loadNearby(), showingPriorities() ? loadPriorities() : null, showingCircles() ? loadCircles() : null]);
  }

  // The outlet panel's tabs: nearby merchants, the ones to win first (our outlets only) and the
  // life circles.
  function currentTab() {
    if (state.tab === 'priorities' && !(state.outlet && state.outlet.properties.is_ours)) return 'nearby';
    return state.tab;
  }

  function renderOutlet() {
    const f = state.outlet;
    if (!f) { $('outlet-detail').innerHTML = ''; return; }
    const p = f.properties;
    const panel = $('panel');
    panel.dataset.outletId = p.id;
    const tab = currentTab();
    const pri = tab === 'priorities';
    const tabs = [['nearby', t('nearby')]].concat(p.is_ours ? [['priorities', t('priorities')]] : [], [['circles', t('circles')]]);
    const heading = '<div class="tabs" role="tablist">' + tabs.map(([k, label]) =>
      `<button type="button" id="tab-${k}" role="tab" aria-selected="${tab === k}">${esc(label)}</button>`).join('') + '</div>';
    $('outlet-detail').innerHTML = `<h2>${esc(p.name)}</h2><table>` +
      row(t('bank'), p.competitor_bank || t('our_bank')) + row(t('kind'), lang === 'zh' ? p.kind_zh : KIND_EN[p.kind]) +
      row(t('address'), p.address) + '</table>' +
      (p.is_ours && ext.outletActions.length ? `<div class="outlet-actions">${ext.outletActions.map((a) =>
        `<button type="button" id="${esc(a.id)}">${esc(a.label())}</button>`).join('')}</div>` : '') + heading +
      `<div class="controls"${tab === 'circles' ? ' hidden' : ''}><label>${esc(t('radius'))} <select id="radius">` +
      [300, 500, 1000].map((r) => `<option value="${r}" ${r === state.radius ? 'selected' : ''}>${r} m</option>`).join('') +
      `</select></label><span id="nearby-total"${tab === 'nearby' ? '' : ' hidden'}></span>` +
      `<span id="priority-total"${pri ? '' : ' hidden'}></span></div>` +
      `<ol id="nearby-list"${tab === 'nearby' ? '' : ' hidden'}></ol>` +
      (p.is_ours ? `<section id="priorities-section"${pri ? '' : ' hidden'}>` +
        '<div class="weights-bar"><span id="weights-source"></span></div>' +
        '<form id="weights-form" hidden novalidate></form><p id="weights-msg" hidden></p>' +
        '<ol id="priority-list"></ol></section>' : '') +
      `<section id="circles-section"${tab === 'circles' ? '' : ' hidden'}></section>`;
    $('radius').addEventListener('change', (e) => {
      state.radius = Number(e.target.value);
      loadNearby().catch(showError);
      if (showingPriorities()) loadPriorities().catch(showError);
    });
    for (const [k] of tabs) $(`tab-${k}`).addEventListener('click', () => setTab(k));
    if (p.is_ours) for (const a of ext.outletActions) $(a.id).addEventListener('click', () => a.run(f));
    if (p.is_ours) {
      $('weights-form').addEventListener('submit', (e) => { e.preventDefault(); saveWeights().catch(showError); });
    }
    if (state.nearby) renderNearby();
    if (pri) {
      renderPriorities();
      renderWeights();
    }
    if (tab === 'circles') renderCircles();
  }

  // --- Priorities: which nearby merchants to win first, and the weights behind the score ----------

  const showingPriorities = () => state.tab === 'priorities' && !!state.outlet && !!state.outlet.properties.is_ours;
  const showingCircles = () => state.tab === 'circles' && !!state.outlet;
  const factorName = (f) => (lang === 'zh' ? f.zh : f.en);
  // A fixed number of decimals, without a "-0.000".
  const fixed = (v, d) => {
    const s = Number(v).toFixed(d);
    return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
  };
  function fmtTime(iso) {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) return iso || '';
    const z = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())} ${z(d.getHours())}:${z(d.getMinutes())}`;
  }
  function weightsLine(eff) {
    if (!eff || eff.source === 'default' || eff.version === null || eff.version === undefined) return t('weights_default');
    return t('weights_in_force', { src: eff.source, v: eff.version, by: eff.changed_by || '?', at: fmtTime(eff.changed_at) });
  }
  // The factors' names as the API gives them (any ranked merchant has all of them), else ours.
  function factorNames() {
    const names = {};
    for (const [code, zh, en] of FACTORS) names[code] = { code, zh, en };
    const first = state.priorities && state.priorities.features[0];
    for (const f of (first && first.properties.factors) || []) names[f.code] = f;
    return names;
  }

  function clearPriorities() {
    state.priorities = null;
    const map = window.ecomap && window.ecomap.map;
    if (map && map.getSource('priorities')) map.getSource('priorities').setData(EMPTY());
    if (map && map.getLayer('nearby')) map.setLayoutProperty('nearby', 'visibility', showingCircles() ? 'none' : 'visible');
  }

  function setTab(tab) {
    if (currentTab() === tab) return;
    state.tab = tab;
    if (tab !== 'priorities') {
      clearPriorities();
      state.weightsOpen = false;
    }
    if (tab !== 'circles') clearCircles();
    renderOutlet();
    renderMerchant();
    if (tab === 'priorities') loadPriorities().catch(showError);
    if (tab === 'circles') loadCircles().catch(showError);
  }

  // The weights the editor works on: those of the outlet's parent unit if the user may set them,
  // else the outlet's own (a unit below the user's), else the parent's, read-only.
  async function loadWeights(f) {
    const p = f.properties;
    let first = null;
    for (const node of [p.parent_org_id, p.id].filter(Boolean)) {
      let w;
      try {
        w = await getJson(`/api/scoring/weights?${new URLSearchParams({ org: node })}`);
      } catch (err) {
        if (err.status === 401) throw err;
        continue;
      }
      const info = Object.assign({ outletId: p.id, node: w.org_node_id, self: node === p.id }, w);
      if (w.may_edit) return info;
      if (!first) first = info;
      if (session && session.user.role === 'staff') break;
    }
    return first || { outletId: p.id, node: null, may_edit: false };
  }

  let prioritySeq = 0;
  async function loadPriorities() {
    const f = state.outlet;
    const map = window.ecomap.map;
    const radius = state.radius;
    const seq = ++prioritySeq;
    const total = $('priority-total');
    if (total && !state.priorities) total.textContent = t('loading');
    const [pr, weights] = await Promise.all([
      api(`/api/outlets/${encodeURIComponent(f.properties.id)}/priorities`, { radius_m: radius, limit: PRIORITY_MAX }),
      state.weights && state.weights.outletId === f.properties.id ? state.weights : loadWeights(f),
    ]);
    if (seq !== prioritySeq || state.outlet !== f || state.radius !== radius || !showingPriorities()) return;
    state.priorities = pr;
    state.weights = weights;
    map.getSource('priorities').setData(pr);
    // The sized circles replace the nearby rings while the tab is shown.
    map.setLayoutProperty('nearby', 'visibility', 'none');
    renderPriorities();
    renderWeights();
    if (state.merchant) renderMerchant();
  }

  function renderPriorities() {
    const pr = state.priorities;
    const list = $('priority-list');
    if (!list || !pr) return;
    const n = pr.features.length;
    $('priority-total').textContent = n < (pr.limit || PRIORITY_MAX) ? t('total', { n }) : t('shown', { n });
    const selected = state.merchant && state.merchant.properties.id;
    list.innerHTML = n ? pr.features.map((m) => {
      const p = m.properties;
      const color = (STATUS[p.status] || STATUS.prospect)[0];
      return `<li data-merchant-id="${esc(p.id)}"${p.id === selected ? ' class="selected"' : ''}>` +
        `<span class="rank">${esc(p.rank)}</span><span class="name"><span class="dot" style="background:${color}"></span>` +
        `${esc(p.name)} <small>${esc(lang === 'zh' ? p.category_zh : p.category_en)}</small></span>` +
        `<span class="score" title="${esc(t('score'))}">${fixed(p.score, 2)}</span>` +
        priorityDistance(p) + '</li>';
    }).join('') : `<li class="empty">${esc(t('no_priorities'))}</li>`;
    list.querySelectorAll('li[data-merchant-id]').forEach((li) => li.addEventListener('click', () => selectMerchant(li.dataset.merchantId, { fly: true })));
  }

  // The line saying which weights are in force, the edit button (for users who may edit) and,
  // when open, the form.
  function renderWeights() {
    const source = $('weights-source');
    if (!source) return;
    source.textContent = state.priorities ? weightsLine(state.priorities.weights) : '';
    const w = state.weights;
    // Only users who may set the weights get the button (staff never see it).
    const wantButton = !!(w && w.may_edit) && !state.weightsOpen;
    let button = $('weights-edit');
    if (wantButton && !button) {
      button = document.createElement('button');
      button.type = 'button';
      button.id = 'weights-edit';
      button.addEventListener('click', () => openWeightsForm());
      source.parentNode.appendChild(button);
    } else if (!wantButton && button) {
      button.remove();
    }
    if (button && wantButton) button.textContent = t('edit_weights');
    const msg = $('weights-msg');
    msg.textContent = state.weightsMsg;
    msg.hidden = !state.weightsMsg;
    const form = $('weights-form');
    if (!(w && w.may_edit && state.weightsOpen)) { form.hidden = true; form.innerHTML = ''; return; }
    if (!form.hidden && form.dataset.lang === lang) return; // keep what is being typed
    const names = factorNames();
    const values = w.effective.weights;
    form.dataset.lang = lang;
    form.innerHTML = `<p class="target">${esc(t(w.self ? 'weights_target_self' : 'weights_target', { node: w.node }))}</p>` +
      (state.priorities && weightsLine(state.priorities.weights) === weightsLine(w.effective) ? ''
        : `<p class="current">${esc(weightsLine(w.effective))}</p>`) + '<div class="weights-grid">' +
      FACTORS.map(([code]) => `<label><span>${esc(factorName(names[code]))}</span>` +
        `<input type="number" name="${code}" step="0.05" min="-1" max="1" value="${esc(values[code])}"></label>`).join('') +
      '</div><p id="weights-error" role="alert" hidden></p><div class="buttons">' +
      `<button type="submit" id="weights-save">${esc(t('save'))}</button>` +
      `<button type="button" id="weights-reset">${esc(t('reset_defaults'))}</button>` +
      `<button type="button" id="weights-cancel">${esc(t('cancel'))}</button></div>`;
    form.hidden = false;
    $('weights-reset').addEventListener('click', () => {
      for (const [code] of FACTORS) form.elements[code].value = w.defaults[code];
      setWeightsError('');
    });
    $('weights-cancel').addEventListener('click', () => { state.weightsOpen = false; renderWeights(); });
  }

  function openWeightsForm() {
    state.weightsOpen = true;
    state.weightsMsg = '';
    renderWeights();
    const first = $('weights-form').querySelector('input');
    if (first) first.focus();
  }

  function setWeightsError(text) {
    const el = $('weights-error');
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  async function saveWeights() {
    const w = state.weights;
    const form = $('weights-form');
    if (!w || !w.may_edit || !form) return;
    const body = {};
    for (const [code] of FACTORS) {
      const v = form.elements[code].value.trim();
      if (v === '' || !Number.isFinite(Number(v))) { setWeightsError(t('weights_invalid')); form.elements[code].focus(); return; }
      body[code] = Number(v);
    }
    const button = $('weights-save');
    button.disabled = true;
    setWeightsError('');
    let saved;
    try {
      saved = await getJson(`/api/scoring/weights?${new URLSearchParams({ org: w.node })}`, { method: 'PUT', json: body });
    } catch (err) {
      if ($('weights-save')) $('weights-save').disabled = false;
      setWeightsError(String((err && err.message) || err));
      return;
    }
    // The new weights apply at once: read them back and re-rank.
    state.weightsOpen = false;
    state.weightsMsg = t('weights_saved', { node: saved.org_node_id, v: saved.version });
    state.weights = null;
    renderWeights();
    if (showingPriorities()) await loadPriorities();
  }

  // A circle of radius_m around a point, as a polygon in the current crs (small-distance approx.).
  function circle(center, radiusM) {
    const pts = [];
    const dLat = radiusM / 111320;
    const dLon = dLat / Math.cos(center[1] * Math.PI / 180);
    for (let i = 0; i <= 64; i++) {
      const a = (i / 64) * 2 * Math.PI;
      pts.push([center[0] + dLon * Math.cos(a), center[1] + dLat * Math.sin(a)]);
    }
    return { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'LineString', coordinates: pts }, properties: {} }] };
  }

  async function loadNearby() {
    const f = state.outlet;
    const map = window.ecomap.map;
    const radius = state.radius;
    const near = await api(`/api/outlets/${encodeURIComponent(f.properties.id)}/nearby`, { radius_m: radius, limit: LIST_MAX });
    if (state.outlet !== f || state.radius !== radius) return;
    state.nearby = near;
    map.getSource('nearby').setData(near);
    map.getSource('radius').setData(circle(f.geometry.coordinates, radius));
    renderNearby();
  }

  function renderNearby() {
    const near = state.nearby;
    const list = $('nearby-list');
    if (!list || !near) return;
    $('nearby-total').textContent = t('total', { n: near.total }) + (near.truncated ? ` · ${t('shown', { n: near.features.length })}` : '');
    list.innerHTML = near.features.map((m) => {
      const p = m.properties;
      const color = (STATUS[p.status] || STATUS.prospect)[0];
      return `<li data-merchant-id="${esc(p.id)}"><span><span class="dot" style="background:${color}"></span>${esc(p.name)}` +
        ` <small>${esc(lang === 'zh' ? p.category_zh : p.category_en)}</small></span><span class="dist">${Math.round(p.distance_m)} m</span></li>`;
    }).join('');
    list.querySelectorAll('li').forEach((li) => li.addEventListener('click', () => selectMerchant(li.dataset.merchantId, { fly: true })));
  }

  async function selectMerchant(id, opts) {
    const options = Object.assign({ fly: true }, opts);
    const map = window.ecomap.map;
    const f = (state.priorities && state.priorities.features.find((m) => m.properties.id === id))
      || (state.nearby && state.nearby.features.find((m) => m.properties.id === id))
      || await api(`/api/merchants/${encodeURIComponent(id)}`).catch(() => null);
    if (!f) return;
    state.merchant = f;
    map.getSource('selected').setData({ type: 'FeatureCollection', features: [f] });
    document.querySelectorAll('#nearby-list li, #priority-list li').forEach((li) => li.classList.toggle('selected', li.dataset.merchantId === id));
    renderMerchant();
    openPanel();
    $('merchant-detail').scrollIntoView({ block: 'nearest' });
    if (options.fly) map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 16), duration: 300 });
  }

  function renderMerchant() {
    const f = state.merchant;
    if (!f) { $('merchant-detail').innerHTML = ''; return; }
    const p = f.properties;
    const footfall = p.footfall_daily === null || p.footfall_daily === undefined
      ? t('footfall_missing') : `${p.footfall_daily}（${t('observed')}）`;
    $('merchant-detail').innerHTML = `<h2>${esc(p.name)}</h2><table>` +
      row(t('category'), lang === 'zh' ? p.category_zh : p.category_en) +
      row(t('status'), lang === 'zh' ? p.status_zh : (STATUS[p.status] || [])[2]) +
      row(t('address'), p.address) + row(t('rating'), p.rating) + row(t('avg_spend'), p.avg_spend_cny) +
      row(t('footfall'), footfall) + row(t('hours'), p.opening_hours) +
      row(t('ecny'), p.accepts_ecny ? t('yes') : t('no')) + row(t('competitor_signed'), p.competitor_signed) +
      row(t('chain'), p.chain) + contactRows(p) + row('ID', p.id) + '</table>' + unmaskControl(p) + breakdown(p.id);
    const button = $('unmask');
    if (button) button.addEventListener('click', () => unmask(p.id).catch(showError));
  }

  // Why a merchant ranks where it does: one row per factor (raw value, normalised 0..1, weight,
  // contribution = normalised × weight); the contributions add up to the score.
  // On a street network the list shows the walk (the straight line hides rivers and rail lines).
  function priorityDistance(p) {
    if (p.distance !== 'street_network') return `<span class="dist">${Math.round(p.distance_m)} m</span>`;
    const walk = p.walking_m === null || p.walking_m === undefined ? t('no_way') : `${Math.round(p.walking_m)} m`;
    return `<span class="dist walk" title="${esc(t('walking_label'))}（${esc(t('by_network'))}）">${esc(walk)}</span>`;
  }

  function breakdown(id) {
    const m = showingPriorities() && state.priorities && state.priorities.features.find((f) => f.properties.id === id);
    if (!m) return '';
    const p = m.properties;
    const observed = p.footfall_source === 'observed';
    const raw = (f) => {
      // On a street network a merchant the streets do not reach has no distance (decay 0).
      if (f.raw === null || f.raw === undefined) return esc(t(f.code === 'distance' ? 'no_way' : 'none'));
      const v = Number(f.raw);
      if (!Number.isFinite(v)) return esc(f.raw);
      const s = Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : fixed(v, 2);
      return f.code === 'distance' ? `${s} m` : s;
    };
    return `<h3>${esc(t('priorities'))} · ${esc(t('rank'))} ${esc(p.rank)} · ${esc(t('score'))} ${fixed(p.score, 2)}</h3>` +
      `<p class="footfall-source" data-source="${esc(p.footfall_source)}">${esc(t('footfall_label'))}：` +
      `${esc(t(observed ? 'observed' : 'estimated'))}（${esc(Math.round(p.footfall_estimate))} ${esc(t('per_day'))}）</p>` +
      `<p class="walking" data-distance="${esc(p.distance)}">${esc(t('walking_label'))}：` +
      (p.walking_m === null || p.walking_m === undefined ? esc(t('no_way')) : `${esc(Math.round(p.walking_m))} m`) +
      `（${esc(t(p.distance === 'street_network' ? 'by_network' : 'by_straight'))}）</p>` +
      '<table id="score-breakdown"><thead><tr>' +
      ['factor', 'raw', 'normalised', 'weight', 'contribution'].map((k) => `<th>${esc(t(k))}</th>`).join('') +
      '</tr></thead><tbody>' + (p.factors || []).map((f) => `<tr data-factor="${esc(f.code)}">` +
        `<td>${esc(factorName(f))}</td><td class="raw">${raw(f)}</td><td class="normalised">${fixed(f.normalised, 2)}</td>` +
        `<td class="weight">${fixed(f.weight, 2)}</td><td class="contribution">${fixed(f.contribution, 3)}</td></tr>`).join('') +
      `</tbody><tfoot><tr data-total><td colspan="4">${esc(t('score_total'))}</td>` +
      `<td class="contribution total">${fixed(p.score, 3)}</td></tr></tfoot></table>`;
  }

  // Contacts come masked ("王**", "138****5678"); users with can_unmask may ask for the full one,
  // which the server records.
  function contactRows(p) {
    const full = state.unmasked[p.id];
    return row(t('contact_name'), full ? full.contact_name : p.contact_name, 'contact_name') +
      row(t('contact_phone'), full ? full.contact_phone : p.contact_phone, 'contact_phone');
  }
  function unmaskControl(p) {
    const hasContact = p.contact_name || p.contact_phone;
    if (!hasContact || state.unmasked[p.id] || !(session && session.user.can_unmask)) return '';
    return `<div class="unmask"><button id="unmask" type="button">${esc(t('unmask'))}</button>` +
      `<small>${esc(t('audited'))}</small></div>`;
  }
  async function unmask(id) {
    const button = $('unmask');
    if (button) button.disabled = true;
    try {
      state.unmasked[id] = await getJson(`/api/merchants/${encodeURIComponent(id)}/contact`);
    } finally {
      if (button) button.disabled = false;
    }
    if (state.merchant && state.merchant.properties.id === id) renderMerchant();
  }

  function showPlace(kind, p) {
    setView('place');
    state.merchant = null;
    window.ecomap.map.getSource('selected').setData(EMPTY());
    const rows = kind === 'community'
      ? row(t('households'), p.households) + row(t('population'), p.population) +
        row(t('price'), p.avg_house_price_cny_m2) + row(t('customers'), p.bank_customers) + row(t('address'), p.address)
      : row(t('kind'), lang === 'zh' ? p.kind_zh : KIND_EN[p.kind]);
    const survey = kind === 'area'
      ? `<p><a id="survey-link" href="/survey.html?area=${encodeURIComponent(p.id)}${lang === 'en' ? '&lang=en' : ''}" target="_blank" rel="noopener">${lang === 'zh' ? '商圈调研报告（可打印）' : 'Area survey (printable)'}</a></p>`
      : '';
    $('outlet-detail').innerHTML = `<h2>${esc(p.name)}</h2><table>${rows}</table>${survey}`;
    $('merchant-detail').innerHTML = '';
    openPanel();
  }

  // --- The panel's views ------------------------------------------------------------------------

  // Switches what the panel shows ('outlet' | 'place' | 'survey' | 'compare' | null), clearing
  // what the previous view drew on the map.
  function setView(view) {
    const map = window.ecomap.map;
    if (view !== 'outlet' && state.outlet) {
      state.outlet = null;
      state.nearby = null;
      clearPriorities();
      clearCircles();
      state.weightsOpen = false;
      for (const s of ['nearby', 'radius']) map.getSource(s).setData(EMPTY());
      $('panel').dataset.outletId = '';
      const url = new URL(location.href);
      if (url.searchParams.has('outlet')) {
        url.searchParams.delete('outlet');
        history.replaceState(null, '', url);
      }
    }
    if (view !== 'survey' && state.survey) {
      state.survey = null;
      renderDraw();
    }
    if (view !== 'compare') state.compare = null;
    if (view !== state.view && ext.views[state.view] && ext.views[state.view].leave) ext.views[state.view].leave(view);
    state.view = view;
    $('panel').classList.toggle('wide', view === 'compare');
  }

  function renderView() {
    if (state.view === 'outlet') renderOutlet();
    else if (state.view === 'survey') renderSurvey();
    else if (state.view === 'compare') renderCompare();
    else if (ext.views[state.view]) ext.views[state.view].render();
  }

  const pct1 = (x) => `${(100 * (Number(x) || 0)).toFixed(1)}%`;
  const int = (n) => Number(n || 0).toLocaleString('en-US');
  const catName = (code) => {
    const c = state.categories.find((x) => x.code === code);
    return c ? (lang === 'zh' ? c.zh : c.en) : code;
  };
  const statusName = (code) => (STATUS[code] ? STATUS[code][lang === 'zh' ? 1 : 2] : code);
  const outletName = (id) => {
    const o = state.data.outlets.features.find((f) => f.properties.id === id);
    return o ? o.properties.name : id;
  };

  // --- Life circles (生活圈): 5/10/15-minute walks around the selected outlet -------------------

  function clearCircles() {
    state.circles = null;
    const map = window.ecomap && window.ecomap.map;
    if (!map || !map.getSource('circles')) return;
    map.getSource('circles').setData(EMPTY());
    map.setLayoutProperty('radius', 'visibility', 'visible');
    if (!showingPriorities()) map.setLayoutProperty('nearby', 'visibility', 'visible');
  }

  let circlesSeq = 0;
  async function loadCircles() {
    const f = state.outlet;
    const map = window.ecomap.map;
    const seq = ++circlesSeq;
    const c = await api(`/api/outlets/${encodeURIComponent(f.properties.id)}/circles`);
    if (seq !== circlesSeq || state.outlet !== f || !showingCircles()) return;
    state.circles = c;
    map.getSource('circles').setData(c);
    // The circles stand in for the nearby radius while the tab is shown.
    map.setLayoutProperty('nearby', 'visibility', 'none');
    map.setLayoutProperty('radius', 'visibility', 'none');
    renderCircles();
    const b = bboxOf([c]);
    if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: mapPadding(), duration: 300, maxZoom: 17 });
  }

  function renderCircles() {
    const sec = $('circles-section');
    if (!sec) return;
    const c = state.circles;
    if (!c) { sec.innerHTML = `<p class="muted">${esc(t('loading'))}</p>`; return; }
    const circles = c.features.map((f) => f.properties).sort((a, b) => a.minutes - b.minutes);
    const cov = c.community_coverage;
    const metrics = [
      ['merchants', t('merchants'), (s) => int(s.merchants)],
      ['signed', t('signed'), (s) => int(s.signed)],
      ['signed_share', t('signed_share'), (s) => pct1(s.signed_share)],
      ['communities', t('communities_n'), (s) => int(s.communities)],
      ['households', t('households'), (s) => int(s.households)],
      ['competitor_outlets', t('competitor_outlets'), (s) => int(s.competitor_outlets.length)],
      ['competitor_signed_merchants', t('competitor_signed_merchants'), (s) => int(s.competitor_signed_merchants)],
    ];
    const color = (m) => CIRCLE_COLORS[m <= 5 ? 0 : m <= 10 ? 1 : 2];
    const minutesName = (m) => (t(`min${m}`) !== `min${m}` ? t(`min${m}`) : `${m} min`);
    if (!circles.some((s) => s.minutes === state.circleMinutes)) state.circleMinutes = circles[circles.length - 1].minutes;
    const pick = circles.find((s) => s.minutes === state.circleMinutes);
    const cats = Object.entries(pick.by_category).sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]));
    const outer = circles[circles.length - 1];
    sec.innerHTML =
      `<p id="circles-coverage" title="${esc(t('coverage_note'))}"><b>${esc(t('community_coverage'))}</b> ` +
      `<span class="value">${pct1(cov.share)}</span> <small>${esc(t('coverage_line', {
        covered: int(cov.covered_households), total: int(cov.households), cc: cov.covered_communities, c: cov.communities,
      }))}</small></p>` +
      '<div class="table-wrap"><table id="circles-table"><thead><tr><th></th>' + circles.map((s) =>
        `<th data-minutes="${s.minutes}"><span class="sw" style="background:${color(s.minutes)}"></span>${esc(minutesName(s.minutes))}` +
        `<small>${esc(t('walk_m', { m: Math.round(s.walking_m) }))}</small></th>`).join('') + '</tr></thead><tbody>' +
      metrics.map(([key, label, fmt]) => `<tr data-metric="${key}"><td>${esc(label)}</td>` +
        circles.map((s) => `<td data-minutes="${s.minutes}">${esc(fmt(s))}</td>`).join('') + '</tr>').join('') +
      '</tbody></table></div>' +
      (outer.competitor_outlets.length
        ? `<p id="circle-competitors"><b>${esc(t('competitor_outlets'))}</b>：${outer.competitor_outlets.map((id) => esc(outletName(id))).join('、')}</p>` : '') +
      `<h3>${esc(t('by_category'))}</h3><div class="seg" id="circle-pick" role="group">` + circles.map((s) =>
        `<button type="button" data-minutes="${s.minutes}" aria-pressed="${s.minutes === pick.minutes}">${esc(minutesName(s.minutes))}</button>`).join('') +
      '</div><table id="circle-categories"><thead><tr>' +
      `<th>${esc(t('category'))}</th><th>${esc(t('merchants'))}</th><th>${esc(t('signed'))}</th><th>${esc(t('signed_share'))}</th></tr></thead><tbody>` +
      cats.map(([code, n]) => `<tr data-code="${esc(code)}"><td>${esc(catName(code))}</td><td class="total">${n.total}</td>` +
        `<td class="signed">${n.signed}</td><td>${pct1(n.total ? n.signed / n.total : 0)}</td></tr>`).join('') +
      `</tbody></table><h3>${esc(t('by_status'))}</h3><p id="circle-status">` +
      Object.keys(STATUS).filter((k) => pick.by_status[k]).map((k) =>
        `<span data-status="${k}"><span class="dot" style="background:${STATUS[k][0]}"></span>${esc(statusName(k))} <b>${pick.by_status[k]}</b></span>`).join(' ') +
      `</p><p class="note" id="circles-distance" data-distance="${esc(c.distance)}">` +
      `${esc(t(c.distance === 'street_network' ? 'distance_network' : 'distance_model'))}</p>`;
    sec.querySelectorAll('#circle-pick button').forEach((b) => b.addEventListener('click', () => {
      state.circleMinutes = Number(b.dataset.minutes);
      renderCircles();
    }));
  }

  // --- The coverage grid (H3 hexes from the `coverage` vector tiles) ----------------------------

  function gridColor() {
    const ramp = GRID_RAMPS[state.gridMode];
    const value = state.gridMode === 'signed_share'
      ? ['/', ['get', 'signed'], ['max', ['get', 'merchants'], 1]] : ['get', 'merchants'];
    return ['case', ['==', ['get', 'merchants'], 0], GRID_EMPTY, ['interpolate', ['linear'], value, ...ramp.flat()]];
  }

  // Diagonal hatching for white-space hexes.
  function hatchImage() {
    const n = 8;
    const c = document.createElement('canvas');
    c.width = n; c.height = n;
    const ctx = c.getContext('2d');
    ctx.strokeStyle = WHITESPACE_COLOR; ctx.globalAlpha = 0.55; ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(0, n); ctx.lineTo(n, 0); ctx.moveTo(-n / 2, n / 2); ctx.lineTo(n / 2, -n / 2);
    ctx.moveTo(n / 2, n + n / 2); ctx.lineTo(n + n / 2, n / 2);
    ctx.stroke();
    return ctx.getImageData(0, 0, n, n);
  }

  const GRID_LAYERS = ['coverage', 'coverage-outline', 'coverage-whitespace-fill', 'coverage-whitespace'];

  function ensureGrid() {
    const map = window.ecomap.map;
    if (map.getSource('coverage')) return;
    map.addSource('coverage', tileSource('coverage', GRID_MIN_ZOOM));
    if (!map.hasImage('whitespace-hatch')) map.addImage('whitespace-hatch', hatchImage());
    const common = { source: 'coverage', 'source-layer': 'coverage', layout: { visibility: 'none' } };
    // Under the life circles, merchants and outlets; over the communities and areas.
    map.addLayer(Object.assign({ id: 'coverage', type: 'fill', paint: { 'fill-color': gridColor(), 'fill-opacity': 0.62 } }, common), 'circles-fill');
    map.addLayer(Object.assign({ id: 'coverage-outline', type: 'line', paint: { 'line-color': '#ffffff', 'line-width': 0.7 } }, common), 'circles-fill');
    map.addLayer(Object.assign({ id: 'coverage-whitespace-fill', type: 'fill', filter: ['==', ['get', 'whitespace'], 1],
      paint: { 'fill-pattern': 'whitespace-hatch' } }, common), 'circles-fill');
    map.addLayer(Object.assign({ id: 'coverage-whitespace', type: 'line', filter: ['==', ['get', 'whitespace'], 1],
      paint: { 'line-color': WHITESPACE_COLOR, 'line-width': 2.5 } }, common), 'circles-fill');
  }

  function setGrid(on) {
    const map = window.ecomap.map;
    state.grid = on;
    $('grid-toggle').checked = on;
    if (on) ensureGrid();
    if (map.getSource('coverage')) for (const id of GRID_LAYERS) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    if (!on && gridPopup) gridPopup.remove();
    renderGridLegend();
  }

  function renderGridLegend() {
    $('grid-legend').hidden = !state.grid;
    $('grid-mode').value = state.gridMode;
    const ramp = GRID_RAMPS[state.gridMode];
    const label = (v, i) => {
      const s = state.gridMode === 'signed_share' ? `${Math.round(v * 100)}%` : String(v);
      return i === ramp.length - 1 ? `≥${s}` : s;
    };
    $('grid-ramp').innerHTML = ramp.map(([v, c], i) =>
      `<span class="stop"><span class="sw sq" style="background:${c}"></span>${esc(label(v, i))}</span>`).join('') +
      `<span class="stop"><span class="sw sq" style="background:${GRID_EMPTY}"></span>${esc(t('no_merchants'))}</span>`;
    document.querySelector('#grid-legend .ws-entry').title = t('whitespace_note');
    updateGridHint();
  }

  function updateGridHint() {
    const map = window.ecomap && window.ecomap.map;
    if (map) $('grid-zoom-hint').hidden = !state.grid || map.getZoom() >= GRID_MIN_ZOOM;
  }

  let gridPopup = null;
  function showHex(f, lngLat) {
    const p = f.properties;
    const share = p.merchants ? p.signed / p.merchants : 0;
    const line = (k, v) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`;
    if (gridPopup) gridPopup.remove();
    gridPopup = new maplibregl.Popup({ maxWidth: '260px' }).setLngLat(lngLat).setHTML(
      `<div class="hex-popup" data-cell="${esc(p.cell)}"><b>${esc(t('hex'))} ${esc(p.cell)}</b>` +
      (p.whitespace ? ` <span class="ws-badge">${esc(t('whitespace'))}</span>` : '') + '<table>' +
      line(t('merchants'), p.merchants) + line(t('signed'), `${p.signed}（${pct1(share)}）`) +
      line(t('prospects'), p.prospects) + line(t('households'), int(p.households)) +
      line(t('footfall_day'), int(Math.round(p.footfall))) + line(t('priority_sum'), fixed(p.priority_sum, 2)) +
      '</table></div>').addTo(window.ecomap.map);
  }

  // --- Drawing an area and surveying it (POST /api/survey) --------------------------------------

  // onFinish / onCancel: set when a feature module (campaigns.js, through ecomap.draw) asked for
  // the polygon; the survey runs otherwise.
  const draw = { active: false, points: [], cursor: null, onFinish: null, onCancel: null };

  function startDrawing(onFinish, onCancel) {
    const map = window.ecomap.map;
    if (draw.active) { cancelDrawing(); return; }
    draw.active = true;
    draw.points = [];
    draw.cursor = null;
    draw.onFinish = typeof onFinish === 'function' ? onFinish : null;
    draw.onCancel = typeof onCancel === 'function' ? onCancel : null;
    map.doubleClickZoom.disable();
    map.getCanvas().style.cursor = 'crosshair';
    document.body.classList.add('drawing');
    $('draw-bar').hidden = false;
    $('draw-area').setAttribute('aria-pressed', String(!draw.onFinish));
    renderDraw();
  }

  function stopDrawing() {
    const map = window.ecomap.map;
    draw.active = false;
    draw.cursor = null;
    map.doubleClickZoom.enable();
    map.getCanvas().style.cursor = '';
    document.body.classList.remove('drawing');
    $('draw-bar').hidden = true;
    $('draw-area').setAttribute('aria-pressed', 'false');
  }

  function cancelDrawing() {
    if (!draw.active) return;
    const onCancel = draw.onCancel;
    stopDrawing();
    draw.points = [];
    draw.onFinish = null;
    draw.onCancel = null;
    renderDraw();
    if (onCancel) onCancel();
  }

  function drawClick(e) {
    const map = window.ecomap.map;
    const near = (lonLat, px) => {
      const q = map.project(lonLat);
      return Math.hypot(q.x - e.point.x, q.y - e.point.y) < px;
    };
    const pts = draw.points;
    // The second click of a double-click lands on the last point: not a new one.
    if (pts.length && near(pts[pts.length - 1], 6)) return;
    // Clicking the first point again closes the polygon.
    if (pts.length >= 3 && near(pts[0], 10)) { finishDrawing(); return; }
    pts.push([e.lngLat.lng, e.lngLat.lat]);
    renderDraw();
  }

  function undoPoint() {
    if (!draw.active || !draw.points.length) return;
    draw.points.pop();
    renderDraw();
  }

  function renderDraw() {
    const map = window.ecomap && window.ecomap.map;
    const src = map && map.getSource('draw');
    if (!src) return;
    const pts = draw.active ? draw.points : (state.survey ? state.survey.ring.slice(0, -1) : []);
    const feature = (type, coordinates, role) => ({ type: 'Feature', geometry: { type, coordinates }, properties: { role } });
    const fs = [];
    if (pts.length >= 3) fs.push(feature('Polygon', [pts.concat([pts[0]])], 'shape'));
    else if (pts.length === 2) fs.push(feature('LineString', pts, 'shape'));
    if (draw.active) {
      if (draw.cursor && pts.length) {
        fs.push(feature('LineString', [pts[pts.length - 1], draw.cursor].concat(pts.length >= 2 ? [pts[0]] : []), 'guide'));
      }
      for (const p of pts) fs.push(feature('Point', p, 'vertex'));
      $('draw-hint').textContent = t('draw_hint', { n: pts.length });
      $('draw-finish').disabled = pts.length < 3;
      $('draw-undo').disabled = !pts.length;
    }
    src.setData({ type: 'FeatureCollection', features: fs });
  }

  async function finishDrawing() {
    if (!draw.active || draw.points.length < 3) return;
    const ring = draw.points.concat([draw.points[0]]);
    const onFinish = draw.onFinish;
    stopDrawing();
    draw.points = [];
    draw.onFinish = null;
    draw.onCancel = null;
    if (onFinish) {
      renderDraw();
      onFinish(ring);
      return;
    }
    await runSurvey(ring);
  }

  let surveySeq = 0;
  async function runSurvey(ring) {
    const seq = ++surveySeq;
    setView('survey');
    state.merchant = null;
    $('merchant-detail').innerHTML = '';
    window.ecomap.map.getSource('selected').setData(EMPTY());
    state.survey = { ring, result: null, error: null };
    renderDraw();
    renderSurvey();
    openPanel();
    const sv = state.survey;
    try {
      sv.result = await getJson(`/api/survey?${new URLSearchParams({ crs: state.crs })}`,
        { method: 'POST', json: { type: 'Polygon', coordinates: [ring] } });
    } catch (err) {
      sv.error = String((err && err.message) || err);
    }
    if (seq === surveySeq && state.survey === sv) renderSurvey();
  }

  function renderSurvey() {
    const sv = state.survey;
    const el = $('outlet-detail');
    if (state.view !== 'survey' || !sv) return;
    let body;
    if (sv.error) body = `<p id="survey-error" role="alert">${esc(t('survey_failed', { m: sv.error }))}</p>`;
    else if (!sv.result) body = `<p class="muted">${esc(t('loading'))}</p>`;
    else {
      const s = sv.result;
      const unsigned = s.merchants - s.signed;
      const kpi = (k, value, label, extra) => `<div class="kpi" data-kpi="${k}"><b>${esc(value)}` +
        `${extra ? `<small>（${esc(extra)}）</small>` : ''}</b><span>${esc(label)}</span></div>`;
      const dist = (m) => (m == null ? '' : `${Math.round(m)} m`);
      body = `<p class="meta">${esc(t('area_size', { a: (s.area_m2 / 1e6).toFixed(2), r: Math.round(s.reach_walking_m) }))}</p>` +
        '<div class="kpis" id="survey-kpis">' +
        kpi('merchants', int(s.merchants), t('merchants')) +
        kpi('signed', int(s.signed), t('signed'), pct1(s.signed_share)) +
        kpi('households', int(s.households_in_reach), t('households_in_reach')) +
        kpi('banks', int(s.competitor_outlets.length), t('banks_nearby')) + '</div>' +
        `<h3>${esc(t('signed_vs_not'))}</h3><div class="signed-bar" aria-hidden="true">` +
        `<span class="yes" style="width:${(100 * (s.signed_share || 0)).toFixed(1)}%"></span></div>` +
        `<p id="survey-signed"><span data-signed="yes"><span class="dot" style="background:${STATUS.signed[0]}"></span>${esc(t('signed'))} <b>${int(s.signed)}</b></span> · ` +
        `<span data-signed="no"><span class="dot" style="background:${STATUS.prospect[0]}"></span>${esc(t('not_signed'))} <b>${int(unsigned)}</b></span></p>` +
        `<h3>${esc(t('by_category'))}</h3><div class="table-wrap"><table id="survey-mix"><thead><tr><th>${esc(t('category'))}</th>` +
        `<th>${esc(t('count'))}</th><th>${esc(t('share'))}</th><th>${esc(t('signed'))}</th><th>${esc(t('signed_pct'))}</th></tr></thead><tbody>` +
        s.mix.map((r) => `<tr data-code="${esc(r.code)}"><td>${esc(catName(r.code))}</td><td class="count">${r.count}</td>` +
          `<td class="share"><span class="bar" style="width:${Math.round(100 * r.share)}%"></span><span>${pct1(r.share)}</span></td>` +
          `<td class="signed">${r.signed}</td><td>${pct1(r.signed_share)}</td></tr>`).join('') + '</tbody></table></div>' +
        `<h3>${esc(t('top_prospects'))}</h3><ol id="survey-prospects">` +
        (s.top_prospects.length ? s.top_prospects.map((m, i) => `<li data-merchant-id="${esc(m.id)}"><span class="rank">${i + 1}</span>` +
          `<span class="name">${esc(m.name)} <small>${esc(catName(m.category))} · ${esc(statusName(m.status))}</small></span>` +
          `<span class="score">${fixed(m.score, 2)}</span></li>`).join('') : `<li class="empty">${esc(t('none'))}</li>`) + '</ol>' +
        `<h3>${esc(t('communities_in_reach'))} <small>${esc(t('n_communities', { n: s.communities_in_reach.length }))}</small></h3>` +
        `<table id="survey-communities"><tbody>` + s.communities_in_reach.map((c) =>
          `<tr data-id="${esc(c.id)}"><td>${esc(c.name)}</td><td class="households">${int(c.households)}</td><td class="dist">${dist(c.distance_m)}</td></tr>`).join('') +
        `</tbody></table><h3>${esc(t('banks_nearby'))}</h3><table id="survey-banks"><tbody>` +
        (s.competitor_outlets.length ? s.competitor_outlets.map((o) =>
          `<tr data-id="${esc(o.id)}"><td>${esc(o.name)}</td><td>${esc(o.bank || '')}</td><td class="dist">${dist(o.distance_m)}</td></tr>`).join('')
          : `<tr><td>${esc(t('none'))}</td></tr>`) + '</tbody></table>' +
        (s.our_outlets.length ? `<h3>${esc(t('our_outlets_nearby'))}</h3><table id="survey-ours"><tbody>` + s.our_outlets.map((o) =>
          `<tr data-id="${esc(o.id)}"><td>${esc(o.name)}</td><td class="dist">${dist(o.distance_m)}</td></tr>`).join('') + '</tbody></table>' : '') +
        `<p class="note">${esc(t('distance_model'))}</p>`;
    }
    el.innerHTML = `<h2>${esc(t('drawn_survey'))}</h2>${body}<div class="buttons">` +
      `<button type="button" id="draw-again">${esc(t('draw_again'))}</button>` +
      `<button type="button" id="draw-clear">${esc(t('clear'))}</button></div>`;
    $('draw-again').addEventListener('click', () => startDrawing());
    $('draw-clear').addEventListener('click', () => closePanel());
    el.querySelectorAll('#survey-prospects li[data-merchant-id]').forEach((li) =>
      li.addEventListener('click', () => selectMerchant(li.dataset.merchantId, { fly: true })));
  }

  // --- Comparing our outlets' coverage (GET /api/coverage/outlets) -------------------------------

  // [field, label key, kind]: how each column shows and sorts.
  const COMPARE_COLS = [
    ['name', 'outlet', 'text'], ['merchants_500m', 'merchants_500m', 'int'],
    ['signed_share_500m', 'signed_share_500m', 'pct'], ['merchants_1km', 'merchants_1km', 'int'],
    ['signed_share_1km', 'signed_share_1km', 'pct'], ['households_1km', 'households_1km', 'int'],
    ['covered_households_share', 'covered_share', 'pct'], ['whitespace_hexes_1km', 'whitespace_hexes', 'int'],
    ['competitor_outlets_1km', 'competitors_1km', 'int'], ['gaps', 'gaps', 'gaps'],
  ];

  // The branches (parent units) of the outlets of ours the user sees.
  const branchesOfOutlets = () => [...new Set(state.data.outlets.features
    .filter((f) => f.properties.is_ours && f.properties.parent_org_id).map((f) => f.properties.parent_org_id))].sort();

  async function showCompare() {
    setView('compare');
    state.merchant = null;
    $('merchant-detail').innerHTML = '';
    renderCompare();
    openPanel();
    await loadCompare();
  }

  let compareSeq = 0;
  async function loadCompare() {
    const seq = ++compareSeq;
    const branch = state.compareBranch;
    const r = await getJson(`/api/coverage/outlets${branch ? `?${new URLSearchParams({ branch })}` : ''}`);
    if (seq !== compareSeq || state.view !== 'compare') return;
    state.compare = r;
    renderCompare();
  }

  function sortedCompareRows() {
    const rows = state.compare.outlets.slice();
    const { key, dir } = state.compareSort;
    const col = COMPARE_COLS.find((c) => c[0] === key);
    if (!col) return rows;
    const val = (r) => (col[2] === 'gaps' ? r.gaps.length : r[key]);
    // Array.prototype.sort is stable: ties keep the API's order.
    return rows.sort((a, b) => {
      const x = val(a);
      const y = val(b);
      return dir * (col[2] === 'text' ? String(x).localeCompare(String(y), 'zh-CN') : x - y);
    });
  }

  function renderCompare() {
    if (state.view !== 'compare') return;
    const el = $('outlet-detail');
    const branches = branchesOfOutlets();
    const picker = branches.length > 1
      ? `<label class="branch-pick">${esc(t('branch'))} <select id="compare-branch"><option value="">${esc(t('all'))}</option>` +
        branches.map((b) => `<option value="${esc(b)}"${b === state.compareBranch ? ' selected' : ''}>${esc(b)}</option>`).join('') +
        '</select></label>' : '';
    let body;
    if (!state.compare) body = `<p class="muted">${esc(t('loading'))}</p>`;
    else if (!state.compare.outlets.length) body = `<p class="muted">${esc(t('no_outlets'))}</p>`;
    else {
      const { key, dir } = state.compareSort;
      const cell = (r, [k, , kind]) => {
        if (k === 'name') return `<td data-col="name"><button type="button" class="link" data-open="${esc(r.outlet_id)}">${esc(r.name)}</button></td>`;
        if (kind === 'gaps') {
          return `<td data-col="gaps" data-n="${r.gaps.length}">${r.gaps.length
            ? r.gaps.map((g) => `<span class="gap" data-code="${esc(g)}">${esc(catName(g))}</span>`).join('') : '<span class="muted">—</span>'}</td>`;
        }
        const warn = (k === 'whitespace_hexes_1km' && r[k] > 0) || (kind === 'pct' && k !== 'covered_households_share' && r[k] < 0.15);
        return `<td data-col="${k}" class="num${warn ? ' warn' : ''}">${kind === 'pct' ? pct1(r[k]) : int(r[k])}</td>`;
      };
      body = `<p class="note">${esc(t('sort_hint'))} · ${esc(t('distance_model'))}</p><div class="table-wrap"><table id="compare-table"><thead><tr>` +
        COMPARE_COLS.map(([k, label]) => {
          const sort = k === key ? (dir > 0 ? 'ascending' : 'descending') : 'none';
          return `<th data-sort="${k}" aria-sort="${sort}"${k === 'gaps' ? ` title="${esc(t('gaps_note'))}"` : ''}>` +
            `<button type="button">${esc(t(label))}<span class="arrow">${sort === 'ascending' ? '▲' : sort === 'descending' ? '▼' : ''}</span></button></th>`;
        }).join('') + '</tr></thead><tbody>' +
        sortedCompareRows().map((r) => `<tr data-outlet-id="${esc(r.outlet_id)}">${COMPARE_COLS.map((c) => cell(r, c)).join('')}</tr>`).join('') +
        '</tbody></table></div>';
    }
    el.innerHTML = `<h2>${esc(t('compare_title'))}</h2>${picker}${body}`;
    const sel = $('compare-branch');
    if (sel) sel.addEventListener('change', () => {
      state.compareBranch = sel.value;
      state.compare = null;
      renderCompare();
      loadCompare().catch(showError);
    });
    el.querySelectorAll('#compare-table th[data-sort]').forEach((th) => th.addEventListener('click', () => {
      const k = th.dataset.sort;
      const s = state.compareSort;
      const text = COMPARE_COLS.find((c) => c[0] === k)[2] === 'text';
      state.compareSort = s.key === k ? { key: k, dir: -s.dir } : { key: k, dir: text ? 1 : -1 };
      renderCompare();
    }));
    el.querySelectorAll('#compare-table button[data-open]').forEach((b) => b.addEventListener('click', () => selectOutlet(b.dataset.open)));
  }

  function closePanel() {
    setSheet(false);
    setView(null);
    state.weightsOpen = false;
    state.merchant = null;
    window.ecomap.map.getSource('selected').setData(EMPTY());
  }

  function showError(err) { $('status-line').textContent = String((err && err.message) || err); }

  let searchSeq = 0;
  async function runSearch() {
    const q = $('search').value.trim();
    const box = $('search-results');
    if (!q) { box.hidden = true; return; }
    const seq = ++searchSeq;
    const [outlets, merchants] = await Promise.all([
      api('/api/outlets', { q, limit: 10 }), api('/api/merchants', { q, limit: 20 }),
    ]);
    if (seq !== searchSeq) return;
    const items = outlets.features.map((f) => ['outlet', f]).concat(merchants.features.map((f) => ['merchant', f]));
    box.innerHTML = items.length ? items.map(([kind, f]) =>
      `<li data-kind="${kind}" data-id="${esc(f.properties.id)}">${esc(f.properties.name)}<span class="kind">${esc(t(kind))}` +
      `${kind === 'merchant' ? ' · ' + esc(lang === 'zh' ? f.properties.category_zh : f.properties.category_en) : ''}</span></li>`).join('')
      : `<li>${esc(t('no_results'))}</li>`;
    box.hidden = false;
    box.querySelectorAll('li[data-id]').forEach((li) => li.addEventListener('click', () => {
      box.hidden = true;
      if (li.dataset.kind === 'outlet') selectOutlet(li.dataset.id);
      else selectMerchant(li.dataset.id, { fly: true });
    }));
  }

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    $('lang').textContent = t('lang');
    document.title = 'ecomap ' + t('title');
    renderUser();
    if (window.ecomap && window.ecomap.map && window.ecomap.map.getLayer('merchants')) {
      renderLegend();
      updateCounts();
      renderView();
      renderMerchant();
      if (draw.active) renderDraw();
    }
  }

  $('lang').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    const url = new URL(location.href);
    if (lang === 'en') url.searchParams.set('lang', 'en'); else url.searchParams.delete('lang');
    history.replaceState(null, '', url);
    applyLang();
  });
  $('category-filter').addEventListener('change', applyCategoryFilter);
  let searchTimer = null;
  $('search').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => runSearch().catch(showError), 250); });
  $('search').addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(searchTimer); runSearch().catch(showError); } });
  document.querySelector('#panel .close').addEventListener('click', closePanel);
  $('draw-area').addEventListener('click', () => startDrawing());
  $('draw-finish').addEventListener('click', () => finishDrawing().catch(showError));
  $('draw-cancel').addEventListener('click', () => cancelDrawing());
  $('draw-undo').addEventListener('click', () => undoPoint());
  $('compare-open').addEventListener('click', () => showCompare().catch(showError));
  // On a phone the legend starts folded to its tool buttons, so that it leaves the map free.
  function foldLegend(folded) {
    $('legend').classList.toggle('folded', folded);
    $('legend-toggle').setAttribute('aria-expanded', String(!folded));
  }
  $('legend-toggle').addEventListener('click', () => foldLegend(!$('legend').classList.contains('folded')));
  foldLegend(phoneLayout());
  $('grid-toggle').addEventListener('change', (e) => setGrid(e.target.checked));
  $('grid-mode').addEventListener('change', (e) => {
    state.gridMode = e.target.value;
    const map = window.ecomap.map;
    if (map.getLayer('coverage')) map.setPaintProperty('coverage', 'fill-color', gridColor());
    renderGridLegend();
  });
  document.addEventListener('keydown', (e) => {
    if (!draw.active) return;
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test((e.target && e.target.tagName) || '');
    if (e.key === 'Escape') { e.preventDefault(); cancelDrawing(); } else if (typing) {
      /* keys in a form field are the field's */
    } else if (e.key === 'Enter') { e.preventDefault(); finishDrawing().catch(showError); } else if (e.key === 'Backspace' || (e.key === 'z' && (e.ctrlKey || e.metaKey))) {
      e.preventDefault();
      undoPoint();
    }
  });
  $('login').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', () => logout().catch(showError));

  // --- Extensions: what later scripts (visits.js) build on ------------------------------------
  // Panel views they add (name -> {render(), leave(next view), click(feature, event) -> true when
  // it took a click on the map's outlets, merchants, communities or areas}), functions run once the map has
  // its layers (before body[data-ready]), and buttons in our outlets' panel ({id, label(), run(f)}).
  const ext = { views: {}, started: [], outletActions: [] };
  window.ecomap = {
    send, getJson, api, t, esc, catName, statusName, outletName, mapPadding, phoneLayout, openPanel, closePanel,
    lang: () => lang,
    session: () => session,
    view: () => state.view,
    selectedOutlet: () => state.outlet,
    sessionExpired: () => showLogin(t('session_expired')),
    addStrings(strings) { for (const l of Object.keys(I18N)) Object.assign(I18N[l], strings[l] || {}); },
    addView(name, view) { ext.views[name] = view; },
    onStart(fn) { ext.started.push(fn); },
    addOutletAction(action) { ext.outletActions.push(action); },
    // Fits the map to `features` (GeoJSON), clear of the panel (desktop), the folded legend and
    // the map's buttons (phone). opts: margin px, maxZoom, rightShare (most of the width the
    // right padding may take).
    fitClear(features, opts) {
      const map = window.ecomap.map;
      if (!map) return;
      let b = [Infinity, Infinity, -Infinity, -Infinity];
      const visit = (x) => {
        if (typeof x[0] === 'number') b = [Math.min(b[0], x[0]), Math.min(b[1], x[1]), Math.max(b[2], x[0]), Math.max(b[3], x[1])];
        else x.forEach(visit);
      };
      features.forEach((f) => visit(f.geometry.coordinates));
      if (!Number.isFinite(b[0])) return;
      const o = Object.assign({ margin: 16, maxZoom: 17, rightShare: 0.35 }, opts);
      const box = map.getContainer().getBoundingClientRect();
      const pad = mapPadding();
      const m = o.margin;
      const padding = { top: pad.top + m, bottom: pad.bottom + m, left: pad.left + m, right: pad.right + m };
      const legend = $('legend').getBoundingClientRect();
      if (phoneLayout()) {
        if (legend.height) padding.top = Math.max(padding.top, legend.bottom - box.top + m);
        padding.right = Math.max(padding.right, 46);
      } else if (legend.width && box.width > 900) {
        padding.left = Math.max(padding.left, legend.right - box.left + m);
      }
      padding.top = Math.min(padding.top, box.height * 0.45);
      padding.bottom = Math.min(padding.bottom, box.height * 0.2);
      padding.left = Math.min(padding.left, box.width * 0.35);
      padding.right = Math.min(padding.right, box.width * o.rightShare);
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding, maxZoom: o.maxZoom, duration: 0 });
    },
    // Runs the drawing tool (#draw-bar: clicks, undo, finish, Esc) and hands the closed ring of
    // [lon, lat] in the page's crs to onFinish(ring) instead of surveying it; onCancel() when the
    // drawing is cancelled (also when another drawing replaces it). cancelDraw() ends it.
    draw(onFinish, onCancel) {
      if (draw.active) cancelDrawing();
      startDrawing(onFinish, onCancel);
    },
    cancelDraw: () => cancelDrawing(),
    drawing: () => draw.active,
    // Shows view `name` in the panel (the sheet on a phone), in place of whatever it showed.
    showView(name) {
      setView(name);
      state.merchant = null;
      $('merchant-detail').innerHTML = '';
      if (window.ecomap.map) window.ecomap.map.getSource('selected').setData(EMPTY());
      renderView();
      openPanel();
    },
  };
  applyLang();
  boot().catch(showError);
})();
