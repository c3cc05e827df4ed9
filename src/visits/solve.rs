//! The team orienteering solver behind [`super::plan::plan`]: an iterated local search for the
//! team orienteering problem with (multiple) time windows, after Vansteenwegen, Souffriau,
//! Vanden Berghe & Van Oudheusden, "Iterated local search for the team orienteering problem
//! with time windows" (Computers & OR 36, 2009), with the local search of the orienteering
//! literature added (2-opt, or-opt, relocation between staff, swap of a visited merchant for a
//! better unvisited one).
//!
//! Nodes are numbered 1..=n; 0 is the outlet. Times are minutes of the day (f64). A node's
//! visit may start in any of its start windows (opening hours cut by the planning window and,
//! for restaurants, the rush): on arrival a visitor starts at once or waits for the next
//! window. Because a later arrival never allows an earlier start (the FIFO property), the
//! earliest start at every stop is optimal for a fixed order, so a route is checked by one
//! forward pass.
//!
//! Must-visits carry a bonus larger than the sum of all priorities, so that the objective
//! (Σ value) ranks first by how many must-visits are planned, then by total priority.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Slack for comparing times and values.
pub(crate) const EPS: f64 = 1e-7;

/// One planning day's problem, ready for the solver.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// Number of candidate nodes (1..=n).
    pub n: usize,
    pub staff: usize,
    /// Objective weight by node (index 0 unused): priority (≥ 0) plus the must-visit bonus.
    pub value: Vec<f64>,
    /// Visit minutes by node.
    pub visit: Vec<f64>,
    /// Allowed start windows by node, sorted and disjoint, closed.
    pub starts: Vec<Vec<(f64, f64)>>,
    /// Walking minutes, (n+1)², row-major; node 0 is the outlet.
    pub travel: Vec<f64>,
    pub ws: f64,
    pub we: f64,
}

impl Problem {
    #[inline]
    pub fn tt(&self, a: usize, b: usize) -> f64 {
        self.travel[a * (self.n + 1) + b]
    }

    /// The earliest start at node `i` for an arrival at `arrive`, if any window is left.
    #[inline]
    pub fn earliest(&self, i: usize, arrive: f64) -> Option<f64> {
        self.starts[i]
            .iter()
            .find(|&&(_, hi)| arrive <= hi + EPS)
            .map(|&(lo, _)| arrive.max(lo))
    }

    /// The time the route is back at the outlet, leaving at the window's start; `None` if a
    /// visit misses all its windows or the return is after the window's end.
    pub fn end_time(&self, route: &[usize]) -> Option<f64> {
        let mut t = self.ws;
        let mut at = 0;
        for &i in route {
            t = self.earliest(i, t + self.tt(at, i))? + self.visit[i];
            at = i;
        }
        let end = t + self.tt(at, 0);
        (end <= self.we + EPS).then_some(end)
    }

    /// Whether a visit alone (out and back) fits.
    pub fn reachable(&self, i: usize) -> bool {
        self.end_time(&[i]).is_some()
    }
}

/// A route's forward schedule: start and leave time at each stop, its end, and the slack an
/// insertion can use (time left before the window's end plus all waiting).
#[derive(Debug, Clone, Default)]
struct Sched {
    start: Vec<f64>,
    leave: Vec<f64>,
    end: f64,
    free: f64,
}

fn schedule(p: &Problem, route: &[usize]) -> Sched {
    let mut s = Sched {
        start: Vec::with_capacity(route.len()),
        leave: Vec::with_capacity(route.len()),
        end: p.ws,
        free: 0.0,
    };
    let mut t = p.ws;
    let mut at = 0;
    let mut wait = 0.0;
    for &i in route {
        let arrive = t + p.tt(at, i);
        // Routes in a solution are feasible; a missing window would be a bug, treated as
        // starting on arrival so that nothing panics.
        let st = p.earliest(i, arrive).unwrap_or(arrive);
        wait += st - arrive;
        s.start.push(st);
        t = st + p.visit[i];
        s.leave.push(t);
        at = i;
    }
    s.end = t + p.tt(at, 0);
    s.free = (p.we - s.end).max(0.0) + wait;
    s
}

