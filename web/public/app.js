// ecomap map app: MapLibre GL JS over ecomap's GeoJSON API. Chinese first, English on request.
(function () {
  'use strict';

  const I18N = {
    zh: {
      title: '生态圈地图', search: '搜索网点或商户', ours: '我行网点', competitors: '他行网点',
      merchants: '商户', communities: '小区', areas: '商圈 / 美食街', households: '户数',
      category: '业态', status: '状态', address: '地址', bank: '银行', kind: '类型',
      rating: '评分', avg_spend: '人均消费', footfall: '日客流', ecny: '数字人民币',
      yes: '是', no: '否', close: '关闭', nearby: '周边商户', lang: 'EN', population: '人口',
    },
    en: {
      title: 'Ecosystem map', search: 'Search outlets or merchants', ours: 'Our outlets',
      competitors: 'Competitor outlets', merchants: 'Merchants', communities: 'Communities',
      areas: 'Districts / food streets', households: 'Households', category: 'Category',
      status: 'Status', address: 'Address', bank: 'Bank', kind: 'Type', rating: 'Rating',
      avg_spend: 'Avg. spend', footfall: 'Daily footfall', ecny: 'e-CNY', yes: 'yes', no: 'no',
      close: 'Close', nearby: 'Nearby merchants', lang: '中文', population: 'Population',
    },
  };
  const STATUS = {
    prospect: ['#9e9e9e', '未拓展', 'Prospect'], visited: ['#42a5f5', '已拜访', 'Visited'],
    interested: ['#ffa726', '有意向', 'Interested'], signed: ['#43a047', '已签约', 'Signed'],
    active: ['#1b5e20', '动销', 'Active'], rejected: ['#e53935', '拒绝', 'Rejected'],
    churned: ['#6d4c41', '流失', 'Churned'],
  };
  let lang = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh';
  const t = (k) => I18N[lang][k] || k;

  // The base map is optional: ecomap's layers stand on a plain background offline.
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } }],
  };
  const map = new maplibregl.Map({ container: 'map', style, center: [103.761, 29.569], zoom: 14 });
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }));
  window.ecomapMap = map;

  const loaded = { outlets: null, merchants: null };

  async function getJson(url) {
    const r = await fetch(url);
    const body = await r.json();
    if (!r.ok) throw new Error(body.message || r.statusText);
    return body;
  }

  function statusColor() {
    const expr = ['match', ['get', 'status']];
    for (const [k, v] of Object.entries(STATUS)) expr.push(k, v[0]);
    expr.push('#9e9e9e');
    return expr;
  }

  async function loadLayers() {
    const [outlets, merchants, communities, areas] = await Promise.all([
      getJson('/api/outlets'),
      getJson('/api/merchants?limit=2000'),
      getJson('/api/communities?limit=2000'),
      getJson('/api/areas'),
    ]);
    loaded.outlets = outlets;
    loaded.merchants = merchants;
    map.addSource('communities', { type: 'geojson', data: communities });
    map.addSource('areas', { type: 'geojson', data: areas });
    map.addSource('merchants', { type: 'geojson', data: merchants });
    map.addSource('outlets', { type: 'geojson', data: outlets });
    map.addLayer({ id: 'communities', type: 'fill', source: 'communities', paint: {
      'fill-color': ['interpolate', ['linear'], ['get', 'households'], 300, '#dbe9f6', 3000, '#2171b5'],
      'fill-opacity': 0.6, 'fill-outline-color': '#08519c' } });
    map.addLayer({ id: 'areas', type: 'line', source: 'areas', paint: {
      'line-color': '#d81b60', 'line-width': 3, 'line-dasharray': [2, 1] } });
    map.addLayer({ id: 'merchants', type: 'circle', source: 'merchants', paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2, 17, 6],
      'circle-color': statusColor(), 'circle-stroke-color': '#fff', 'circle-stroke-width': 0.5 } });
    map.addLayer({ id: 'outlets-competitors', type: 'circle', source: 'outlets',
      filter: ['==', ['get', 'is_ours'], false], paint: {
        'circle-radius': 8, 'circle-color': '#757575', 'circle-stroke-color': '#000', 'circle-stroke-width': 2 } });
    map.addLayer({ id: 'outlets-ours', type: 'circle', source: 'outlets',
      filter: ['==', ['get', 'is_ours'], true], paint: {
        'circle-radius': 10, 'circle-color': '#c62828', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
    renderLegend();
    for (const id of ['merchants', 'outlets-ours', 'outlets-competitors', 'communities', 'areas']) {
      map.on('click', id, (e) => showFeature(id, e.features[0]));
      map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
    }
    document.body.dataset.ready = 'true';
  }

  function renderLegend() {
    const el = document.getElementById('legend');
    const rows = [
      ['outlets-ours', t('ours'), '#c62828', false],
      ['outlets-competitors', t('competitors'), '#757575', false],
      ['merchants', t('merchants'), '#43a047', false],
      ['communities', t('communities'), '#6baed6', true],
      ['areas', t('areas'), '#d81b60', true],
    ];
    el.innerHTML = rows.map(([id, label, color, sq]) => {
      const vis = map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
      return `<label><input type="checkbox" data-layer="${id}" ${vis ? 'checked' : ''}>` +
        `<span class="sw${sq ? ' sq' : ''}" style="background:${color}"></span>${label}</label>`;
    }).join('') + '<hr>' + Object.entries(STATUS).map(([, v]) =>
      `<div><span class="sw" style="background:${v[0]}"></span> ${lang === 'zh' ? v[1] : v[2]}</div>`).join('');
    el.querySelectorAll('input[data-layer]').forEach((cb) => cb.addEventListener('change', () => {
      map.setLayoutProperty(cb.dataset.layer, 'visibility', cb.checked ? 'visible' : 'none');
    }));
  }

  function esc(s) {
    return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  async function showFeature(layer, f) {
    const p = f.properties;
    const rows = [];
    if (layer === 'merchants') {
      rows.push([t('category'), lang === 'zh' ? p.category_zh : p.category_en],
        [t('status'), lang === 'zh' ? p.status_zh : (STATUS[p.status] || [])[2]],
        [t('address'), p.address], [t('rating'), p.rating], [t('avg_spend'), p.avg_spend_cny],
        [t('footfall'), p.footfall_daily], [t('ecny'), p.accepts_ecny ? t('yes') : t('no')]);
    } else if (layer.startsWith('outlets')) {
      rows.push([t('bank'), p.competitor_bank || t('ours')], [t('kind'), p.kind_zh], [t('address'), p.address]);
    } else if (layer === 'communities') {
      rows.push([t('households'), p.households], [t('population'), p.population]);
    }
    const panel = document.getElementById('panel');
    panel.hidden = false;
    panel.innerHTML = `<button class="close" type="button">${t('close')}</button><h2>${esc(p.name)}</h2>` +
      `<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
    panel.querySelector('.close').addEventListener('click', () => { panel.hidden = true; });
    if (layer === 'outlets-ours' || layer === 'outlets-competitors') {
      const near = await getJson(`/api/outlets/${encodeURIComponent(p.id)}/nearby?radius_m=500&limit=50`);
      panel.insertAdjacentHTML('beforeend', `<h2>${t('nearby')} (500 m): ${near.total}</h2><ol>` +
        near.features.map((m) => `<li>${esc(m.properties.name)} · ${m.properties.distance_m} m</li>`).join('') + '</ol>');
    }
  }

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.getElementById('lang').textContent = t('lang');
    document.title = 'ecomap ' + t('title');
    if (map.getLayer('merchants')) renderLegend();
  }
  document.getElementById('lang').addEventListener('click', () => { lang = lang === 'zh' ? 'en' : 'zh'; applyLang(); });
  document.getElementById('search').addEventListener('change', async (e) => {
    const q = e.target.value.trim();
    if (!q) return;
    for (const src of ['outlets', 'merchants']) {
      const data = loaded[src];
      const hit = data && data.features && data.features.find((f) => f.properties.name.includes(q));
      if (hit) {
        map.flyTo({ center: hit.geometry.coordinates, zoom: 17 });
        showFeature(src === 'outlets' ? (hit.properties.is_ours ? 'outlets-ours' : 'outlets-competitors') : 'merchants', hit);
        return;
      }
    }
  });
  applyLang();
  map.on('load', () => loadLayers().catch((err) => {
    document.getElementById('legend').textContent = String(err.message || err);
  }));
})();
