//! The Huff gravity model (Huff 1963), usable on its own: the probability that people at origin
//! i choose destination j among the competing destinations k is
//!
//! ```text
//! P_ij = A_j^α · d_ij^−β / Σ_k A_k^α · d_ik^−β
//! ```
//!
//! with A the attractiveness, d the distance (raised to at least `min_distance_m`, since d^−β
//! is unbounded at 0), α ≈ 1 and β between 1 and 3, larger for everyday goods. The expected
//! visits at j are Σ_i P_ij · weight_i (weight: households × visit rate, or any origin mass).
//!
//! A destination with attractiveness 0 attracts no one, whatever α is (0^0 would be 1), and a
//! row whose origin has no destination in reach is all zeros rather than NaN.

use serde::{Deserialize, Serialize};

use crate::domain::Location;

/// Where demand comes from: a point and its mass (e.g. households × visits per household).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct Origin {
    pub lon: f64,
    pub lat: f64,
    pub weight: f64,
}

/// A competing destination: a point and its attractiveness (size, rating, …).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct Destination {
    pub lon: f64,
    pub lat: f64,
    pub attractiveness: f64,
}

/// The model's output.
#[derive(Debug, Clone, Serialize)]
pub struct HuffResult {
    /// `[origin][destination]`; each row sums to 1, or is all 0 if no destination is in reach.
    pub probabilities: Vec<Vec<f64>>,
    /// Per destination: Σ_i P_ij · weight_i.
    pub expected: Vec<f64>,
}

/// Origins × destinations above which [`huff`] refuses the work (8 MB of probabilities).
pub const MAX_CELLS: usize = 1_000_000;

/// Inputs [`huff`] cannot use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HuffError {
    #[error("{kind} {index}: {field} {reason}")]
    Coordinate {
        kind: &'static str,
        index: usize,
        field: String,
        reason: String,
    },
    #[error("{kind} {index}: {field} must be a finite number ≥ 0, not {value}")]
    Negative {
        kind: &'static str,
        index: usize,
        field: &'static str,
        value: f64,
    },
    #[error("alpha must be a finite number, not {0}")]
    Alpha(f64),
    #[error("beta must be a finite number ≥ 0, not {0}")]
    Beta(f64),
    #[error("min_distance_m must be a finite number > 0, not {0}")]
    MinDistance(f64),
    #[error("max_distance_m must be a number ≥ 0, not {0}")]
    MaxDistance(f64),
    #[error("{origins} origins × {destinations} destinations is more than {max} cells")]
    TooManyCells {
        origins: usize,
        destinations: usize,
        max: usize,
    },
}

fn location(kind: &'static str, index: usize, lon: f64, lat: f64) -> Result<Location, HuffError> {
    Location::new(lon, lat).map_err(|e| HuffError::Coordinate {
        kind,
        index,
        field: e.field,
        reason: e.reason,
    })
}

fn non_negative(
    kind: &'static str,
    index: usize,
    field: &'static str,
    value: f64,
) -> Result<(), HuffError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(HuffError::Negative {
            kind,
            index,
            field,
            value,
        })
    }
}

/// Checks α, β and the minimum distance as [`huff`] does.
pub(crate) fn check_exponents(alpha: f64, beta: f64, min_distance_m: f64) -> Result<(), HuffError> {
    if !alpha.is_finite() {
        return Err(HuffError::Alpha(alpha));
    }
    if !beta.is_finite() || beta < 0.0 {
        return Err(HuffError::Beta(beta));
    }
    if !min_distance_m.is_finite() || min_distance_m <= 0.0 {
        return Err(HuffError::MinDistance(min_distance_m));
    }
    Ok(())
}

