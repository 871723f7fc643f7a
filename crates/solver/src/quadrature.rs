//! Gauss–Legendre quadrature, for the mean-field scheme's cell averages of smooth functions (the
//! kernel's cell-pair averages, the perceptron potential, von Mises laws) and the certifier's
//! potential differences (`stationary::calculus::phi_change`): `n` nodes integrate polynomials of
//! degree `2n - 1` exactly.

/// Nodes and weights of the `n`-point Gauss–Legendre rule on `[-1, 1]`, nodes increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussLegendre {
    /// Nodes in `(-1, 1)`.
    pub nodes: Vec<f64>,
    /// Weights, summing to 2.
    pub weights: Vec<f64>,
}

impl GaussLegendre {
    /// The `n`-point rule, `n >= 1`: roots of `P_n` by Newton's method from Chebyshev guesses.
    ///
    /// # Panics
    /// If `n == 0`.
    pub fn new(n: usize) -> GaussLegendre {
        assert!(n >= 1, "a Gauss–Legendre rule needs at least one node");
        let mut nodes = vec![0.0; n];
        let mut weights = vec![0.0; n];
        for i in 0..n.div_ceil(2) {
            // The i-th largest root, from the usual asymptotic guess.
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut derivative = 1.0;
            for _ in 0..100 {
                let (p, dp) = legendre(n, x);
                derivative = dp;
                let dx = p / dp;
                x -= dx;
                if dx.abs() <= 1e-16 {
                    break;
                }
            }
            let (_, dp) = legendre(n, x);
            derivative = if dp != 0.0 { dp } else { derivative };
            let weight = 2.0 / ((1.0 - x * x) * derivative * derivative);
            nodes[n - 1 - i] = x;
            nodes[i] = -x;
            weights[n - 1 - i] = weight;
            weights[i] = weight;
        }
        GaussLegendre { nodes, weights }
    }

    /// `∫_a^b f`.
    pub fn integrate(&self, a: f64, b: f64, f: impl Fn(f64) -> f64) -> f64 {
        let half = 0.5 * (b - a);
        let middle = 0.5 * (a + b);
        self.scaled_sum(middle, half, f)
    }

    /// `∫ f` over `[start, start + width]` with the width given rather than taken as the
    /// difference of rounded ends: for an interval much shorter than its ends' magnitude
    /// (`1e-13` at `1.7`) that difference would keep few of the width's digits.
    pub fn integrate_width(&self, start: f64, width: f64, f: impl Fn(f64) -> f64) -> f64 {
        let half = 0.5 * width;
        let middle = start + half;
        self.scaled_sum(middle, half, f)
    }

    /// `half · Σ w_k f(middle + half x_k)`: the integral over `[middle − half, middle + half]`.
    fn scaled_sum(&self, middle: f64, half: f64, f: impl Fn(f64) -> f64) -> f64 {
        let sum: f64 = self
            .nodes
            .iter()
            .zip(&self.weights)
            .map(|(&x, &w)| w * f(middle + half * x))
            .sum();
        half * sum
    }
}

/// `(P_n(x), P_n'(x))` by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let mut previous = 1.0;
    let mut current = x;
    if n == 0 {
        return (1.0, 0.0);
    }
    for k in 2..=n {
        let k = k as f64;
        let next = ((2.0 * k - 1.0) * x * current - (k - 1.0) * previous) / k;
        previous = current;
        current = next;
    }
    let derivative = n as f64 * (x * current - previous) / (x * x - 1.0);
    (current, derivative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_polynomials_of_degree_2n_minus_1_exactly() {
        for n in 1..=10 {
            let rule = GaussLegendre::new(n);
            assert!(
                (rule.weights.iter().sum::<f64>() - 2.0).abs() < 1e-14,
                "n = {n}"
            );
            for degree in 0..2 * n {
                let exact = if degree % 2 == 1 {
                    0.0
                } else {
                    2.0 / (degree + 1) as f64
                };
                let got = rule.integrate(-1.0, 1.0, |x| x.powi(degree as i32));
                assert!((got - exact).abs() < 1e-14, "n = {n}, x^{degree}: {got}");
            }
            // Degree 2n is not exact: the rule is not accidentally of higher order.
            let got = rule.integrate(-1.0, 1.0, |x| x.powi(2 * n as i32));
            assert!((got - 2.0 / (2 * n + 1) as f64).abs() > 1e-6, "n = {n}");
        }
        let rule = GaussLegendre::new(8);
        let got = rule.integrate(0.0, std::f64::consts::PI, f64::sin);
        assert!((got - 2.0).abs() < 1e-12, "{got}");
    }
}
