//! A campaign's estimates: reach, the referral effect generation by generation, transactions,
//! subsidy cost and ROI, in a low, a base and a high case — each figure with the formula and
//! the numbers that produced it, so that a manager can defend it.
//!
//! The model (DOMAIN.md, "Referral (K-factor)"):
//!
//! - **Reachable residents** `P = residents in reach − existing app users` (nobody joins twice).
//! - **Direct joiners** `D = households in reach × participation` (a household joins as one
//!   app user).
//! - **Referral**: `K = invites per user × conversion`; from `U₀` seeds, generation `n` adds
//!   `Uₙ = Uₙ₋₁ · K` (U₀ the seeds themselves), stopped once the reachable residents are used up;
//!   for `K < 1` and no cap the total tends to `U₀ / (1 − K)`, reported beside the sum.
//! - **New users** `N = min(P, D + Σ generations)`.
//! - **Transactions** `T = N × transactions per user per month × months`; **GMV** `T × ticket`.
//! - **Subsidy** `S = min(T × subsidy per transaction, N × cap per user, budget)`.
//! - **Value** `V = N × value per user per year × months / 12 + GMV × fee rate`.
//! - **ROI** `(V − S − fixed) / (S + fixed)`.
//!
//! The low and high cases multiply participation, K and transactions per user by the factors of
//! `data/campaign.toml`; everything else stays. Defaults and their sources are in that file.

use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

/// The assumptions a team can move (sliders), with defaults from `data/campaign.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assumptions {
    pub residents_per_household: f64,
    pub participation: f64,
    pub invites_per_user: f64,
    pub conversion: f64,
    pub generations: u32,
    pub seed_share_of_customers: f64,
    pub min_seed_users: f64,
    pub transactions_per_user_month: f64,
    pub avg_ticket_cny: f64,
    pub subsidy_per_txn_cny: f64,
    pub subsidy_cap_per_user_cny: f64,
    pub value_per_user_year_cny: f64,
    pub fee_rate: f64,
    pub fixed_cost_cny: f64,
}

/// Factors of a low or high case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFactors {
    pub participation: f64,
    pub k: f64,
    pub activity: f64,
}

impl CaseFactors {
    pub const BASE: CaseFactors = CaseFactors {
        participation: 1.0,
        k: 1.0,
        activity: 1.0,
    };
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsFile {
    #[serde(flatten)]
    assumptions: AssumptionsFile,
    low: CaseFactors,
    high: CaseFactors,
}

// `flatten` and `deny_unknown_fields` do not mix: the file's assumptions are read into their own
// struct, the same fields as `Assumptions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct AssumptionsFile {
    residents_per_household: f64,
    participation: f64,
    invites_per_user: f64,
    conversion: f64,
    generations: u32,
    seed_share_of_customers: f64,
    min_seed_users: f64,
    transactions_per_user_month: f64,
    avg_ticket_cny: f64,
    subsidy_per_txn_cny: f64,
    subsidy_cap_per_user_cny: f64,
    value_per_user_year_cny: f64,
    fee_rate: f64,
    fixed_cost_cny: f64,
}

/// The defaults: assumptions and the low / high factors.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    pub assumptions: Assumptions,
    pub low: CaseFactors,
    pub high: CaseFactors,
}

const BUILTIN: &str = include_str!("../../data/campaign.toml");

impl Defaults {
    /// The compiled-in `data/campaign.toml`.
    pub fn builtin() -> Result<Self, FieldError> {
        Self::from_toml(BUILTIN)
    }

    pub fn from_toml(text: &str) -> Result<Self, FieldError> {
        let f: DefaultsFile =
            toml::from_str(text).map_err(|e| FieldError::new("campaign.toml", e.to_string()))?;
        let a = f.assumptions;
        let d = Self {
            assumptions: Assumptions {
                residents_per_household: a.residents_per_household,
                participation: a.participation,
                invites_per_user: a.invites_per_user,
                conversion: a.conversion,
                generations: a.generations,
                seed_share_of_customers: a.seed_share_of_customers,
                min_seed_users: a.min_seed_users,
                transactions_per_user_month: a.transactions_per_user_month,
                avg_ticket_cny: a.avg_ticket_cny,
                subsidy_per_txn_cny: a.subsidy_per_txn_cny,
                subsidy_cap_per_user_cny: a.subsidy_cap_per_user_cny,
                value_per_user_year_cny: a.value_per_user_year_cny,
                fee_rate: a.fee_rate,
                fixed_cost_cny: a.fixed_cost_cny,
            },
            low: f.low,
            high: f.high,
        };
        d.assumptions.validate("")?;
        for (name, c) in [("low", d.low), ("high", d.high)] {
            c.validate(name)?;
        }
        Ok(d)
    }
}