/// A solution: one route per staff member, with schedules.
#[derive(Debug, Clone)]
pub(crate) struct Sol {
    pub routes: Vec<Vec<usize>>,
    sched: Vec<Sched>,
    /// By node: in a route.
    used: Vec<bool>,
    pub value: f64,
}

impl Sol {
    fn empty(p: &Problem) -> Self {
        let routes = vec![Vec::new(); p.staff];
        let sched = routes.iter().map(|r: &Vec<usize>| schedule(p, r)).collect();
        Self {
            routes,
            sched,
            used: vec![false; p.n + 1],
            value: 0.0,
        }
    }

    fn total_end(&self) -> f64 {
        self.sched.iter().map(|s| s.end).sum()
    }

    fn refresh(&mut self, p: &Problem, r: usize) {
        self.sched[r] = schedule(p, &self.routes[r]);
    }

    fn insert(&mut self, p: &Problem, r: usize, pos: usize, c: usize) {
        self.routes[r].insert(pos, c);
        self.used[c] = true;
        self.value += p.value[c];
        self.refresh(p, r);
    }

    fn remove(&mut self, p: &Problem, r: usize, pos: usize) -> usize {
        let c = self.routes[r].remove(pos);
        self.used[c] = false;
        self.value -= p.value[c];
        self.refresh(p, r);
        c
    }

    /// Better: more value; at equal value, less total time.
    fn better_than(&self, other: &Sol) -> bool {
        if self.value > other.value + EPS {
            return true;
        }
        self.value > other.value - EPS && self.total_end() < other.total_end() - EPS
    }
}

/// Inserting `c` at `pos` of a route with schedule `s`: the new end time and the time the
/// insertion consumes (detour + waiting at `c`), or `None` if infeasible.
fn try_insert(p: &Problem, route: &[usize], s: &Sched, pos: usize, c: usize) -> Option<(f64, f64)> {
    let prev = if pos == 0 { 0 } else { route[pos - 1] };
    let next = if pos == route.len() { 0 } else { route[pos] };
    let detour = p.tt(prev, c) + p.visit[c] + p.tt(c, next) - p.tt(prev, next);
    if detour > s.free + EPS {
        return None;
    }
    let leave_prev = if pos == 0 { p.ws } else { s.leave[pos - 1] };
    let arrive = leave_prev + p.tt(prev, c);
    let st = p.earliest(c, arrive)?;
    let mut t = st + p.visit[c];
    let mut at = c;
    for (k, &i) in route.iter().enumerate().skip(pos) {
        let st_k = p.earliest(i, t + p.tt(at, i))?;
        if st_k <= s.start[k] + EPS {
            // Same start as before: the rest of the schedule is unchanged.
            return Some((s.end, detour + (st - arrive)));
        }
        t = st_k + p.visit[i];
        at = i;
    }
    let end = t + p.tt(at, 0);
    (end <= p.we + EPS).then_some((end, detour + (st - arrive)))
}

/// Whether the route with `route[from..resume]` replaced by `mid` is feasible and back
/// earlier than now. Stops as soon as a stop after the change starts no earlier than before
/// (then, by the FIFO property, the end cannot be earlier either).
fn shorter(
    p: &Problem,
    route: &[usize],
    s: &Sched,
    from: usize,
    mid: impl Iterator<Item = usize>,
    resume: usize,
) -> bool {
    let (mut t, mut at) = if from == 0 {
        (p.ws, 0)
    } else {
        (s.leave[from - 1], route[from - 1])
    };
    for i in mid {
        let Some(st) = p.earliest(i, t + p.tt(at, i)) else {
            return false;
        };
        t = st + p.visit[i];
        at = i;
    }
    for (k, &i) in route.iter().enumerate().skip(resume) {
        match p.earliest(i, t + p.tt(at, i)) {
            Some(st) if st < s.start[k] - EPS => {
                t = st + p.visit[i];
                at = i;
            }
            _ => return false,
        }
    }
    let end = t + p.tt(at, 0);
    end < s.end - EPS && end <= p.we + EPS
}

