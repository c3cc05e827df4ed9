//! A campaign plan as the team circulates it: JSON (with its map), GeoJSON, CSV (one part at a
//! time, UTF-8 with a BOM so that Excel keeps the Chinese) and a printable page.

use std::fmt::Write as _;

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::Params;
use super::printable::esc;
use super::Shared;
use crate::campaign::estimate::n0;
use crate::campaign::plan::CampaignPlan;
use crate::campaign::spec::CampaignSpec;
use crate::geo::crs::{from_wgs84, Crs};
use crate::storage::campaigns::CampaignVersion;

fn pos(crs: Crs, lon: f64, lat: f64) -> Value {
    let (x, y) = from_wgs84(crs, lon, lat);
    json!([x, y])
}

/// The plan's map: the target's outline, the merchants (recommended ones with their order),
/// the communities (seeds marked) and a line per cross-marketing pair.
pub fn map(plan: &CampaignPlan, crs: Crs) -> Value {
    let mut features = Vec::new();
    let rings: Vec<Vec<Value>> = plan
        .target
        .outline
        .iter()
        .map(|r| r.iter().map(|p| pos(crs, p[0], p[1])).collect())
        .collect();
    features.push(json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": rings},
        "properties": {"kind": "target", "target_kind": plan.target.kind, "name": plan.target.name},
    }));
    for m in &plan.b_side.list {
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": pos(crs, m.lon, m.lat)},
            "properties": {"kind": "merchant", "id": m.id, "name": m.name, "category": m.category,
                "status": m.status, "priority": m.priority, "recommended": m.recommended},
        }));
    }
    for c in &plan.c_side.communities {
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": pos(crs, c.lon, c.lat)},
            "properties": {"kind": "community", "id": c.id, "name": c.name,
                "households": c.households, "penetration": c.penetration, "seed": c.seed,
                "covered_now": c.covered_now, "covered_after": c.covered_after},
        }));
    }
    for (i, c) in plan.cross.iter().enumerate() {
        let x = &c.suggestion;
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [
                pos(crs, c.a_lonlat[0], c.a_lonlat[1]), pos(crs, c.b_lonlat[0], c.b_lonlat[1])]},
            "properties": {"kind": "cross", "rank": i + 1, "a_id": x.a_id, "b_id": x.b_id,
                "pair": x.pair_code, "both_signed": x.both_signed, "offer_zh": x.offer_zh},
        }));
    }
    json!({"type": "FeatureCollection", "features": features})
}

fn campaign_json(v: Option<&CampaignVersion>) -> Value {
    match v {
        None => Value::Null,
        Some(v) => json!({"id": v.campaign_id, "version": v.version, "name": v.name,
            "owner_org_id": v.owner_org_id, "changed_by": v.changed_by, "changed_at": v.changed_at}),
    }
}

/// Answers in the format asked for (`format=json|geojson|csv|html`, `part=` for CSV).
pub fn respond(
    app: &Shared,
    p: &Params,
    v: Option<&CampaignVersion>,
    spec: &CampaignSpec,
    plan: &CampaignPlan,
) -> Result<HttpResponse, ApiError> {
    let crs = p.crs()?;
    let stem = v.map_or_else(|| "campaign-preview".to_string(), |v| v.campaign_id.clone());
    match p.str("format") {
        None | Some("json") => {
            let mut body =
                serde_json::to_value(plan).map_err(|e| ApiError::Internal(Box::new(e)))?;
            body["campaign"] = campaign_json(v);
            body["spec"] =
                serde_json::to_value(spec).map_err(|e| ApiError::Internal(Box::new(e)))?;
            body["map"] = map(plan, crs);
            body["crs"] = json!(crs.code());
            Ok(HttpResponse::Ok().json(body))
        }
        Some("geojson") => Ok(HttpResponse::Ok()
            .content_type("application/geo+json")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{stem}.geojson\""),
            ))
            .json(map(plan, crs))),
        Some("csv") => {
            let part = p.str("part").unwrap_or("merchants");
            let bytes = csv_part(app, plan, part)?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"{stem}-{part}.csv\""),
                ))
                .body(bytes))
        }
        Some("html") => Ok(super::printable::page(html(app, v, spec, plan))),
        Some(f) => Err(ApiError::bad(
            "format",
            format!("{f:?}: use json, geojson, csv or html"),
        )),
    }
}

