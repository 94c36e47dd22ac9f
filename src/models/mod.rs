//! Classifiers: one trait over the algorithms, one small file per algorithm,
//! and the serde-tagged enums stored in bundles.

pub(crate) mod boosting;
pub(crate) mod cached;
pub(crate) mod cart;
pub(crate) mod causal_forest;
pub(crate) mod coordinate_descent;
pub(crate) mod elastic_net;
pub(crate) mod forest;
pub(crate) mod knn;
pub(crate) mod lasso;
pub(crate) mod lbfgs;
pub(crate) mod logistic;
pub(crate) mod multinomial;
pub(crate) mod naive_bayes;
pub(crate) mod params;
pub(crate) mod platt;
pub(crate) mod svm;
pub(crate) mod tree;

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub(crate) use params::{ParamInfo, RawParams};

/// The largest model input accepted, in absolute value. Inputs are
/// standardised, so anything near this is absurd data; the bound keeps
/// squared distances and sums of products finite.
pub(crate) const MAX_INPUT: f64 = 1e100;

/// A binary classifier giving P(responder).
pub(crate) trait Classifier: Sized {
    /// The algorithm's validated hyper-parameters.
    type Params;
    /// Fits on rows of `x` with labels `y` (true = responder).
    fn fit(x: ArrayView2<f64>, y: &[bool], params: &Self::Params, seed: u64) -> Result<Self>;
    /// P(responder) for every row of `x`.
    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>>;
}

/// An algorithm's name and the hyper-parameters it accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AlgorithmInfo {
    /// Name used with `--algorithm`.
    pub(crate) name: &'static str,
    /// One-line description.
    pub(crate) description: &'static str,
    /// Its parameters.
    pub(crate) params: &'static [ParamInfo],
    /// Whether it gives probabilities natively (else: Platt scaling or leaf shares).
    pub(crate) native_probabilities: bool,
    /// Whether its bundle keeps training rows.
    pub(crate) keeps_training_rows: bool,
}

/// Every algorithm responder knows, in display order.
pub(crate) const ALGORITHMS: &[AlgorithmInfo] = &[
    logistic::INFO,
    elastic_net::INFO,
    lasso::INFO,
    tree::INFO,
    forest::INFO,
    svm::INFO,
    naive_bayes::INFO,
    knn::INFO,
    boosting::INFO,
];

/// An algorithm with validated hyper-parameters; stored in bundles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub(crate) enum AlgorithmParams {
    /// L2-penalised logistic regression.
    Logistic(logistic::LogisticParams),
    /// Elastic net + Platt.
    ElasticNet(elastic_net::ElasticNetParams),
    /// L1-penalised logistic regression.
    Lasso(lasso::LassoParams),
    /// One decision tree.
    Tree(tree::TreeParams),
    /// Random forest.
    Forest(forest::ForestParams),
    /// Support vector machine.
    Svm(svm::SvmParams),
    /// Gaussian naive Bayes.
    NaiveBayes(naive_bayes::NaiveBayesParams),
    /// k nearest neighbours.
    Knn(knn::KnnParams),
    /// Gradient boosting.
    Boosting(boosting::BoostingParams),
}