/// The best position to insert `c` in route `r` (least time consumed): (pos, consumed).
fn best_position(p: &Problem, route: &[usize], s: &Sched, c: usize) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for pos in 0..=route.len() {
        if let Some((_, used)) = try_insert(p, route, s, pos, c) {
            if best.is_none_or(|(_, b)| used < b - EPS) {
                best = Some((pos, used));
            }
        }
    }
    best
}

/// Solver effort.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effort {
    pub seed: u64,
    pub iterations: u32,
    /// Rounds in a row without a better plan after which a one-walker search stops.
    pub stall: u32,
    pub deadline: Option<std::time::Instant>,
}

struct Search<'a> {
    p: &'a Problem,
    /// Nodes worth visiting (positive value and reachable alone), by value descending.
    pool: Vec<usize>,
    rng: ChaCha8Rng,
    /// Random multiplier of each node's ratio in the current insertion (1 = greedy).
    noise: Vec<f64>,
}

impl<'a> Search<'a> {
    /// Greedy insertion by `value² / consumed time` (Vansteenwegen et al.'s ratio) until
    /// nothing fits; `skip` nodes wait for a second pass.
    fn insert_all(&self, sol: &mut Sol, skip: &[usize]) {
        for pass in 0..2 {
            // Best insertion per (node, route), recomputed only for the route that changed.
            let staff = self.p.staff;
            let mut cache: Vec<Option<(usize, f64)>> = vec![None; (self.p.n + 1) * staff];
            let open: Vec<usize> = self
                .pool
                .iter()
                .copied()
                .filter(|&c| !sol.used[c] && (pass == 1 || !skip.contains(&c)))
                .collect();
            if open.is_empty() {
                continue;
            }
            for &c in &open {
                for r in 0..staff {
                    cache[c * staff + r] = best_position(self.p, &sol.routes[r], &sol.sched[r], c);
                }
            }
            loop {
                let mut pick: Option<(f64, usize, usize, usize)> = None;
                for &c in &open {
                    if sol.used[c] {
                        continue;
                    }
                    for r in 0..staff {
                        if let Some((pos, used)) = cache[c * staff + r] {
                            let v = self.p.value[c];
                            let ratio = v * v / (used + 0.1) * self.noise[c];
                            if pick.is_none_or(|(b, ..)| ratio > b) {
                                pick = Some((ratio, c, r, pos));
                            }
                        }
                    }
                }
                let Some((_, c, r, pos)) = pick else { break };
                sol.insert(self.p, r, pos, c);
                for &o in &open {
                    if !sol.used[o] {
                        cache[o * staff + r] =
                            best_position(self.p, &sol.routes[r], &sol.sched[r], o);
                    }
                }
            }
        }
    }

