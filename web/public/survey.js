// A printable survey of an area (商圈 / 好吃街) for a branch team's meeting:
// /survey.html?area=A01 (uses the signed-in session; Chinese first, ?lang=en for English).
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const en = params.get('lang') === 'en';
  const T = en ? {
    title: 'Area survey', merchants: 'Merchants', signed: 'Signed', households: 'Households in reach',
    banks: 'Competing banks nearby', mix: 'Business mix (了解周边业态)', category: 'Category', count: 'Count',
    share: 'Share', signedShare: 'Signed share', prospects: 'Top prospects', score: 'Score', status: 'Status',
    outlet: 'Nearest outlet', distance: 'Distance', communities: 'Communities in reach', name: 'Name',
    competitors: 'Competitor outlets', ours: 'Our outlets', bank: 'Bank', print: 'Print', area: 'Area',
    reach: 'reach', signin: 'Sign in on the map first.', missing: 'Give ?area=<id>.', m2: 'm²',
  } : {
    title: '商圈调研', merchants: '商户', signed: '已签约', households: '可触达户数',
    banks: '周边他行网点', mix: '周边业态', category: '业态', count: '数量', share: '占比',
    signedShare: '签约率', prospects: '优先拓展商户', score: '得分', status: '状态', outlet: '最近网点',
    distance: '距离', communities: '可触达小区', name: '名称', competitors: '他行网点', ours: '我行网点',
    bank: '银行', print: '打印', area: '面积', reach: '触达范围', signin: '请先在地图页面登录。',
    missing: '请在地址中给出 ?area=编号。', m2: '平方米',
  };
  document.documentElement.lang = en ? 'en' : 'zh-CN';
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const pct = (x) => `${Math.round((x || 0) * 100)}%`;
  const main = document.getElementById('survey');

  async function get(url) {
    const r = await fetch(url);
    const body = await r.json().catch(() => null);
    if (!r.ok) throw Object.assign(new Error((body && body.message) || r.statusText), { status: r.status });
    return body;
  }

  async function run() {
    const area = params.get('area');
    if (!area) { main.textContent = T.missing; return; }
    const session = await get('/api/session');
    if (!session.user) { main.textContent = T.signin; return; }
    const [s, cats] = await Promise.all([
      get(`/api/areas/${encodeURIComponent(area)}/survey`), get('/api/categories'),
    ]);
    const catName = Object.fromEntries(cats.categories.map((c) => [c.code, en ? c.en : c.zh]));
    const STATUS_ZH = { prospect: '未拓展', visited: '已拜访', interested: '有意向', rejected: '拒绝', churned: '流失' };
    const status = (c) => (en ? c : (STATUS_ZH[c] || c));
    document.title = `${s.area_name || area} · ${T.title}`;
    const maxShare = Math.max(...s.mix.map((r) => r.share), 0.01);
    main.innerHTML = `
      <h1 id="survey-title">${esc(s.area_name || area)} · ${T.title}</h1>
      <div class="meta">${T.area} ${Math.round(s.area_m2).toLocaleString()} ${T.m2} · ${T.reach} ${Math.round(s.reach_walking_m)} m
        (${esc(s.distance)}) · ${esc(session.user.display_name)} · ${new Date().toLocaleDateString(en ? 'en' : 'zh-CN')}</div>
      <div class="actions"><button id="print" type="button">${T.print}</button></div>
      <div class="kpis">
        <div class="kpi"><b id="kpi-merchants">${s.merchants}</b><span>${T.merchants}</span></div>
        <div class="kpi"><b id="kpi-signed">${s.signed} (${pct(s.signed_share)})</b><span>${T.signed}</span></div>
        <div class="kpi"><b id="kpi-households">${s.households_in_reach.toLocaleString()}</b><span>${T.households}</span></div>
        <div class="kpi"><b id="kpi-banks">${s.competitor_outlets.length}</b><span>${T.banks}</span></div>
      </div>
      <h2>${T.mix}</h2>
      <table id="mix"><tr><th>${T.category}</th><th class="num">${T.count}</th><th>${T.share}</th><th class="num">${T.signed}</th><th class="num">${T.signedShare}</th></tr>
        ${s.mix.map((r) => `<tr data-code="${esc(r.code)}"><td>${esc(catName[r.code] || r.code)}</td><td class="num">${r.count}</td>
          <td><span class="bar" style="width:${Math.round(120 * r.share / maxShare)}px"></span> ${pct(r.share)}</td>
          <td class="num">${r.signed}</td><td class="num">${pct(r.signed_share)}</td></tr>`).join('')}
      </table>
      <h2>${T.prospects}</h2>
      <table id="prospects"><tr><th>#</th><th>${T.name}</th><th>${T.category}</th><th>${T.status}</th><th class="num">${T.score}</th><th>${T.outlet}</th><th class="num">${T.distance}</th></tr>
        ${s.top_prospects.map((p, i) => `<tr data-id="${esc(p.id)}"><td>${i + 1}</td><td>${esc(p.name)}</td><td>${esc(catName[p.category] || p.category)}</td>
          <td>${esc(status(p.status))}</td><td class="num">${p.score.toFixed(2)}</td><td>${esc(p.nearest_outlet_id || '')}</td>
          <td class="num">${p.distance_m == null ? '' : Math.round(p.distance_m) + ' m'}</td></tr>`).join('')}
      </table>
      <h2>${T.communities}</h2>
      <table id="communities"><tr><th>${T.name}</th><th class="num">${T.households}</th><th class="num">${T.distance}</th></tr>
        ${s.communities_in_reach.map((c) => `<tr><td>${esc(c.name)}</td><td class="num">${c.households}</td><td class="num">${Math.round(c.distance_m)} m</td></tr>`).join('')}
      </table>
      <h2>${T.competitors} / ${T.ours}</h2>
      <table id="outlets"><tr><th>${T.name}</th><th>${T.bank}</th><th class="num">${T.distance}</th></tr>
        ${s.competitor_outlets.concat(s.our_outlets).map((o) => `<tr><td>${esc(o.name)}</td><td>${esc(o.bank || (en ? 'ours' : '我行'))}</td><td class="num">${Math.round(o.distance_m)} m</td></tr>`).join('')}
      </table>`;
    document.getElementById('print').addEventListener('click', () => window.print());
    document.body.dataset.ready = 'true';
  }
  run().catch((e) => { main.textContent = String(e.message || e); document.body.dataset.ready = 'error'; });
})();