impl AlgorithmParams {
    /// Builds from `--algorithm NAME` and `--param KEY=VALUE` pairs.
    pub(crate) fn from_cli(name: &str, raw: &RawParams) -> Result<AlgorithmParams> {
        use AlgorithmParams as A;
        Ok(match name {
            "logistic" => A::Logistic(logistic::LogisticParams::from_raw(raw)?),
            "elastic-net" => A::ElasticNet(elastic_net::ElasticNetParams::from_raw(raw)?),
            "lasso" => A::Lasso(lasso::LassoParams::from_raw(raw)?),
            "tree" => A::Tree(tree::TreeParams::from_raw(raw)?),
            "forest" => A::Forest(forest::ForestParams::from_raw(raw)?),
            "svm" => A::Svm(svm::SvmParams::from_raw(raw)?),
            "naive-bayes" => A::NaiveBayes(naive_bayes::NaiveBayesParams::from_raw(raw)?),
            "knn" => A::Knn(knn::KnnParams::from_raw(raw)?),
            "boosting" => A::Boosting(boosting::BoostingParams::from_raw(raw)?),
            other => {
                return Err(Error::usage(format!(
                    "unknown algorithm `{other}`; available: {}",
                    ALGORITHMS
                        .iter()
                        .map(|a| a.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        })
    }

    /// The algorithm's name.
    pub(crate) fn name(&self) -> &'static str {
        use AlgorithmParams as A;
        match self {
            A::Logistic(_) => "logistic",
            A::ElasticNet(_) => "elastic-net",
            A::Lasso(_) => "lasso",
            A::Tree(_) => "tree",
            A::Forest(_) => "forest",
            A::Svm(_) => "svm",
            A::NaiveBayes(_) => "naive-bayes",
            A::Knn(_) => "knn",
            A::Boosting(_) => "boosting",
        }
    }

    /// `key=value` pairs of the hyper-parameters, for display.
    pub(crate) fn describe(&self) -> String {
        use AlgorithmParams as A;
        match self {
            A::Logistic(p) => format!("c={}, max_iter={}, tol={}", p.c, p.max_iter, p.tol),
            A::ElasticNet(p) => p.describe(),
            A::Lasso(p) => p.describe(),
            A::Tree(p) => p.describe(),
            A::Forest(p) => p.describe(),
            A::Svm(p) => p.describe(),
            A::NaiveBayes(p) => p.describe(),
            A::Knn(p) => p.describe(),
            A::Boosting(p) => p.describe(),
        }
    }

    /// Fits this algorithm after checking the inputs linfa would panic on
    /// (no input known to be a genotype dosage).
    #[cfg(test)]
    pub(crate) fn fit(&self, x: ArrayView2<f64>, y: &[bool], seed: u64) -> Result<FittedModel> {
        self.fit_masked(x, y, &[], seed)
    }

    /// [`AlgorithmParams::fit`] with `dosage` marking the inputs that are
    /// genotype dosages (empty: none known); only the lasso uses it.
    pub(crate) fn fit_masked(
        &self,
        x: ArrayView2<f64>,
        y: &[bool],
        dosage: &[bool],
        seed: u64,
    ) -> Result<FittedModel> {
        use AlgorithmParams as A;
        use FittedModel as M;
        check_fit_inputs(x, y)?;
        Ok(match self {
            A::Logistic(p) => M::Logistic(logistic::LogisticModel::fit(x, y, p, seed)?),
            A::ElasticNet(p) => M::ElasticNet(elastic_net::ElasticNetModel::fit(x, y, p, seed)?),
            A::Lasso(p) => M::Lasso(lasso::LassoModel::fit_masked(x, y, p, dosage, seed)?),
            A::Tree(p) => M::Tree(tree::TreeModel::fit(x, y, p, seed)?),
            A::Forest(p) => M::Forest(forest::ForestModel::fit(x, y, p, seed)?),
            A::Svm(p) => M::Svm(svm::SvmModel::fit(x, y, p, seed)?),
            A::NaiveBayes(p) => M::NaiveBayes(naive_bayes::NaiveBayesModel::fit(x, y, p, seed)?),
            A::Knn(p) => M::Knn(knn::KnnModel::fit(x, y, p, seed)?),
            A::Boosting(p) => M::Boosting(boosting::BoostingModel::fit(x, y, p, seed)?),
        })
    }
}

/// A model whose log-odds are `intercept + x·coefficients` on the
/// standardised inputs (`logistic`, `lasso`).
pub(crate) struct LinearLogit<'a> {
    /// Intercept on the logit scale.
    pub(crate) intercept: f64,
    /// One coefficient per model input.
    pub(crate) coefficients: &'a [f64],
}

/// A fitted model; stored in bundles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub(crate) enum FittedModel {
    /// Logistic regression.
    Logistic(logistic::LogisticModel),
    /// Elastic net + Platt.
    ElasticNet(elastic_net::ElasticNetModel),
    /// L1-penalised logistic regression.
    Lasso(lasso::LassoModel),
    /// One decision tree.
    Tree(tree::TreeModel),
    /// Random forest.
    Forest(forest::ForestModel),
    /// Support vector machine.
    Svm(svm::SvmModel),
    /// Gaussian naive Bayes.
    NaiveBayes(naive_bayes::NaiveBayesModel),
    /// k nearest neighbours.
    Knn(knn::KnnModel),
    /// Gradient boosting.
    Boosting(boosting::BoostingModel),
}

impl FittedModel {
    /// P(responder) for every row of `x`, after checking its shape and values.
    pub(crate) fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        use FittedModel as M;
        let want = self.n_inputs();
        if x.ncols() != want {
            return Err(Error::Fit(format!(
                "the model expects {want} inputs but was given {}",
                x.ncols()
            )));
        }
        // A fold without an early exit (and `|`, not `||`) compiles to
        // vector code: the short-circuiting scan cost 3.7 times the lasso's
        // own product in `explain`'s permutations.
        let bad = x.rows().into_iter().any(|r| {
            r.iter()
                .fold(false, |b, v| b | v.is_nan() | (v.abs() > MAX_INPUT))
        });
        if bad {
            return Err(Error::Fit(format!(
                "a model input is not a number or beyond ±{MAX_INPUT:e} standard deviations of the training data"
            )));
        }
        if x.nrows() == 0 {
            return Ok(Array1::zeros(0));
        }
        let p = match self {
            M::Logistic(m) => m.predict_proba(x),
            M::ElasticNet(m) => m.predict_proba(x),
            M::Lasso(m) => m.predict_proba(x),
            M::Tree(m) => m.predict_proba(x),
            M::Forest(m) => m.predict_proba(x),
            M::Svm(m) => m.predict_proba(x),
            M::NaiveBayes(m) => m.predict_proba(x),
            M::Knn(m) => m.predict_proba(x),
            M::Boosting(m) => m.predict_proba(x),
        }?;
        if p.iter().any(|v| !v.is_finite()) {
            return Err(Error::Fit(format!(
                "{} produced a probability that is not a number",
                self.name()
            )));
        }
        Ok(p)
    }

    /// The intercept and coefficients of a model linear on the logit.
    pub(crate) fn logit_linear(&self) -> Option<LinearLogit<'_>> {
        let (intercept, coefficients) = match self {
            FittedModel::Logistic(m) => (m.intercept, &m.coefficients),
            FittedModel::Lasso(m) => (m.intercept, &m.coefficients),
            _ => return None,
        };
        Some(LinearLogit {
            intercept,
            coefficients,
        })
    }