    /// Shortens one route by 2-opt and or-opt (segments of 1–3 stops, moved either way) until
    /// neither helps; first improvement.
    fn tighten(&self, sol: &mut Sol, r: usize) {
        let p = self.p;
        'again: loop {
            let route = &sol.routes[r];
            let s = &sol.sched[r];
            let len = route.len();
            // 2-opt: reverse route[i..=j].
            for i in 0..len {
                for j in i + 1..len {
                    let mid = route[i..=j].iter().rev().copied();
                    if shorter(p, route, s, i, mid, j + 1) {
                        sol.routes[r][i..=j].reverse();
                        sol.refresh(p, r);
                        continue 'again;
                    }
                }
            }
            // Or-opt: move route[i..i + k] to just before route[j] (j < i) or just after
            // route[j + k - 1] (j > i).
            for k in 1..=3.min(len) {
                for i in 0..=len - k {
                    let seg = &route[i..i + k];
                    for j in 0..=len - k {
                        if j == i {
                            continue;
                        }
                        let better = if j < i {
                            let mid = seg.iter().chain(&route[j..i]).copied();
                            shorter(p, route, s, j, mid, i + k)
                        } else {
                            let mid = route[i + k..j + k].iter().chain(seg).copied();
                            shorter(p, route, s, i, mid, j + k)
                        };
                        if better {
                            let route = &mut sol.routes[r];
                            if j < i {
                                route[j..i + k].rotate_right(k);
                            } else {
                                route[i..j + k].rotate_left(k);
                            }
                            sol.refresh(p, r);
                            continue 'again;
                        }
                    }
                }
            }
            break;
        }
    }

    /// Moves a stop to another staff member's route when that shortens the two together.
    fn relocate(&self, sol: &mut Sol) -> bool {
        let p = self.p;
        let staff = p.staff;
        let mut any = false;
        for a in 0..staff {
            let mut i = 0;
            while i < sol.routes[a].len() {
                let c = sol.routes[a][i];
                let mut without = sol.routes[a].clone();
                without.remove(i);
                let Some(end_a) = p.end_time(&without) else {
                    i += 1;
                    continue;
                };
                let mut moved = false;
                for b in 0..staff {
                    if b == a {
                        continue;
                    }
                    let before = sol.sched[a].end + sol.sched[b].end;
                    let Some((pos, _)) = best_position(p, &sol.routes[b], &sol.sched[b], c) else {
                        continue;
                    };
                    let mut into = sol.routes[b].clone();
                    into.insert(pos, c);
                    let Some(end_b) = p.end_time(&into) else {
                        continue;
                    };
                    if end_a + end_b < before - EPS {
                        sol.routes[a] = without.clone();
                        sol.routes[b] = into;
                        sol.refresh(p, a);
                        sol.refresh(p, b);
                        moved = true;
                        any = true;
                        break;
                    }
                }
                if !moved {
                    i += 1;
                }
            }
        }
        any
    }

    /// Swaps a visited stop for an unvisited node of more value, at the best position of the
    /// same route; the best such swap per unvisited node, best nodes first.
    fn swap_in(&self, sol: &mut Sol) -> bool {
        let p = self.p;
        let mut any = false;
        for &c in &self.pool {
            if sol.used[c] {
                continue;
            }
            let mut best: Option<(f64, usize, Vec<usize>)> = None;
            for r in 0..p.staff {
                for k in 0..sol.routes[r].len() {
                    let out = sol.routes[r][k];
                    let gain = p.value[c] - p.value[out];
                    if gain <= EPS || best.as_ref().is_some_and(|(g, ..)| gain <= *g) {
                        continue;
                    }
                    // Quick bound: c must fit in the slack plus what removing `out` frees.
                    let route = &sol.routes[r];
                    let prev = if k == 0 { 0 } else { route[k - 1] };
                    let next = if k + 1 == route.len() {
                        0
                    } else {
                        route[k + 1]
                    };
                    let freed = p.tt(prev, out) + p.visit[out] + p.tt(out, next) - p.tt(prev, next);
                    if p.visit[c] > sol.sched[r].free + freed + EPS {
                        continue;
                    }
                    let mut without = route.clone();
                    without.remove(k);
                    let s = schedule(p, &without);
                    if p.end_time(&without).is_none() {
                        continue;
                    }
                    if let Some((pos, _)) = best_position(p, &without, &s, c) {
                        without.insert(pos, c);
                        best = Some((gain, r, without));
                    }
                }
            }
            if let Some((_, r, route)) = best {
                for &o in &sol.routes[r] {
                    sol.used[o] = false;
                    sol.value -= p.value[o];
                }
                for &o in &route {
                    sol.used[o] = true;
                    sol.value += p.value[o];
                }
                sol.routes[r] = route;
                sol.refresh(p, r);
                any = true;
            }
        }
        any
    }

    /// Takes one stop out and refills the route greedily without it: accepted when the value
    /// grows (one visit making room for two of more value together).
    fn drop_refill(&self, sol: &mut Sol) -> bool {
        let p = self.p;
        for r in 0..p.staff {
            let mut k = 0;
            while k < sol.routes[r].len() {
                let mut cand = sol.clone();
                let out = cand.remove(p, r, k);
                self.tighten(&mut cand, r);
                self.insert_all(&mut cand, &[out]);
                if cand.value > sol.value + EPS {
                    *sol = cand;
                    return true;
                }
                k += 1;
            }
        }
        false
    }

    /// Local search to a local optimum: tighten routes, insert, relocate, swap in.
    fn improve(&self, sol: &mut Sol, deep: bool) {
        for _ in 0..50 {
            for r in 0..self.p.staff {
                self.tighten(sol, r);
            }
            let before = sol.value;
            self.insert_all(sol, &[]);
            let moved = self.p.staff > 1 && self.relocate(sol);
            let swapped = self.swap_in(sol) || (deep && self.drop_refill(sol));
            if sol.value <= before + EPS && !moved && !swapped {
                break;
            }
            if moved {
                self.insert_all(sol, &[]);
            }
        }
    }

    /// Removes `size` consecutive stops from each route, starting at `pos` (mod its length);
    /// returns the removed nodes.
    fn shake(&self, sol: &mut Sol, pos: usize, size: usize) -> Vec<usize> {
        let mut removed = Vec::new();
        for r in 0..self.p.staff {
            let len = sol.routes[r].len();
            if len == 0 {
                continue;
            }
            let at = pos % len;
            for _ in 0..size.min(len - at) {
                removed.push(sol.remove(self.p, r, at));
            }
        }
        removed
    }

    /// Removes `k` random stops (at least one from a route if any has stops).
    fn ruin(&mut self, sol: &mut Sol, k: usize) -> Vec<usize> {
        let mut removed = Vec::new();
        for _ in 0..k {
            let total: usize = sol.routes.iter().map(Vec::len).sum();
            if total == 0 {
                break;
            }
            let mut pick = self.rng.random_range(0..total);
            for r in 0..self.p.staff {
                if pick < sol.routes[r].len() {
                    removed.push(sol.remove(self.p, r, pick));
                    break;
                }
                pick -= sol.routes[r].len();
            }
        }
        removed
    }

    fn reset_noise(&mut self, amount: f64) {
        for v in self.noise.iter_mut() {
            *v = if amount > 0.0 {
                (1.0 + amount * (self.rng.random::<f64>() - 0.5)).max(0.05)
            } else {
                1.0
            };
        }
    }
}