/// The Huff model on points: great-circle distances (haversine) from each origin to each
/// destination, destinations farther than `max_distance_m` (if given) left out of that origin's
/// choice set.
pub fn huff(
    origins: &[Origin],
    destinations: &[Destination],
    alpha: f64,
    beta: f64,
    min_distance_m: f64,
    max_distance_m: Option<f64>,
) -> Result<HuffResult, HuffError> {
    check_exponents(alpha, beta, min_distance_m)?;
    if let Some(m) = max_distance_m {
        if m.is_nan() || m < 0.0 {
            return Err(HuffError::MaxDistance(m));
        }
    }
    if origins.len().saturating_mul(destinations.len()) > MAX_CELLS {
        return Err(HuffError::TooManyCells {
            origins: origins.len(),
            destinations: destinations.len(),
            max: MAX_CELLS,
        });
    }
    let mut from = Vec::with_capacity(origins.len());
    for (i, o) in origins.iter().enumerate() {
        from.push(location("origin", i, o.lon, o.lat)?);
        non_negative("origin", i, "weight", o.weight)?;
    }
    let mut to = Vec::with_capacity(destinations.len());
    let mut attractiveness = Vec::with_capacity(destinations.len());
    for (j, d) in destinations.iter().enumerate() {
        to.push(location("destination", j, d.lon, d.lat)?);
        non_negative("destination", j, "attractiveness", d.attractiveness)?;
        attractiveness.push(d.attractiveness);
    }

    let mut probabilities = Vec::with_capacity(origins.len());
    let mut expected = vec![0.0; destinations.len()];
    let mut distances = vec![0.0; destinations.len()];
    for (o, at) in origins.iter().zip(&from) {
        for (d, dest) in distances.iter_mut().zip(&to) {
            let m = at.distance_m(dest);
            // Out of reach: an infinite distance has no pull (its term is 0 for β > 0; for
            // β = 0 the attractiveness is zeroed below instead).
            *d = if max_distance_m.is_some_and(|max| m > max) {
                f64::INFINITY
            } else {
                m
            };
        }
        let masked: Vec<f64> = attractiveness
            .iter()
            .zip(&distances)
            .map(|(&a, &d)| if d.is_finite() { a } else { 0.0 })
            .collect();
        let row = shares(&masked, &distances, alpha, beta, min_distance_m);
        for (e, p) in expected.iter_mut().zip(&row) {
            *e += p * o.weight;
        }
        probabilities.push(row);
    }
    Ok(HuffResult {
        probabilities,
        expected,
    })
}