    /// Number of inputs the model takes.
    pub(crate) fn n_inputs(&self) -> usize {
        use FittedModel as M;
        match self {
            M::Logistic(m) => m.coefficients.len(),
            M::ElasticNet(m) => m.coefficients.len(),
            M::Lasso(m) => m.coefficients.len(),
            M::Tree(m) => m.n_inputs,
            M::Forest(m) => m.n_inputs,
            M::Svm(m) => m.n_inputs,
            M::NaiveBayes(m) => m.n_inputs(),
            M::Knn(m) => m.n_inputs,
            M::Boosting(m) => m.n_inputs,
        }
    }

    /// The algorithm's name.
    pub(crate) fn name(&self) -> &'static str {
        use FittedModel as M;
        match self {
            M::Logistic(_) => "logistic",
            M::ElasticNet(_) => "elastic-net",
            M::Lasso(_) => "lasso",
            M::Tree(_) => "tree",
            M::Forest(_) => "forest",
            M::Svm(_) => "svm",
            M::NaiveBayes(_) => "naive-bayes",
            M::Knn(_) => "knn",
            M::Boosting(_) => "boosting",
        }
    }

    /// Whether the fit stopped at its iteration limit before converging.
    pub(crate) fn not_converged(&self) -> bool {
        match self {
            FittedModel::Logistic(m) => m.not_converged,
            FittedModel::ElasticNet(m) => m.not_converged,
            FittedModel::Lasso(m) => m.not_converged,
            _ => false,
        }
    }

    /// Whether this fitted model stores training rows.
    pub(crate) fn holds_training_rows(&self) -> bool {
        match self {
            FittedModel::Knn(_) => true,
            FittedModel::Svm(m) => m.n_support > 0,
            _ => false,
        }
    }

    /// Checks stored values after loading a bundle.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        use FittedModel as M;
        match self {
            M::Logistic(m) => m.validate(),
            M::ElasticNet(m) => m.validate(),
            M::Lasso(m) => m.validate(),
            M::Tree(m) => m.tree.validate(m.n_inputs),
            M::Forest(m) => m.validate(),
            M::Svm(m) => m.validate(),
            M::NaiveBayes(m) => m.validate(m.n_inputs()),
            M::Knn(m) => m.validate(),
            M::Boosting(m) => m.validate(),
        }
    }
}