fn in_range(field: String, v: f64, lo: f64, hi: f64) -> Result<(), FieldError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(FieldError::new(
            field,
            format!("must be {lo}..={hi}, got {v}"),
        ));
    }
    Ok(())
}

impl CaseFactors {
    fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        in_range(
            format!("{prefix}.participation"),
            self.participation,
            0.0,
            10.0,
        )?;
        in_range(format!("{prefix}.k"), self.k, 0.0, 10.0)?;
        in_range(format!("{prefix}.activity"), self.activity, 0.0, 10.0)
    }
}

impl Assumptions {
    /// Checks every value's range; the error names the field (`prefix` + name).
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        let f = |n: &str| format!("{prefix}{n}");
        in_range(
            f("residents_per_household"),
            self.residents_per_household,
            0.5,
            10.0,
        )?;
        in_range(f("participation"), self.participation, 0.0, 1.0)?;
        in_range(f("invites_per_user"), self.invites_per_user, 0.0, 100.0)?;
        in_range(f("conversion"), self.conversion, 0.0, 1.0)?;
        in_range(f("generations"), f64::from(self.generations), 0.0, 50.0)?;
        in_range(
            f("seed_share_of_customers"),
            self.seed_share_of_customers,
            0.0,
            1.0,
        )?;
        in_range(f("min_seed_users"), self.min_seed_users, 0.0, 1e6)?;
        in_range(
            f("transactions_per_user_month"),
            self.transactions_per_user_month,
            0.0,
            100.0,
        )?;
        in_range(f("avg_ticket_cny"), self.avg_ticket_cny, 0.0, 1e5)?;
        in_range(f("subsidy_per_txn_cny"), self.subsidy_per_txn_cny, 0.0, 1e4)?;
        in_range(
            f("subsidy_cap_per_user_cny"),
            self.subsidy_cap_per_user_cny,
            0.0,
            1e5,
        )?;
        in_range(
            f("value_per_user_year_cny"),
            self.value_per_user_year_cny,
            0.0,
            1e5,
        )?;
        in_range(f("fee_rate"), self.fee_rate, 0.0, 0.1)?;
        in_range(f("fixed_cost_cny"), self.fixed_cost_cny, 0.0, 1e9)
    }

    /// K = invites per user × conversion.
    pub fn k(&self) -> f64 {
        self.invites_per_user * self.conversion
    }
}

/// Who a campaign can reach (the C-side plan's totals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Population {
    pub households: f64,
    /// Residents: the communities' population where known, households × residents per
    /// household otherwise (the caller adds them up).
    pub residents: f64,
    /// Residents already using the app (the communities' bank customers).
    pub existing_users: f64,
    /// Seed users: given by the team, or derived by [`seed_users`].
    pub seeds: f64,
}

/// The default seed users: `max(min_seed_users, seed_share × customers in the seed communities)`.
pub fn seed_users(a: &Assumptions, customers_in_seed_communities: f64) -> f64 {
    (a.seed_share_of_customers * customers_in_seed_communities)
        .round()
        .max(a.min_seed_users)
}

/// The campaign's period and budget, as the estimate needs them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    pub months: u32,
    /// Total subsidy budget, CNY (`None`: no cap but the per-user one).
    pub subsidy_budget_cny: Option<f64>,
}

/// One generation of the referral drive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Generation {
    /// 0: the seeds.
    pub n: u32,
    pub new_users: f64,
    pub cumulative: f64,
}

/// One figure, with the formula and the numbers that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// The formula with the values filled in, e.g. `户数 12,000 × 参与率 8% = 960`.
    pub how: String,
    /// The same in English.
    pub how_en: String,
}