/// Runs the iterated local search; deterministic for the same problem and effort (unless a
/// deadline cuts it short).
pub(crate) fn solve(p: &Problem, effort: &Effort) -> Sol {
    let mut pool: Vec<usize> = (1..=p.n)
        .filter(|&i| p.value[i] > 0.0 && p.reachable(i))
        .collect();
    pool.sort_by(|&a, &b| p.value[b].total_cmp(&p.value[a]).then(a.cmp(&b)));
    let mut search = Search {
        p,
        pool,
        rng: ChaCha8Rng::seed_from_u64(effort.seed),
        noise: vec![1.0; p.n + 1],
    };
    let mut cur = Sol::empty(p);
    search.insert_all(&mut cur, &[]);
    search.improve(&mut cur, true);
    let mut best = cur.clone();
    if search.pool.is_empty() {
        return best;
    }

    let max_size = (search.pool.len() / (2 * p.staff)).clamp(1, 6);
    let (mut size, mut pos) = (1usize, 0usize);
    let mut since_best = 0u32;
    let mut deepened: std::collections::HashSet<u64> = std::collections::HashSet::new();
    for it in 0..effort.iterations {
        // A lone walker's search settles early; a team's keeps finding better splits late
        // (stopping a two-walker search after 200 idle rounds lost the optimum on 1 of 120
        // exact-checked instances), so a team uses every round.
        if p.staff == 1 && since_best >= effort.stall {
            break;
        }
        if it % 16 == 0
            && effort
                .deadline
                .is_some_and(|d| std::time::Instant::now() >= d)
        {
            break;
        }
        // Noise grows while the search is stuck.
        let stuck = f64::from(since_best.min(40)) / 40.0;
        search.reset_noise(0.2 + 1.6 * stuck);
        let removed = if it % 2 == 0 {
            search.shake(&mut cur, pos, size)
        } else {
            search.ruin(&mut cur, 1 + (stuck * 4.0) as usize)
        };
        search.insert_all(&mut cur, &removed);
        search.improve(&mut cur, false);
        // The deep neighbourhood (drop one, refill) only for plans within 1% of the best, and
        // once per distinct plan: the search often comes back to the same local optimum.
        if cur.value > best.value * 0.99 - EPS && deepened.insert(signature(&cur)) {
            search.improve(&mut cur, true);
        }
        if cur.better_than(&best) {
            best = cur.clone();
            size = 1;
            since_best = 0;
        } else {
            size += 1;
            since_best += 1;
        }
        let shortest = cur.routes.iter().map(Vec::len).min().unwrap_or(0).max(1);
        pos = (pos + size + search.rng.random_range(0..shortest)) % shortest;
        if size > max_size {
            size = 1;
        }
        // Stuck: every 10 rounds without a better plan, go back to the best one or (every
        // other time) start afresh from a randomised construction.
        if since_best > 0 && since_best.is_multiple_of(10) {
            if !(since_best / 10).is_multiple_of(2) {
                cur = best.clone();
            } else {
                cur = Sol::empty(p);
                search.reset_noise(0.8);
                search.insert_all(&mut cur, &[]);
                search.improve(&mut cur, true);
            }
        }
    }
    search.reset_noise(0.0);
    balance(&search, &mut best);
    best
}