fn cat_zh(app: &Shared, code: &str) -> String {
    app.categories
        .get(code)
        .map_or_else(|| code.to_string(), |c| c.zh.clone())
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_default()
}

/// One part of the plan as CSV: `merchants`, `communities`, `calendar`, `estimates`, `cross`.
fn csv_part(app: &Shared, plan: &CampaignPlan, part: &str) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let err = |e: csv::Error| ApiError::Internal(Box::new(e));
    let cell = |s: &str| crate::export::safe_cell(s);
    match part {
        "merchants" => {
            w.write_record([
                "商户编号 id",
                "商户 name",
                "业态 category",
                "状态 status",
                "优先级 priority",
                "建议签约顺序 recommended",
                "最近网点 nearest_outlet",
                "距离米 distance_m",
            ])
            .map_err(err)?;
            for m in &plan.b_side.list {
                w.write_record([
                    m.id.clone(),
                    cell(&m.name),
                    cat_zh(app, &m.category),
                    m.status.to_string(),
                    opt(m.priority, 3),
                    m.recommended.map(|o| o.to_string()).unwrap_or_default(),
                    m.nearest_outlet_id.clone().unwrap_or_default(),
                    opt(m.distance_m, 0),
                ])
                .map_err(err)?;
            }
        }
        "communities" => {
            w.write_record([
                "小区编号 id",
                "小区 name",
                "户数 households",
                "居民 residents",
                "我行客户 customers",
                "渗透率 penetration",
                "可触达 reachable",
                "距离米 distance_m",
                "现已覆盖 covered_now",
                "补齐后覆盖 covered_after",
                "种子小区 seed",
            ])
            .map_err(err)?;
            for c in &plan.c_side.communities {
                w.write_record([
                    c.id.clone(),
                    cell(&c.name),
                    c.households.to_string(),
                    format!("{:.0}", c.residents),
                    c.bank_customers.to_string(),
                    format!("{:.4}", c.penetration),
                    format!("{:.0}", c.reachable),
                    format!("{:.0}", c.distance_m),
                    yes(c.covered_now).into(),
                    yes(c.covered_after).into(),
                    yes(c.seed).into(),
                ])
                .map_err(err)?;
            }
        }
        "calendar" => {
            w.write_record([
                "月份 month",
                "活动类型 activity",
                "主题 theme",
                "节日 anchor",
                "节日日期 anchor_date",
                "会员日 member_days",
                "说明 note",
            ])
            .map_err(err)?;
            for m in &plan.calendar {
                w.write_record([
                    m.month.format("%Y-%m").to_string(),
                    m.activity.zh().to_string(),
                    cell(&m.theme_zh),
                    m.anchor.clone().unwrap_or_default(),
                    m.anchor_date.map(|d| d.to_string()).unwrap_or_default(),
                    m.member_days
                        .iter()
                        .map(|d| d.format("%m-%d").to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    cell(&m.note_zh),
                ])
                .map_err(err)?;
            }
        }
        "estimates" => {
            w.write_record([
                "情景 case",
                "指标 figure",
                "数值 value",
                "单位 unit",
                "算法 how",
            ])
            .map_err(err)?;
            for e in &plan.estimates {
                for f in &e.figures {
                    w.write_record([
                        e.case.to_string(),
                        f.zh.to_string(),
                        format!("{:.4}", f.value),
                        f.unit.to_string(),
                        f.how.clone(),
                    ])
                    .map_err(err)?;
                }
            }
        }
        "cross" => {
            w.write_record([
                "序号 rank",
                "商户A",
                "业态A",
                "商户B",
                "业态B",
                "步行米 walking_m",
                "双方已签约 both_signed",
                "联合优惠 offer",
                "理由 reason",
            ])
            .map_err(err)?;
            for (i, x) in plan.cross.iter().map(|c| &c.suggestion).enumerate() {
                w.write_record([
                    (i + 1).to_string(),
                    cell(&x.a_name),
                    cat_zh(app, &x.a_category),
                    cell(&x.b_name),
                    cat_zh(app, &x.b_category),
                    format!("{:.0}", x.walking_m),
                    yes(x.both_signed).into(),
                    cell(&x.offer_zh),
                    cell(&x.reason_zh),
                ])
                .map_err(err)?;
            }
        }
        other => {
            return Err(ApiError::bad(
                "part",
                format!("{other:?}: use merchants, communities, calendar, estimates or cross"),
            ))
        }
    }
    w.into_inner()
        .map_err(|e| ApiError::Internal(e.to_string().into()))
}

