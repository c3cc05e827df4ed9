// ecomap map app: MapLibre GL JS over ecomap's GeoJSON API. Chinese first, English on request.
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
      shown: '显示前 {n} 家', loaded: '已加载 {m} 家商户', no_results: '无结果', observed: '实测',
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
      merchant: 'merchant', total: '{n} in total', shown: 'first {n} shown', loaded: '{m} merchants loaded',
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
    nearby: null, viewportMode: false, unmasked: {},
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
    map.addLayer({ id: 'radius', type: 'line', source: 'radius', paint: { 'line-color': '#c62828', 'line-width': 1.5, 'line-dasharray': [3, 2] } });
    map.addLayer({ id: 'merchants', type: 'circle', source: 'merchants', paint: {
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

  async function loadMerchantsForView(map) {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    if (bbox[2] - bbox[0] > 2 || bbox[3] - bbox[1] > 2) return;
    const fc = await api('/api/merchants', { bbox: bbox.map((v) => v.toFixed(6)).join(','), limit: 2000 });
    state.data.merchants = fc;
    map.getSource('merchants').setData(fc);
    updateCounts();
  }

  function updateCounts() {
    const d = state.data;
    window.ecomap.counts = {
      outlets: d.outlets.features.length, merchants: d.merchants.features.length,
      communities: d.communities.features.length, areas: d.areas.features.length,
    };
    $('status-line').textContent = t('loaded', { m: d.merchants.features.length });
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
    window.ecomap = { map, crs: state.crs, counts: {}, selectOutlet, selectMerchant };
    await new Promise((resolve) => (map.loaded() ? resolve() : map.once('load', resolve)));

    const [cats, outlets, merchants, communities, areas] = await Promise.all([
      getJson('/api/categories'), api('/api/outlets'), api('/api/merchants', { limit: 2000 }),
      api('/api/communities', { limit: 2000 }), api('/api/areas'),
    ]);
    state.categories = cats.categories;
    state.viewportMode = merchants.total > merchants.features.length;
    Object.assign(state.data, { outlets, merchants, communities, areas });
    prepareOutlets(map, outlets);
    const areaLabels = prepareAreas(map, areas);
    map.addSource('communities', { type: 'geojson', data: communities });
    map.addSource('areas', { type: 'geojson', data: areas });
    map.addSource('area-labels', { type: 'geojson', data: areaLabels });
    map.addSource('merchants', { type: 'geojson', data: merchants });
    map.addSource('outlets', { type: 'geojson', data: outlets });
    for (const s of ['radius', 'nearby', 'selected', 'priorities']) map.addSource(s, { type: 'geojson', data: EMPTY() });
    addLayers(map);
    renderLegend();
    updateCounts();

    map.on('click', (e) => {
      const layers = ['outlets-ours', 'outlets-competitors', 'merchants', 'communities', 'areas'];
      const hits = map.queryRenderedFeatures(e.point, { layers: layers.filter((l) => map.getLayer(l)) });
      if (!hits.length) return;
      const f = hits[0];
      if (f.layer.id.startsWith('outlets')) selectOutlet(f.properties.id);
      else if (f.layer.id === 'merchants') selectMerchant(f.properties.id, { fly: false });
      else if (f.layer.id === 'communities') showPlace('community', f.properties);
      else showPlace('area', f.properties);
    });
    for (const id of ['merchants', 'outlets-ours', 'outlets-competitors']) {
      map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
    }
    if (state.viewportMode) map.on('moveend', () => loadMerchantsForView(map).catch(showError));

    if (!hadHash) {
      const b = bboxOf([outlets, state.viewportMode ? EMPTY() : merchants]);
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
      ['merchants', t('merchants'), '#43a047', false],
      ['communities', t('communities'), '#6baed6', true],
      ['areas', t('areas'), '#d81b60', true],
    ];
    $('legend-layers').innerHTML = rows.map(([id, label, color, sq]) => {
      const vis = map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
      return `<label><input type="checkbox" data-layer="${id}" ${vis ? 'checked' : ''}>` +
        `<span class="sw${sq ? ' sq' : ''}" style="background:${color}"></span>${esc(label)}</label>`;
    }).join('');
    $('legend-layers').querySelectorAll('input[data-layer]').forEach((cb) => cb.addEventListener('change', () => {
      const ids = cb.dataset.layer === 'areas' ? ['areas', 'areas-outline', 'areas-label'] : [cb.dataset.layer];
      for (const id of ids) map.setLayoutProperty(id, 'visibility', cb.checked ? 'visible' : 'none');
    }));
    const sel = $('category-filter');
    const current = sel.value;
    sel.innerHTML = `<option value="">${esc(t('all'))}</option>` + state.categories.map((c) =>
      `<option value="${esc(c.code)}">${esc(lang === 'zh' ? c.zh : c.en)}</option>`).join('');
    sel.value = current;
    $('legend-status').innerHTML = Object.values(STATUS).map((v) =>
      `<div><span class="sw" style="background:${v[0]}"></span> ${esc(lang === 'zh' ? v[1] : v[2])}</div>`).join('');
  }

  function applyCategoryFilter() {
    const map = window.ecomap.map;
    const code = $('category-filter').value;
    map.setFilter('merchants', code ? ['==', ['get', 'category'], code] : null);
  }

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
    state.outlet = f;
    state.merchant = null;
    clearPriorities();
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
    await Promise.all([loadNearby(), showingPriorities() ? loadPriorities() : null]);
  }

  function renderOutlet() {
    const f = state.outlet;
    if (!f) { $('outlet-detail').innerHTML = ''; return; }
    const p = f.properties;
    const panel = $('panel');
    panel.dataset.outletId = p.id;
    const pri = showingPriorities();
    // Our outlets get two lists (nearby merchants, and the ones to win first); competitors only
    // the nearby one.
    const heading = p.is_ours
      ? '<div class="tabs" role="tablist">' +
        `<button type="button" id="tab-nearby" role="tab" aria-selected="${!pri}">${esc(t('nearby'))}</button>` +
        `<button type="button" id="tab-priorities" role="tab" aria-selected="${pri}">${esc(t('priorities'))}</button></div>`
      : `<h3>${esc(t('nearby'))}</h3>`;
    $('outlet-detail').innerHTML = `<h2>${esc(p.name)}</h2><table>` +
      row(t('bank'), p.competitor_bank || t('our_bank')) + row(t('kind'), lang === 'zh' ? p.kind_zh : KIND_EN[p.kind]) +
      row(t('address'), p.address) + '</table>' + heading +
      `<div class="controls"><label>${esc(t('radius'))} <select id="radius">` +
      [300, 500, 1000].map((r) => `<option value="${r}" ${r === state.radius ? 'selected' : ''}>${r} m</option>`).join('') +
      `</select></label><span id="nearby-total"${pri ? ' hidden' : ''}></span>` +
      `<span id="priority-total"${pri ? '' : ' hidden'}></span></div>` +
      `<ol id="nearby-list"${pri ? ' hidden' : ''}></ol>` +
      (p.is_ours ? `<section id="priorities-section"${pri ? '' : ' hidden'}>` +
        '<div class="weights-bar"><span id="weights-source"></span></div>' +
        '<form id="weights-form" hidden novalidate></form><p id="weights-msg" hidden></p>' +
        '<ol id="priority-list"></ol></section>' : '');
    $('radius').addEventListener('change', (e) => {
      state.radius = Number(e.target.value);
      loadNearby().catch(showError);
      if (showingPriorities()) loadPriorities().catch(showError);
    });
    if (p.is_ours) {
      $('tab-nearby').addEventListener('click', () => setTab('nearby'));
      $('tab-priorities').addEventListener('click', () => setTab('priorities'));
      $('weights-form').addEventListener('submit', (e) => { e.preventDefault(); saveWeights().catch(showError); });
    }
    if (state.nearby) renderNearby();
    if (pri) {
      renderPriorities();
      renderWeights();
    }
  }

  // --- Priorities: which nearby merchants to win first, and the weights behind the score ----------

  const showingPriorities = () => state.tab === 'priorities' && !!state.outlet && !!state.outlet.properties.is_ours;
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
    if (map && map.getLayer('nearby')) map.setLayoutProperty('nearby', 'visibility', 'visible');
  }

  function setTab(tab) {
    if (state.tab === tab) return;
    state.tab = tab;
    if (tab !== 'priorities') {
      clearPriorities();
      state.weightsOpen = false;
    }
    renderOutlet();
    renderMerchant();
    if (tab === 'priorities') loadPriorities().catch(showError);
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
        `<span class="dist">${Math.round(p.distance_m)} m</span></li>`;
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
      || state.data.merchants.features.find((m) => m.properties.id === id)
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
  function breakdown(id) {
    const m = showingPriorities() && state.priorities && state.priorities.features.find((f) => f.properties.id === id);
    if (!m) return '';
    const p = m.properties;
    const observed = p.footfall_source === 'observed';
    const raw = (f) => {
      const v = Number(f.raw);
      if (!Number.isFinite(v)) return esc(f.raw);
      const s = Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : fixed(v, 2);
      return f.code === 'distance' ? `${s} m` : s;
    };
    return `<h3>${esc(t('priorities'))} · ${esc(t('rank'))} ${esc(p.rank)} · ${esc(t('score'))} ${fixed(p.score, 2)}</h3>` +
      `<p class="footfall-source" data-source="${esc(p.footfall_source)}">${esc(t('footfall_label'))}：` +
      `${esc(t(observed ? 'observed' : 'estimated'))}（${esc(Math.round(p.footfall_estimate))} ${esc(t('per_day'))}）</p>` +
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
    state.outlet = null;
    state.nearby = null;
    clearPriorities();
    $('panel').dataset.outletId = '';
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
      if (state.outlet) renderOutlet();
      renderMerchant();
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
  document.querySelector('#panel .close').addEventListener('click', () => {
    setSheet(false);
    state.outlet = null; state.nearby = null;
    clearPriorities();
    state.weightsOpen = false;
    const map = window.ecomap.map;
    for (const s of ['nearby', 'radius', 'selected']) map.getSource(s).setData(EMPTY());
    const url = new URL(location.href);
    url.searchParams.delete('outlet');
    history.replaceState(null, '', url);
  });
  $('login').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', () => logout().catch(showError));
  applyLang();
  boot().catch(showError);
})();