/// A hash of the routes (SipHash with fixed keys: the same on every run).
fn signature(sol: &Sol) -> u64 {
    use std::hash::{Hash, Hasher};
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    sol.routes.hash(&mut h);
    h.finish()
}

/// At equal value: shortens each route, then moves and exchanges stops between staff while
/// that narrows the spread (longest − shortest route time).
fn balance(search: &Search<'_>, sol: &mut Sol) {
    let p = search.p;
    for r in 0..p.staff {
        search.tighten(sol, r);
    }
    if p.staff < 2 {
        return;
    }
    let busy = |sol: &Sol, r: usize| duration(p, &sol.routes[r], &sol.sched[r]);
    let spread = |sol: &Sol| {
        let d: Vec<f64> = (0..p.staff).map(|r| busy(sol, r)).collect();
        let max = d.iter().copied().fold(f64::MIN, f64::max);
        let min = d.iter().copied().fold(f64::MAX, f64::min);
        max - min
    };
    for _ in 0..200 {
        let current = spread(sol);
        let mut best: Option<(f64, Sol)> = None;
        let mut consider = |cand: Sol| {
            let s = spread(&cand);
            if s < current - 1e-6 && best.as_ref().is_none_or(|(b, _)| s < *b) {
                best = Some((s, cand));
            }
        };
        for a in 0..p.staff {
            for b in 0..p.staff {
                if a == b {
                    continue;
                }
                for i in 0..sol.routes[a].len() {
                    // Move a's stop i to b.
                    let c = sol.routes[a][i];
                    let mut without = sol.routes[a].clone();
                    without.remove(i);
                    if p.end_time(&without).is_none() {
                        continue;
                    }
                    if let Some((pos, _)) = best_position(p, &sol.routes[b], &sol.sched[b], c) {
                        let mut cand = sol.clone();
                        cand.routes[a] = without.clone();
                        cand.routes[b].insert(pos, c);
                        cand.refresh(p, a);
                        cand.refresh(p, b);
                        consider(cand);
                    }
                    // Exchange with b's stop j (a < b to try each pair once).
                    if a > b {
                        continue;
                    }
                    for j in 0..sol.routes[b].len() {
                        let d = sol.routes[b][j];
                        let mut ra = without.clone();
                        let mut rb = sol.routes[b].clone();
                        rb.remove(j);
                        let (sa, sb) = (schedule(p, &ra), schedule(p, &rb));
                        if p.end_time(&rb).is_none() {
                            continue;
                        }
                        let (Some((pa, _)), Some((pb, _))) =
                            (best_position(p, &ra, &sa, d), best_position(p, &rb, &sb, c))
                        else {
                            continue;
                        };
                        ra.insert(pa, d);
                        rb.insert(pb, c);
                        let mut cand = sol.clone();
                        cand.routes[a] = ra;
                        cand.routes[b] = rb;
                        cand.refresh(p, a);
                        cand.refresh(p, b);
                        consider(cand);
                    }
                }
            }
        }
        match best {
            Some((_, mut cand)) => {
                for r in 0..p.staff {
                    search.tighten(&mut cand, r);
                }
                if spread(&cand) < current - 1e-6 {
                    *sol = cand;
                } else {
                    break;
                }
            }
            None => break,
        }
    }
}