fn yes(b: bool) -> &'static str {
    if b {
        "是"
    } else {
        ""
    }
}

const CSS: &str = "body{font-family:\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",\
sans-serif;margin:16px;color:#222}h1{font-size:20px}h2{font-size:16px;margin:20px 0 6px;\
border-bottom:2px solid #c33;padding-bottom:2px}.meta{color:#555;font-size:12px}\
table{border-collapse:collapse;width:100%;font-size:12px;margin:4px 0}th,td{border:1px solid #999;\
padding:3px 4px;text-align:left;vertical-align:top}td.n{text-align:right}.how{color:#555;\
font-size:11px}.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{border:1px solid #ccc;padding:6px 10px}\
.kpi b{display:block;font-size:18px}section{break-inside:avoid}@media print{body{margin:0}}";

/// The printable campaign plan (策划方案).
fn html(
    app: &Shared,
    v: Option<&CampaignVersion>,
    spec: &CampaignSpec,
    plan: &CampaignPlan,
) -> String {
    let mut h = String::new();
    let types: Vec<&str> = spec.types.iter().map(|t| t.zh()).collect();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{name} 活动策划方案</title><style>{CSS}</style>\
         </head><body><h1>{name} · 活动策划方案</h1><p class=\"meta\">{id}目标区域：{target}（{kind}）· 周期 {start} 至 {end}（{months} 个月）\
         · 类型：{types} · 所属机构 {owner}{ver}</p>",
        name = esc(&spec.name),
        id = v.map(|v| format!("编号 {} · ", esc(&v.campaign_id))).unwrap_or_default(),
        target = esc(&plan.target.name),
        kind = match plan.target.kind {
            "area" => "商圈",
            "outlet" => "网点生活圈",
            _ => "手绘区域",
        },
        start = spec.start,
        end = spec.end,
        months = spec.months(),
        types = types.join("、"),
        owner = esc(spec.owner_org_id.as_deref().unwrap_or("-")),
        ver = v
            .map(|v| format!(" · 第 {} 版，{} 修改于 {}", v.version, esc(&v.changed_by), esc(&v.changed_at)))
            .unwrap_or_else(|| " · 预览（未保存）".into()),
    );
    let base = plan.estimates.iter().find(|e| e.case == "base");
    let b = &plan.b_side;
    let c = &plan.c_side;
    let _ = write!(
        h,
        "<div class=\"kpis\"><div class=\"kpi\">商户<b>{}</b>已签约 {}</div><div class=\"kpi\">建议签约<b>{}</b>家</div>\
         <div class=\"kpi\">触达小区<b>{}</b>{} 户</div><div class=\"kpi\">覆盖户数<b>{} → {}</b></div>{}</div>",
        b.merchants,
        b.signed,
        b.cover.picks.len(),
        c.communities.len(),
        n0(c.households as f64),
        n0(c.covered_households_now as f64),
        n0(c.covered_households_after as f64),
        base.map(|e| format!(
            "<div class=\"kpi\">新增用户（基准）<b>{}</b></div><div class=\"kpi\">ROI（基准）<b>{}</b></div>",
            n0(e.new_users),
            e.roi.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "-".into())
        ))
        .unwrap_or_default(),
    );

    // B side.
    h.push_str("<section><h2>一、B端：商户拓展</h2><table><thead><tr><th>业态</th><th>商户</th><th>已签约</th>\
                <th>可拓展</th><th>建议签约</th></tr></thead><tbody>");
    for r in &b.by_category {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&cat_zh(app, &r.code)),
            r.merchants,
            r.signed,
            r.prospects,
            r.recommended
        );
    }
    let cover = &b.cover;
    let _ = write!(
        h,
        "</tbody></table><p class=\"meta\">建议签约 {} 家：每个触达小区 10 分钟步行圈内每个必备业态达到要求的签约商户数\
         （{}）。{}需求 {} 项，现已满足 {} 项，签约后满足 {} 项{}。</p>",
        cover.picks.len(),
        cover
            .by_category
            .iter()
            .map(|k| format!("{} {} 家", esc(&cat_zh(app, &k.category)), k.k))
            .collect::<Vec<_>>()
            .join("、"),
        if cover.optimal {
            "已证明为最少家数。".to_string()
        } else {
            format!("最少不低于 {} 家（贪心算法保证不超过最优的 {:.2} 倍）。", cover.lower_bound, cover.guarantee)
        },
        cover.demands_total,
        cover.demands_met_before,
        cover.demands_met_after,
        if cover.uncoverable.is_empty() {
            String::new()
        } else {
            format!("；{} 项附近无可签商户，需引入新商户", cover.uncoverable.len())
        }
    );
    if !cover.picks.is_empty() {
        h.push_str("<table id=\"picks\"><thead><tr><th>顺序</th><th>商户</th><th>业态</th><th>补齐小区需求</th></tr></thead><tbody>");
        for p in &cover.picks {
            let _ = write!(
                h,
                "<tr data-merchant-id=\"{}\"><td class=\"n\">{}</td><td>{}<br><small>{}</small></td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&p.merchant_id),
                p.order,
                esc(&p.name),
                esc(&p.merchant_id),
                esc(&cat_zh(app, &p.category)),
                p.covers.len()
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");

    // C side.
    let _ = write!(
        h,
        "<section><h2>二、C端：小区与居民</h2><p class=\"meta\">触达 {} 个小区、{} 户、约 {} 名居民，其中我行客户 {}（渗透率 {:.1}%），\
         可触达 {} 人。种子小区：{}（{}）。</p><table><thead><tr><th>小区</th><th>户数</th><th>居民</th><th>我行客户</th>\
         <th>渗透率</th><th>距离</th><th>现覆盖</th><th>补齐后</th><th>种子</th></tr></thead><tbody>",
        c.communities.len(),
        n0(c.households as f64),
        n0(c.residents),
        n0(c.existing_users),
        c.penetration * 100.0,
        n0(c.reachable),
        c.seeds.iter().map(|s| esc(s)).collect::<Vec<_>>().join("、"),
        if c.seeds_chosen { "团队指定" } else { c.seed_rule_zh },
    );
    for k in &c.communities {
        let _ = write!(
            h,
            "<tr data-community-id=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.1}%</td><td class=\"n\">{} m</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&k.id),
            esc(&k.name),
            k.households,
            n0(k.residents),
            if k.residents_estimated { "*" } else { "" },
            k.bank_customers,
            k.penetration * 100.0,
            n0(k.distance_m),
            yes(k.covered_now),
            yes(k.covered_after),
            if k.seed { "★" } else { "" },
        );
    }
    h.push_str("</tbody></table><p class=\"meta\">* 按户数 × 户均人口估算</p></section>");

    // Calendar.
    h.push_str("<section><h2>三、月度活动日历</h2><table id=\"calendar\"><thead><tr><th>月份</th><th>类型</th><th>主题</th>\
                <th>节日</th><th>会员日</th><th>说明</th></tr></thead><tbody>");
    for m in &plan.calendar {
        let _ = write!(
            h,
            "<tr data-month=\"{}\"><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td class=\"how\">{}</td></tr>",
            m.month.format("%Y-%m"),
            m.month.format("%Y年%m月"),
            m.activity.zh(),
            esc(&m.theme_zh),
            if m.edited { "（已调整）" } else { "" },
            m.anchor_date.map(|d| d.format("%m-%d").to_string()).unwrap_or_default(),
            m.member_days
                .iter()
                .map(|d| d.format("%d").to_string())
                .collect::<Vec<_>>()
                .join(" "),
            esc(&m.note_zh),
        );
    }
    h.push_str("</tbody></table></section>");

    // Estimates.
    h.push_str("<section><h2>四、效果预估</h2><table id=\"estimates\"><thead><tr><th>指标</th><th>低</th><th>基准</th><th>高</th><th>基准算法</th></tr></thead><tbody>");
    if let Some(base) = base {
        for f in &base.figures {
            let val = |case: &str| {
                plan.estimates
                    .iter()
                    .find(|e| e.case == case)
                    .and_then(|e| e.figures.iter().find(|g| g.key == f.key))
                    .map(|g| {
                        if g.key == "roi" {
                            format!("{:.0}%", g.value * 100.0)
                        } else if g.key == "k" {
                            format!("{:.2}", g.value)
                        } else {
                            n0(g.value)
                        }
                    })
                    .unwrap_or_default()
            };
            let _ = write!(
                h,
                "<tr data-key=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"how\">{}</td></tr>",
                f.key,
                f.zh,
                val("low"),
                val("base"),
                val("high"),
                esc(&f.how)
            );
        }
        h.push_str("</tbody></table><table><thead><tr><th>裂变代数</th>");
        for g in &base.generations {
            let _ = write!(h, "<th>{}</th>", g.n);
        }
        h.push_str("</tr></thead><tbody><tr><td>新增（基准）</td>");
        for g in &base.generations {
            let _ = write!(h, "<td class=\"n\">{}</td>", n0(g.new_users));
        }
        h.push_str("</tr></tbody></table>");
    } else {
        h.push_str("</tbody></table>");
    }
    h.push_str("<p class=\"meta\">假设：");
    let a = &plan.assumptions;
    let _ = write!(
        h,
        "参与率 {:.1}%，人均邀请 {}，转化率 {:.1}%，种子用户 {}，月均交易 {} 笔，客单价 {} 元，每笔补贴 {} 元，每人补贴上限 {} 元，\
         总预算 {}，用户年价值 {} 元，费率 {:.2}%，固定成本 {} 元。低/高情景按 data/campaign.toml 的系数调整参与率、K 与交易频次。</p></section>",
        a.participation * 100.0,
        a.invites_per_user,
        a.conversion * 100.0,
        n0(plan.population.seeds),
        a.transactions_per_user_month,
        a.avg_ticket_cny,
        a.subsidy_per_txn_cny,
        a.subsidy_cap_per_user_cny,
        plan.budget
            .subsidy_budget_cny
            .map(|b| format!("{} 元", n0(b)))
            .unwrap_or_else(|| "不设".into()),
        a.value_per_user_year_cny,
        a.fee_rate * 100.0,
        n0(a.fixed_cost_cny),
    );

    // Cross-marketing.
    h.push_str("<section><h2>五、异业联盟（交叉营销）</h2>");
    if plan.cross.is_empty() {
        h.push_str("<p>步行范围内没有互补业态的商户组合。</p>");
    } else {
        h.push_str("<table id=\"cross\"><thead><tr><th>#</th><th>商户 A</th><th>商户 B</th><th>步行</th><th>联合优惠</th><th>理由</th></tr></thead><tbody>");
        for (i, x) in plan.cross.iter().map(|c| &c.suggestion).enumerate() {
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}（{}）</td><td>{}（{}）</td><td class=\"n\">{} m</td><td>{}{}</td><td class=\"how\">{}</td></tr>",
                i + 1,
                esc(&x.a_name),
                esc(&cat_zh(app, &x.a_category)),
                esc(&x.b_name),
                esc(&cat_zh(app, &x.b_category)),
                n0(x.walking_m),
                esc(&x.offer_zh),
                if x.both_signed { "（双方已签约，可立即上线）" } else { "" },
                esc(&x.reason_zh),
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section><p class=\"meta\">ecomap 生态圈地图 · 距离按直线 × 绕行系数估算 · 所有预估均为规划假设，请以实际活动数据校准</p></body></html>");
    h
}