/// Refuses inputs that make linfa panic or return nonsense: no rows, a
/// length mismatch, a non-finite value, or a single class.
pub(crate) fn check_fit_inputs(x: ArrayView2<f64>, y: &[bool]) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::Fit(format!(
            "cannot fit a model on {} rows × {} columns",
            x.nrows(),
            x.ncols()
        )));
    }
    if x.nrows() != y.len() {
        return Err(Error::Fit(format!(
            "internal: {} rows but {} labels",
            x.nrows(),
            y.len()
        )));
    }
    if let Some((i, _)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::Fit(format!(
            "feature matrix has a non-finite value (row {}, input {})",
            i / x.ncols() + 1,
            i % x.ncols() + 1
        )));
    }
    let pos = y.iter().filter(|&&v| v).count();
    if pos == 0 || pos == y.len() {
        return Err(Error::Fit(format!(
            "the training rows hold one class only ({pos} responders of {})",
            y.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn data() -> (Array2<f64>, Vec<bool>) {
        // Deterministic pseudo-random inputs with a signal in the first two.
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let x = Array2::from_shape_fn((160, 6), |_| next() * 3.0);
        let y = (0..160)
            .map(|i| x[[i, 0]] + 0.8 * x[[i, 1]] + next() * 2.0 > 0.0)
            .collect();
        (x, y)
    }

    #[test]
    fn every_algorithm_round_trips_through_json_with_identical_predictions() {
        let (x, y) = data();
        // Each algorithm's defaults, and the lasso's adaptive refit.
        let adaptive = RawParams::parse(&["adaptive=0.001".to_string()]).unwrap();
        let runs = ALGORITHMS
            .iter()
            .map(|info| {
                (
                    info,
                    AlgorithmParams::from_cli(info.name, &RawParams::default()),
                )
            })
            .chain([(&lasso::INFO, AlgorithmParams::from_cli("lasso", &adaptive))]);
        for (info, params) in runs {
            let params = params.unwrap();
            // The parameters round-trip too (the bundle stores them).
            let text = serde_json::to_string(&params).unwrap();
            assert_eq!(
                serde_json::from_str::<AlgorithmParams>(&text).unwrap(),
                params
            );
            let model = params.fit(x.view(), &y, 7).unwrap();
            let p1 = model.predict_proba(x.view()).unwrap();
            assert!(p1.iter().all(|p| (0.0..=1.0).contains(p)), "{}", info.name);
            let auc = crate::stats::scores::auc(p1.as_slice().unwrap(), &y).unwrap();
            assert!(auc > 0.7, "{}: in-sample AUC {auc}", info.name);
            let json = serde_json::to_string(&model).unwrap();
            let back: FittedModel = serde_json::from_str(&json).unwrap();
            back.validate().unwrap();
            assert_eq!(back, model, "{}", info.name);
            let p2 = back.predict_proba(x.view()).unwrap();
            let same = p1.iter().zip(&p2).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{}: predictions changed after reload", info.name);
            // Same seed, same model.
            let again = params.fit(x.view(), &y, 7).unwrap();
            assert_eq!(
                serde_json::to_string(&again).unwrap(),
                json,
                "{}",
                info.name
            );
            assert_eq!(
                model.holds_training_rows(),
                info.name == "knn",
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn nan_and_one_class_never_reach_linfa() {
        let (mut x, y) = data();
        for info in ALGORITHMS {
            let params = AlgorithmParams::from_cli(info.name, &RawParams::default()).unwrap();
            assert!(params.fit(x.view(), &[true; 160], 1).is_err());
            assert!(params.fit(x.slice(ndarray::s![..0, ..]), &[], 1).is_err());
        }
        x[[3, 2]] = f64::NAN;
        let e = AlgorithmParams::from_cli("svm", &RawParams::default())
            .unwrap()
            .fit(x.view(), &y, 1)
            .unwrap_err();
        assert!(e.to_string().contains("row 4, input 3"), "{e}");
    }

    #[test]
    fn wrong_width_is_an_error_not_a_panic() {
        let (x, y) = data();
        for info in ALGORITHMS {
            let params = AlgorithmParams::from_cli(info.name, &RawParams::default()).unwrap();
            let model = params.fit(x.view(), &y, 7).unwrap();
            let narrow = x.slice(ndarray::s![.., ..3]);
            assert!(model.predict_proba(narrow).is_err(), "{}", info.name);
        }
    }

    #[test]
    fn unknown_keys_list_valid_keys_with_defaults() {
        for info in ALGORITHMS {
            let raw = RawParams::parse(&["bogus=1".to_string()]).unwrap();
            let e = AlgorithmParams::from_cli(info.name, &raw)
                .unwrap_err()
                .to_string();
            assert!(e.contains("unknown parameter `bogus`"), "{e}");
            for p in info.params {
                assert!(
                    e.contains(&format!("{} (default {})", p.key, p.default)),
                    "{e}"
                );
            }
        }
    }
}