/// One case's estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub case: &'static str,
    pub factors: CaseFactors,
    pub k: f64,
    pub reachable: f64,
    pub direct_users: f64,
    pub generations: Vec<Generation>,
    pub referral_users: f64,
    /// `U₀ / (1 − K)` when K < 1 (`None` otherwise: the drive only stops at the cap).
    pub closed_form: Option<f64>,
    /// The reachable residents stopped the referral drive or the total.
    pub capped: bool,
    pub new_users: f64,
    pub transactions: f64,
    pub gmv_cny: f64,
    pub subsidy_cny: f64,
    /// Which cap bound the subsidy: `per_transaction`, `per_user` or `budget`.
    pub subsidy_bound: &'static str,
    pub cost_cny: f64,
    pub value_cny: f64,
    /// `None` when the cost is zero.
    pub roi: Option<f64>,
    pub figures: Vec<Figure>,
}

/// A whole number with thousands separators (`1,234,567`), as the working and the printable plan
/// write figures.
pub fn n0(v: f64) -> String {
    let r = v.round();
    let s = format!("{}", r.abs() as u64);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn pct(v: f64) -> String {
    let s = format!("{:.2}", v * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The working of a figure in Chinese and in English: two templates, one list of arguments.
macro_rules! how {
    ($zh:literal, $en:literal, $($arg:expr),* $(,)?) => {
        (format!($zh, $($arg),*), format!($en, $($arg),*))
    };
}

/// The estimate of one case; see the module documentation for the model.
pub fn estimate(
    case: &'static str,
    pop: &Population,
    a: &Assumptions,
    factors: CaseFactors,
    budget: &Budget,
) -> Estimate {
    let mut figures = Vec::new();
    let mut fig = |key, zh, en, value: f64, unit, (how, how_en): (String, String)| {
        figures.push(Figure {
            key,
            zh,
            en,
            value,
            unit,
            how,
            how_en,
        });
        value
    };
    let reachable = fig(
        "reachable",
        "可触达居民",
        "Reachable residents",
        (pop.residents - pop.existing_users).max(0.0),
        "人",
        how!(
            "居民 {} − 已是用户 {} = {}",
            "residents {} − already users {} = {}",
            n0(pop.residents),
            n0(pop.existing_users),
            n0((pop.residents - pop.existing_users).max(0.0))
        ),
    );
    let participation = (a.participation * factors.participation).clamp(0.0, 1.0);
    let direct = fig(
        "direct_users",
        "自然参与用户",
        "Direct joiners",
        (pop.households * participation).min(reachable),
        "人",
        (
            format!(
                "户数 {} × 参与率 {} = {}{}",
                n0(pop.households),
                pct(participation),
                n0(pop.households * participation),
                if pop.households * participation > reachable {
                    format!("，以可触达居民 {} 为上限", n0(reachable))
                } else {
                    String::new()
                }
            ),
            format!(
                "households {} × participation {} = {}{}",
                n0(pop.households),
                pct(participation),
                n0(pop.households * participation),
                if pop.households * participation > reachable {
                    format!(", capped at the reachable residents {}", n0(reachable))
                } else {
                    String::new()
                }
            ),
        ),
    );
    let k = a.k() * factors.k;
    fig(
        "k",
        "裂变系数 K",
        "K-factor",
        k,
        "",
        (
            format!(
                "人均邀请 {} × 转化率 {}{} = {}",
                num(a.invites_per_user),
                pct(a.conversion),
                if factors.k == 1.0 {
                    String::new()
                } else {
                    format!(" × 情景系数 {}", num(factors.k))
                },
                num(k)
            ),
            format!(
                "invites per user {} × conversion {}{} = {}",
                num(a.invites_per_user),
                pct(a.conversion),
                if factors.k == 1.0 {
                    String::new()
                } else {
                    format!(" × case factor {}", num(factors.k))
                },
                num(k)
            ),
        ),
    );
    // The referral drive: room left after the direct joiners.
    let room = (reachable - direct).max(0.0);
    let mut gens = Vec::new();
    let mut cumulative = 0.0;
    let mut capped = false;
    let mut u = pop.seeds.min(room);
    if pop.seeds > room {
        capped = true;
    }
    for n in 0..=a.generations {
        if n > 0 {
            u *= k;
        }
        if cumulative + u > room {
            u = room - cumulative;
            capped = true;
        }
        cumulative += u;
        gens.push(Generation {
            n,
            new_users: u,
            cumulative,
        });
        if u <= 0.0 {
            break;
        }
    }
    let closed_form = (k < 1.0).then(|| pop.seeds / (1.0 - k));
    let referral = fig(
        "referral_users",
        "裂变用户（含种子）",
        "Referral users (seeds included)",
        cumulative,
        "人",
        (
            format!(
                "种子 {} 人，每代 ×K={}，{} 代合计 {}{}{}",
                n0(pop.seeds),
                num(k),
                gens.len().saturating_sub(1),
                n0(cumulative),
                closed_form
                    .map(|c| format!("（K<1 时极限 U₀/(1−K) = {}）", n0(c)))
                    .unwrap_or_else(|| "（K≥1：只受可触达人数限制）".into()),
                if capped {
                    format!("，受可触达居民剩余 {} 限制", n0(room))
                } else {
                    String::new()
                }
            ),
            format!(
                "{} seeds, ×K={} a generation, {} generations: {}{}{}",
                n0(pop.seeds),
                num(k),
                gens.len().saturating_sub(1),
                n0(cumulative),
                closed_form
                    .map(|c| format!(" (limit for K<1: U₀/(1−K) = {})", n0(c)))
                    .unwrap_or_else(|| " (K≥1: only the reachable residents stop it)".into()),
                if capped {
                    format!(", stopped by the {} reachable residents left", n0(room))
                } else {
                    String::new()
                }
            ),
        ),
    );
    let new_users = fig(
        "new_users",
        "新增用户",
        "New users",
        (direct + referral).min(reachable),
        "人",
        how!(
            "自然参与 {} + 裂变 {} = {}",
            "direct {} + referral {} = {}",
            n0(direct),
            n0(referral),
            n0((direct + referral).min(reachable))
        ),
    );
    let per_month = a.transactions_per_user_month * factors.activity;
    let months = f64::from(budget.months);
    let transactions = fig(
        "transactions",
        "交易笔数",
        "Transactions",
        new_users * per_month * months,
        "笔",
        how!(
            "新增用户 {} × 月均 {} 笔 × {} 个月 = {}",
            "new users {} × {} a month × {} months = {}",
            n0(new_users),
            num(per_month),
            budget.months,
            n0(new_users * per_month * months)
        ),
    );
    let gmv = fig(
        "gmv",
        "交易额",
        "Transaction value",
        transactions * a.avg_ticket_cny,
        "元",
        how!(
            "{} 笔 × 客单价 {} 元 = {} 元",
            "{} transactions × ticket {} CNY = {} CNY",
            n0(transactions),
            num(a.avg_ticket_cny),
            n0(transactions * a.avg_ticket_cny)
        ),
    );
    let per_txn = transactions * a.subsidy_per_txn_cny;
    let per_user = new_users * a.subsidy_cap_per_user_cny;
    let mut subsidy = per_txn;
    let mut bound = "per_transaction";
    if per_user < subsidy {
        subsidy = per_user;
        bound = "per_user";
    }
    if let Some(b) = budget.subsidy_budget_cny {
        if b < subsidy {
            subsidy = b;
            bound = "budget";
        }
    }
    let subsidy = fig(
        "subsidy",
        "补贴成本",
        "Subsidy cost",
        subsidy,
        "元",
        (
            format!(
                "min(笔数 {} × 每笔 {} 元 = {}, 用户 {} × 每人上限 {} 元 = {}{}) = {} 元",
                n0(transactions),
                num(a.subsidy_per_txn_cny),
                n0(per_txn),
                n0(new_users),
                num(a.subsidy_cap_per_user_cny),
                n0(per_user),
                budget
                    .subsidy_budget_cny
                    .map(|b| format!(", 预算 {}", n0(b)))
                    .unwrap_or_default(),
                n0(subsidy)
            ),
            format!(
                "min(transactions {} × {} CNY = {}, users {} × cap {} CNY = {}{}) = {} CNY",
                n0(transactions),
                num(a.subsidy_per_txn_cny),
                n0(per_txn),
                n0(new_users),
                num(a.subsidy_cap_per_user_cny),
                n0(per_user),
                budget
                    .subsidy_budget_cny
                    .map(|b| format!(", budget {}", n0(b)))
                    .unwrap_or_default(),
                n0(subsidy)
            ),
        ),
    );
    let cost = fig(
        "cost",
        "总成本",
        "Total cost",
        subsidy + a.fixed_cost_cny,
        "元",
        how!(
            "补贴 {} + 固定成本 {} = {} 元",
            "subsidy {} + fixed cost {} = {} CNY",
            n0(subsidy),
            n0(a.fixed_cost_cny),
            n0(subsidy + a.fixed_cost_cny)
        ),
    );
    let user_value = new_users * a.value_per_user_year_cny * months / 12.0;
    let fee_value = gmv * a.fee_rate;
    let value = fig(
        "value",
        "收益",
        "Value to the bank",
        user_value + fee_value,
        "元",
        how!(
            "用户 {} × 年价值 {} 元 × {}/12 + 交易额 {} × 费率 {} = {} 元",
            "users {} × {} CNY a year × {}/12 + transaction value {} × fee rate {} = {} CNY",
            n0(new_users),
            num(a.value_per_user_year_cny),
            budget.months,
            n0(gmv),
            pct(a.fee_rate),
            n0(user_value + fee_value)
        ),
    );
    let roi = (cost > 0.0).then(|| (value - cost) / cost);
    if let Some(r) = roi {
        fig(
            "roi",
            "投资回报率 ROI",
            "ROI",
            r,
            "",
            how!(
                "(收益 {} − 成本 {}) / 成本 {} = {}",
                "(value {} − cost {}) / cost {} = {}",
                n0(value),
                n0(cost),
                n0(cost),
                pct(r)
            ),
        );
    }
    Estimate {
        case,
        factors,
        k,
        reachable,
        direct_users: direct,
        generations: gens,
        referral_users: referral,
        closed_form,
        capped,
        new_users,
        transactions,
        gmv_cny: gmv,
        subsidy_cny: subsidy,
        subsidy_bound: bound,
        cost_cny: cost,
        value_cny: value,
        roi,
        figures,
    }
}

/// Low, base and high cases.
pub fn cases(pop: &Population, a: &Assumptions, d: &Defaults, budget: &Budget) -> Vec<Estimate> {
    vec![
        estimate("low", pop, a, d.low, budget),
        estimate("base", pop, a, CaseFactors::BASE, budget),
        estimate("high", pop, a, d.high, budget),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults::builtin().unwrap()
    }

    fn pop(households: f64, seeds: f64) -> Population {
        Population {
            households,
            residents: households * 2.62,
            existing_users: 0.0,
            seeds,
        }
    }

    fn budget() -> Budget {
        Budget {
            months: 12,
            subsidy_budget_cny: None,
        }
    }

    #[test]
    fn the_builtin_defaults_are_valid() {
        let d = defaults();
        assert!((d.assumptions.k() - 0.45).abs() < 1e-12);
        assert!(d.low.k < 1.0 && d.high.k > 1.0);
    }

    #[test]
    fn referral_matches_the_closed_form_when_k_is_below_one() {
        let d = defaults();
        for (inv, conv) in [(3.0, 0.15), (2.0, 0.1), (4.0, 0.15), (1.0, 0.7)] {
            let a = Assumptions {
                invites_per_user: inv,
                conversion: conv,
                generations: 50,
                participation: 0.0,
                ..d.assumptions.clone()
            };
            // A population far larger than the drive: nothing caps it.
            let e = estimate("base", &pop(1e9, 500.0), &a, CaseFactors::BASE, &budget());
            let k = inv * conv;
            let closed = 500.0 / (1.0 - k);
            assert_eq!(e.closed_form, Some(closed));
            assert!(!e.capped);
            // Fifty generations: the remainder is K⁵¹ of the total, below 1e-6 for K ≤ 0.7.
            assert!(
                (e.referral_users - closed).abs() / closed < 1e-6,
                "K {k}: {} vs {closed}",
                e.referral_users
            );
            // Generation n adds U₀·Kⁿ.
            for g in &e.generations {
                let want = 500.0 * k.powi(g.n as i32);
                assert!((g.new_users - want).abs() < 1e-9 * want.max(1.0), "{g:?}");
            }
        }
    }

    #[test]
    fn referral_stays_within_the_reachable_population() {
        let d = defaults();
        for k_conv in [0.1, 0.3, 0.5, 1.0] {
            let a = Assumptions {
                invites_per_user: 4.0,
                conversion: k_conv,
                generations: 30,
                ..d.assumptions.clone()
            };
            // 1,000 households, 2,620 residents, 200 already users.
            let p = Population {
                households: 1000.0,
                residents: 2620.0,
                existing_users: 200.0,
                seeds: 300.0,
            };
            let e = estimate("base", &p, &a, CaseFactors::BASE, &budget());
            assert!(e.new_users <= 2420.0 + 1e-9, "{}", e.new_users);
            assert!(e.direct_users + e.referral_users <= 2420.0 + 1e-9);
            if e.k >= 1.0 {
                assert!(e.closed_form.is_none());
                assert!(e.capped);
                assert!((e.new_users - 2420.0).abs() < 1e-9);
            }
            for w in e.generations.windows(2) {
                assert!(w[1].cumulative >= w[0].cumulative);
            }
        }
    }

    #[test]
    fn subsidy_is_bounded_by_each_cap_and_roi_follows_its_formula() {
        let d = defaults();
        let a = d.assumptions.clone();
        let p = pop(10_000.0, 100.0);
        let free = estimate("base", &p, &a, CaseFactors::BASE, &budget());
        // 4 transactions a month × 12 × 5 CNY = 240 CNY a user, capped at 30 per user.
        assert_eq!(free.subsidy_bound, "per_user");
        assert!((free.subsidy_cny - free.new_users * 30.0).abs() < 1e-6);
        let tight = estimate(
            "base",
            &p,
            &a,
            CaseFactors::BASE,
            &Budget {
                months: 12,
                subsidy_budget_cny: Some(1_000.0),
            },
        );
        assert_eq!(
            (tight.subsidy_bound, tight.subsidy_cny),
            ("budget", 1_000.0)
        );
        let cost = tight.subsidy_cny + a.fixed_cost_cny;
        let value = tight.new_users * a.value_per_user_year_cny + tight.gmv_cny * a.fee_rate;
        assert!((tight.value_cny - value).abs() < 1e-6);
        assert!((tight.roi.unwrap() - (value - cost) / cost).abs() < 1e-12);
        // Every figure says how it was computed, with its own value in the text.
        for f in &tight.figures {
            assert!(!f.how.is_empty(), "{}", f.key);
            // The English working has the same numbers and no Chinese.
            assert!(
                !f.how_en.is_empty()
                    && !f
                        .how_en
                        .chars()
                        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{}: {}",
                f.key,
                f.how_en
            );
            let digits = |t: &str| t.chars().filter(|c| c.is_ascii_digit()).collect::<String>();
            assert_eq!(digits(&f.how), digits(&f.how_en), "{}", f.key);
        }
        let subsidy = tight.figures.iter().find(|f| f.key == "subsidy").unwrap();
        assert!(subsidy.how.contains("预算 1,000"), "{}", subsidy.how);
    }

    #[test]
    fn low_base_high_are_ordered() {
        let d = defaults();
        let c = cases(&pop(20_000.0, 200.0), &d.assumptions, &d, &budget());
        let names: Vec<_> = c.iter().map(|e| e.case).collect();
        assert_eq!(names, ["low", "base", "high"]);
        assert!(c[0].new_users < c[1].new_users && c[1].new_users < c[2].new_users);
        assert!(c[0].transactions < c[1].transactions && c[1].transactions < c[2].transactions);
    }

    #[test]
    fn seeds_come_from_customers_with_a_floor() {
        let a = defaults().assumptions;
        assert_eq!(seed_users(&a, 10_000.0), 500.0);
        assert_eq!(seed_users(&a, 100.0), 20.0);
    }

    #[test]
    fn bad_assumptions_name_the_field() {
        let mut a = defaults().assumptions;
        a.participation = 1.5;
        assert_eq!(
            a.validate("assumptions.").unwrap_err().field,
            "assumptions.participation"
        );
        let mut a = defaults().assumptions;
        a.conversion = f64::NAN;
        assert_eq!(a.validate("").unwrap_err().field, "conversion");
    }

    #[test]
    fn numbers_are_written_for_people() {
        assert_eq!(n0(1234567.4), "1,234,567");
        assert_eq!(n0(999.0), "999");
        assert_eq!(pct(0.08), "8%");
        assert_eq!(pct(0.0035), "0.35%");
        assert_eq!(num(0.45), "0.45");
    }
}