/// A route's working time: from leaving the outlet (no earlier than needed to start the first
/// visit without waiting) to being back. 0 for an empty route.
pub(crate) fn depart(p: &Problem, route: &[usize], start_first: f64) -> f64 {
    match route.first() {
        Some(&i) => (start_first - p.tt(0, i)).max(p.ws),
        None => p.ws,
    }
}

fn duration(p: &Problem, route: &[usize], s: &Sched) -> f64 {
    match s.start.first() {
        Some(&st) => s.end - depart(p, route, st),
        None => 0.0,
    }
}

/// The schedule of a finished route, for output: (arrive, start, leave) per stop and the end.
pub(crate) fn timeline(p: &Problem, route: &[usize]) -> (Vec<(f64, f64, f64)>, f64) {
    let mut out = Vec::with_capacity(route.len());
    let mut t = p.ws;
    let mut at = 0;
    for (k, &i) in route.iter().enumerate() {
        let mut arrive = t + p.tt(at, i);
        let st = p.earliest(i, arrive).unwrap_or(arrive);
        if k == 0 {
            // Leave the outlet late enough not to wait at the first stop.
            arrive = arrive.max(st);
        }
        t = st + p.visit[i];
        out.push((arrive, st, t));
        at = i;
    }
    (out, t + p.tt(at, 0))
}

#[cfg(test)]
pub(crate) mod exact {
    //! The exact optimum on small instances (≤ 12 nodes) by dynamic programming over subsets ×
    //! last stop: the earliest time a route can leave its last stop having visited exactly the
    //! subset (earliest is best, by the FIFO property). Several staff: the best sum over
    //! disjoint subsets, one feasible route each, by subset convolution.

    use super::*;

    /// The best total value for `p.staff` routes.
    pub fn optimum(p: &Problem) -> f64 {
        let n = p.n;
        assert!(n <= 14, "exact search is for small instances");
        let full = 1usize << n;
        let mut dp = vec![f64::INFINITY; full * n];
        for i in 0..n {
            if let Some(st) = p.earliest(i + 1, p.ws + p.tt(0, i + 1)) {
                dp[(1 << i) * n + i] = st + p.visit[i + 1];
            }
        }
        let mut single = vec![f64::NEG_INFINITY; full];
        single[0] = 0.0;
        for mask in 1..full {
            let mut feasible = false;
            for last in 0..n {
                let t = dp[mask * n + last];
                if !t.is_finite() {
                    continue;
                }
                if t + p.tt(last + 1, 0) <= p.we + EPS {
                    feasible = true;
                }
                for nxt in 0..n {
                    if mask & (1 << nxt) != 0 {
                        continue;
                    }
                    if let Some(st) = p.earliest(nxt + 1, t + p.tt(last + 1, nxt + 1)) {
                        let slot = &mut dp[(mask | (1 << nxt)) * n + nxt];
                        let leave = st + p.visit[nxt + 1];
                        if leave < *slot {
                            *slot = leave;
                        }
                    }
                }
            }
            if feasible {
                single[mask] = (0..n)
                    .filter(|&i| mask & (1 << i) != 0)
                    .map(|i| p.value[i + 1])
                    .sum();
            }
        }
        // g[mask]: best value of k routes using nodes of mask only.
        let mut g = single.clone();
        for mask in 0..full {
            for i in 0..n {
                if mask & (1 << i) != 0 {
                    g[mask] = g[mask].max(g[mask ^ (1 << i)]);
                }
            }
        }
        for _ in 1..p.staff {
            let mut next = g.clone();
            for mask in 0..full {
                let mut sub = mask;
                loop {
                    if single[sub].is_finite() {
                        let v = single[sub] + g[mask ^ sub];
                        if v > next[mask] {
                            next[mask] = v;
                        }
                    }
                    if sub == 0 {
                        break;
                    }
                    sub = (sub - 1) & mask;
                }
            }
            g = next;
        }
        g[full - 1]
    }
}