/// The core, on given distances: P_j = A_j^α d_j^−β / Σ_k A_k^α d_k^−β, distances raised to
/// at least `min_distance_m`. All zeros when no destination has a positive term (none given,
/// all unattractive or infinitely far). Inputs are not checked here; [`huff`] checks its own.
pub fn shares(
    attractiveness: &[f64],
    distances_m: &[f64],
    alpha: f64,
    beta: f64,
    min_distance_m: f64,
) -> Vec<f64> {
    let term = |a: f64, d: f64| {
        if a > 0.0 {
            a.powf(alpha) * d.max(min_distance_m).powf(-beta)
        } else {
            0.0
        }
    };
    let mut out: Vec<f64> = attractiveness
        .iter()
        .zip(distances_m)
        .map(|(&a, &d)| term(a, d))
        .collect();
    let sum: f64 = out.iter().sum();
    if sum.is_finite() && sum > 1e-280 {
        out.iter_mut().for_each(|p| *p /= sum);
        return out;
    }
    // Overflow or underflow of the plain terms (extreme exponents): the same in log space.
    let logs: Vec<f64> = attractiveness
        .iter()
        .zip(distances_m)
        .map(|(&a, &d)| {
            if a > 0.0 {
                alpha * a.ln() - beta * d.max(min_distance_m).ln()
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        out.iter_mut().for_each(|p| *p = 0.0);
        return out;
    }
    for (p, l) in out.iter_mut().zip(&logs) {
        *p = (l - top).exp();
    }
    let sum: f64 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn assert_row(row: &[f64], want: &[f64], tol: f64) {
        assert_eq!(row.len(), want.len());
        for (a, b) in row.iter().zip(want) {
            assert!(close(*a, *b, tol), "{row:?} != {want:?}");
        }
    }

    #[test]
    fn two_destinations_at_one_and_two_km() {
        // Equal A, β = 2: 1/1² : 1/2² = 1 : 0.25 → 0.8 / 0.2.
        let p = shares(&[1.0, 1.0], &[1000.0, 2000.0], 1.0, 2.0, 25.0);
        assert_row(&p, &[0.8, 0.2], 1e-12);
        // A = 2 and 1, α = 1, β = 1: 2/1 : 1/2 = 2 : 0.5 → 0.8 / 0.2 again.
        let p = shares(&[2.0, 1.0], &[1000.0, 2000.0], 1.0, 1.0, 25.0);
        assert_row(&p, &[0.8, 0.2], 1e-12);
        // α = 2, β = 1: 4/1 : 1/2 → 8/9, 1/9.
        let p = shares(&[2.0, 1.0], &[1000.0, 2000.0], 2.0, 1.0, 25.0);
        assert_row(&p, &[8.0 / 9.0, 1.0 / 9.0], 1e-12);
        // β = 0: distance plays no part; shares follow A.
        let p = shares(&[3.0, 1.0], &[10.0, 9000.0], 1.0, 0.0, 25.0);
        assert_row(&p, &[0.75, 0.25], 1e-12);
    }

    #[test]
    fn distances_below_the_minimum_are_raised_to_it() {
        // 0 m and 10 m both count as 25 m: equal shares, no infinity.
        let p = shares(&[1.0, 1.0, 1.0], &[0.0, 10.0, 50.0], 1.0, 2.0, 25.0);
        // 1/625 : 1/625 : 1/2500 = 4 : 4 : 1
        assert_row(&p, &[4.0 / 9.0, 4.0 / 9.0, 1.0 / 9.0], 1e-12);
    }

    #[test]
    fn nothing_attractive_or_nothing_given_is_all_zero() {
        assert!(shares(&[], &[], 1.0, 2.0, 25.0).is_empty());
        assert_row(
            &shares(&[0.0, 0.0], &[100.0, 200.0], 0.0, 2.0, 25.0),
            &[0.0, 0.0],
            0.0,
        );
        // A zero attractiveness attracts no one even with α = 0 (0^0 would be 1).
        let p = shares(&[0.0, 2.0], &[100.0, 200.0], 0.0, 2.0, 25.0);
        assert_row(&p, &[0.0, 1.0], 1e-12);
    }

    #[test]
    fn extreme_exponents_stay_finite() {
        let p = shares(&[1.0, 1.0], &[1e6, 2e6], 1.0, 60.0, 25.0);
        assert!(p.iter().all(|x| x.is_finite()));
        assert!(close(p.iter().sum::<f64>(), 1.0, 1e-12), "{p:?}");
        let p = shares(&[1.0, 1.0], &[25.0, 50.0], 1.0, 300.0, 1e-3);
        assert!(close(p[0], 1.0, 1e-12), "{p:?}");
    }

    /// A fully hand-derived 3 × 3 example (no published one could be reconstructed exactly; the
    /// one circulating online has its arithmetic wrong). α = 1, β = 2, A = (1, 2, 4), distances
    /// in km (the units cancel):
    ///
    /// | origin | weight | d to 1, 2, 3 | terms A/d²            | sum   | P                    |
    /// |--------|--------|--------------|-----------------------|-------|----------------------|
    /// | 1      | 700    | 1, 2, 4      | 1, 1/2, 1/4           | 7/4   | 4/7, 2/7, 1/7        |
    /// | 2      | 1300   | 2, 1, 2      | 1/4, 2, 1             | 13/4  | 1/13, 8/13, 4/13     |
    /// | 3      | 730    | 4, 2, 1      | 1/16, 1/2, 4          | 73/16 | 1/73, 8/73, 64/73    |
    ///
    /// Expected: destination 1 = 700·4/7 + 1300/13 + 730/73 = 400 + 100 + 10 = 510;
    /// destination 2 = 200 + 800 + 80 = 1080; destination 3 = 100 + 400 + 640 = 1140;
    /// total 2730 = 700 + 1300 + 730.
    #[test]
    fn hand_derived_three_by_three() {
        let a = [1.0, 2.0, 4.0];
        let d = [[1.0, 2.0, 4.0], [2.0, 1.0, 2.0], [4.0, 2.0, 1.0]];
        let w = [700.0, 1300.0, 730.0];
        let want = [
            [4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0],
            [1.0 / 13.0, 8.0 / 13.0, 4.0 / 13.0],
            [1.0 / 73.0, 8.0 / 73.0, 64.0 / 73.0],
        ];
        let mut expected = [0.0; 3];
        for i in 0..3 {
            let km: Vec<f64> = d[i].iter().map(|x| x * 1000.0).collect();
            let p = shares(&a, &km, 1.0, 2.0, 25.0);
            assert_row(&p, &want[i], 1e-12);
            for j in 0..3 {
                expected[j] += p[j] * w[i];
            }
        }
        assert_row(&expected, &[510.0, 1080.0, 1140.0], 1e-9);
    }

    /// Points on one meridian: the haversine distance is exactly R·Δφ, so distance ratios are
    /// those of the latitude differences and the hand-computed shares apply to `huff` itself.
    #[test]
    fn huff_on_points_matches_the_hand_computed_shares() {
        let o = |lat: f64, weight: f64| Origin {
            lon: 103.76,
            lat,
            weight,
        };
        let dst = |lat: f64, attractiveness: f64| Destination {
            lon: 103.76,
            lat,
            attractiveness,
        };
        // Origin at 29.50; destinations 0.01° (≈1.1 km) and 0.02° north: 0.8 / 0.2.
        let r = huff(
            &[o(29.50, 100.0)],
            &[dst(29.51, 1.0), dst(29.52, 1.0)],
            1.0,
            2.0,
            25.0,
            None,
        )
        .unwrap();
        // 1e-10: the latitudes' own rounding (29.51 − 29.50 is not exactly 0.01) moves the
        // distance ratio by ~1e-12.
        assert_row(&r.probabilities[0], &[0.8, 0.2], 1e-10);
        assert_row(&r.expected, &[80.0, 20.0], 1e-9);

        // Three origins on the meridian, destinations at 29.51, 29.52, 29.54 (A = 1, 2, 4):
        // origin 29.50: d = 1, 2, 4 units; origin 29.53: d = 2, 1, 1; origin 29.55: 4, 3, 1.
        let dests = [dst(29.51, 1.0), dst(29.52, 2.0), dst(29.54, 4.0)];
        let origins = [o(29.50, 700.0), o(29.53, 300.0), o(29.55, 50.0)];
        let r = huff(&origins, &dests, 1.0, 2.0, 25.0, None).unwrap();
        let rows = [
            // 1, 1/2, 1/4 → /1.75
            [4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0],
            // 1/4, 2, 4 → /6.25
            [0.04, 0.32, 0.64],
            // 1/16, 2/9, 4 → /(9/144 + 32/144 + 576/144 = 617/144)
            [9.0 / 617.0, 32.0 / 617.0, 576.0 / 617.0],
        ];
        for (got, want) in r.probabilities.iter().zip(&rows) {
            assert_row(got, want, 1e-9);
        }
        let total: f64 = r.expected.iter().sum();
        assert!(close(total, 1050.0, 1e-9), "{total}");
        assert!(close(
            r.expected[0],
            400.0 + 12.0 + 50.0 * 9.0 / 617.0,
            1e-9
        ));
    }

    #[test]
    fn max_distance_leaves_far_destinations_out() {
        let origins = [
            Origin {
                lon: 103.76,
                lat: 29.50,
                weight: 10.0,
            },
            Origin {
                lon: 103.76,
                lat: 28.00,
                weight: 5.0,
            },
        ];
        let dests = [
            Destination {
                lon: 103.76,
                lat: 29.51,
                attractiveness: 1.0,
            },
            Destination {
                lon: 103.76,
                lat: 29.60,
                attractiveness: 1.0,
            },
        ];
        // 0.09° ≈ 10 km > 5 km: only the first is in the first origin's choice set; the second
        // origin has nothing in reach and its row is all zeros.
        let r = huff(&origins, &dests, 1.0, 0.0, 25.0, Some(5_000.0)).unwrap();
        assert_row(&r.probabilities[0], &[1.0, 0.0], 0.0);
        assert_row(&r.probabilities[1], &[0.0, 0.0], 0.0);
        assert_row(&r.expected, &[10.0, 0.0], 0.0);
    }

    #[test]
    fn bad_inputs_are_named() {
        let good_o = Origin {
            lon: 103.76,
            lat: 29.5,
            weight: 1.0,
        };
        let good_d = Destination {
            lon: 103.77,
            lat: 29.5,
            attractiveness: 1.0,
        };
        let run = |o: &[Origin], d: &[Destination]| huff(o, d, 1.0, 2.0, 25.0, None);
        let bad_lat = Origin {
            lat: 95.0,
            ..good_o
        };
        let e = run(&[good_o, bad_lat], &[good_d]).unwrap_err();
        assert!(
            matches!(&e, HuffError::Coordinate { kind: "origin", index: 1, field, .. } if field == "lat"),
            "{e:?}"
        );
        assert!(e.to_string().contains("origin 1: lat"), "{e}");
        let nan_lon = Destination {
            lon: f64::NAN,
            ..good_d
        };
        let e = run(&[good_o], &[good_d, good_d, nan_lon]).unwrap_err();
        assert!(e.to_string().contains("destination 2: lon"), "{e}");
        let neg = Destination {
            attractiveness: -1.0,
            ..good_d
        };
        assert!(matches!(
            run(&[good_o], &[neg]),
            Err(HuffError::Negative {
                field: "attractiveness",
                ..
            })
        ));
        let neg_w = Origin {
            weight: -3.0,
            ..good_o
        };
        assert!(matches!(
            run(&[neg_w], &[good_d]),
            Err(HuffError::Negative {
                field: "weight",
                ..
            })
        ));
        let o = [good_o];
        let d = [good_d];
        assert!(matches!(
            huff(&o, &d, f64::NAN, 2.0, 25.0, None),
            Err(HuffError::Alpha(_))
        ));
        assert!(matches!(
            huff(&o, &d, 1.0, -0.5, 25.0, None),
            Err(HuffError::Beta(_))
        ));
        assert!(matches!(
            huff(&o, &d, 1.0, f64::INFINITY, 25.0, None),
            Err(HuffError::Beta(_))
        ));
        assert!(matches!(
            huff(&o, &d, 1.0, 2.0, 0.0, None),
            Err(HuffError::MinDistance(_))
        ));
        assert!(matches!(
            huff(&o, &d, 1.0, 2.0, 25.0, Some(f64::NAN)),
            Err(HuffError::MaxDistance(_))
        ));
        let many_o = vec![good_o; 1001];
        let many_d = vec![good_d; 1000];
        assert!(matches!(
            huff(&many_o, &many_d, 1.0, 2.0, 25.0, None),
            Err(HuffError::TooManyCells { .. })
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn point() -> impl Strategy<Value = (f64, f64)> {
            (103.70..103.82f64, 29.52..29.62f64)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn rows_sum_to_one_and_expected_to_the_weights(
                origins in prop::collection::vec((point(), 0.0..5000.0f64), 1..8),
                dests in prop::collection::vec((point(), 0.0..5.0f64), 1..8),
                beta in 0.0..3.0f64,
                alpha in 0.5..1.5f64,
            ) {
                let o: Vec<Origin> = origins.iter().map(|&((lon, lat), weight)| Origin { lon, lat, weight }).collect();
                let d: Vec<Destination> = dests.iter().map(|&((lon, lat), attractiveness)| Destination { lon, lat, attractiveness }).collect();
                let r = huff(&o, &d, alpha, beta, 25.0, None).unwrap();
                let any = d.iter().any(|x| x.attractiveness > 0.0);
                let mut reached = 0.0;
                for (row, oi) in r.probabilities.iter().zip(&o) {
                    let s: f64 = row.iter().sum();
                    if any {
                        prop_assert!((s - 1.0).abs() < 1e-9, "{s}");
                        reached += oi.weight;
                    } else {
                        prop_assert_eq!(s, 0.0);
                    }
                }
                let total: f64 = r.expected.iter().sum();
                prop_assert!((total - reached).abs() <= 1e-9 * reached.max(1.0), "{total} vs {reached}");
            }

            #[test]
            fn more_attractiveness_never_lowers_a_share(
                attr in prop::collection::vec(0.01..5.0f64, 2..8),
                dist in prop::collection::vec(0.0..5000.0f64, 8),
                j in 0usize..8,
                extra in 0.0..10.0f64,
                beta in 0.0..3.0f64,
            ) {
                let n = attr.len();
                let j = j % n;
                let before = shares(&attr, &dist[..n], 1.0, beta, 25.0);
                let mut more = attr.clone();
                more[j] += extra;
                let after = shares(&more, &dist[..n], 1.0, beta, 25.0);
                prop_assert!(after[j] >= before[j] - 1e-12, "{} < {}", after[j], before[j]);
            }
        }
    }
}
