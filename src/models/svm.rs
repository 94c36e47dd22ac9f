//! Support vector machine (linfa-svm), linear or Gaussian kernel, with
//! Platt-scaled probabilities. The solver tolerance defaults to 1e-3:
//! linfa's 1e-7 default is slow (a linear SVM on 2,000 rows took 61 s) for
//! the same AUC. A Gaussian-kernel model keeps its support vectors, which
//! are training rows.

use linfa::dataset::Pr;
use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::params::Range;
use crate::models::platt::Platt;
use crate::models::{AlgorithmInfo, Classifier, ParamInfo, RawParams};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "kernel",
        default: "linear",
        help: "linear or gaussian",
    },
    ParamInfo {
        key: "c",
        default: "0.01 (linear) / 1.0 (gaussian)",
        help: "penalty of margin violations, in (0, 10] (larger = less regularisation and a much slower fit: c=10 takes 3 s on 600 patients, c=100 15 s, with no gain in ranking)",
    },
    ParamInfo {
        key: "gamma",
        default: "0",
        help: "Gaussian kernel width, exp(-gamma·|x-y|²) (0 = 1 / number of inputs)",
    },
    ParamInfo {
        key: "eps",
        default: "0.001",
        help: "solver tolerance",
    },
];

/// Registry entry.
pub(crate) const INFO: AlgorithmInfo = AlgorithmInfo {
    name: "svm",
    description:
        "support vector machine (linfa-svm), linear or Gaussian kernel, Platt probabilities",
    params: PARAMS,
    native_probabilities: false,
    keeps_training_rows: true,
};

/// The kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kernel {
    /// Plain dot product.
    Linear,
    /// Radial basis function.
    Gaussian,
}

/// Hyper-parameters of the SVM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SvmParams {
    /// Kernel.
    pub(crate) kernel: Kernel,
    /// Penalty.
    pub(crate) c: f64,
    /// Gaussian width (0 = 1/inputs).
    pub(crate) gamma: f64,
    /// Solver tolerance.
    pub(crate) eps: f64,
}

impl Default for SvmParams {
    fn default() -> Self {
        SvmParams {
            kernel: Kernel::Linear,
            c: 0.01,
            gamma: 0.0,
            eps: 1e-3,
        }
    }
}

impl SvmParams {
    /// Validates `--param` values.
    pub(crate) fn from_raw(raw: &RawParams) -> Result<SvmParams> {
        let p = raw.reader("svm", PARAMS)?;
        let d = SvmParams::default();
        let kernel = match p.text("kernel") {
            None | Some("linear") => Kernel::Linear,
            Some("gaussian") | Some("rbf") => Kernel::Gaussian,
            Some(other) => {
                return Err(Error::usage(format!(
                    "--param kernel={other} for svm: kernel must be linear or gaussian"
                )))
            }
        };
        let c = if kernel == Kernel::Linear { d.c } else { 1.0 };
        Ok(SvmParams {
            kernel,
            c: p.num("c", c, Range::AboveUpTo(0.0, 10.0))?,
            gamma: p.num("gamma", d.gamma, Range::AtLeast(0.0))?,
            eps: p.num("eps", d.eps, Range::Above(0.0))?,
        })
    }

    /// `key=value` summary.
    pub(crate) fn describe(&self) -> String {
        format!(
            "kernel={}, c={}, gamma={}, eps={}",
            match self.kernel {
                Kernel::Linear => "linear",
                Kernel::Gaussian => "gaussian",
            },
            self.c,
            if self.gamma == 0.0 {
                "1/inputs".to_string()
            } else {
                self.gamma.to_string()
            },
            self.eps
        )
    }
}

/// The separating function of a fitted SVM, in responder's own checked
/// form: a weight vector (linear kernel) or the support vectors with their
/// dual coefficients (Gaussian kernel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Separator {
    /// `decision(x) = w · x − rho`.
    Linear {
        /// One weight per input.
        weights: Vec<f64>,
    },
    /// `decision(x) = Σ alpha_k exp(−|sv_k − x|² / eps) − rho`.
    Gaussian {
        /// Kernel width as linfa stores it (1 / gamma).
        eps: f64,
        /// Dual coefficient of each support vector.
        alpha: Vec<f64>,
        /// The support vectors, row after row (training rows).
        vectors: Vec<f64>,
    },
}

/// A fitted SVM: its separating function and the Platt map of its decision
/// values. The decision value is computed with linfa-svm's arithmetic, so
/// predictions are identical to linfa's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredSvm")]
pub(crate) struct SvmModel {
    /// Number of inputs.
    pub(crate) n_inputs: usize,
    /// Kernel used.
    pub(crate) kernel: Kernel,
    /// Support vectors kept (Gaussian kernel only).
    pub(crate) n_support: usize,
    /// Map from decision value to probability.
    pub(crate) platt: Platt,
    /// The offset of the decision value.
    pub(crate) rho: f64,
    /// The separating function.
    pub(crate) separator: Separator,
}

/// An SVM as stored: this format, or linfa-svm's serde form in bundles
/// written before responder 0.2 (converted on load).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSvm {
    Own {
        n_inputs: usize,
        kernel: Kernel,
        n_support: usize,
        platt: Platt,
        rho: f64,
        separator: Separator,
    },
    Linfa {
        n_inputs: usize,
        kernel: Kernel,
        n_support: usize,
        platt: Platt,
        svm: serde_json::Value,
    },
}

impl TryFrom<StoredSvm> for SvmModel {
    type Error = String;

    fn try_from(s: StoredSvm) -> std::result::Result<Self, String> {
        let m = match s {
            StoredSvm::Own {
                n_inputs,
                kernel,
                n_support,
                platt,
                rho,
                separator,
            } => SvmModel {
                n_inputs,
                kernel,
                n_support,
                platt,
                rho,
                separator,
            },
            StoredSvm::Linfa {
                n_inputs,
                kernel,
                n_support,
                platt,
                svm,
            } => {
                let svm: Svm<f64, Pr> = serde_json::from_value(svm)
                    .map_err(|e| format!("the stored SVM cannot be read: {e}"))?;
                from_linfa(&svm, n_inputs, kernel, n_support, platt)?
            }
        };
        m.validate()?;
        Ok(m)
    }
}

/// The linfa model's separating function in the checked form.
fn from_linfa(
    svm: &Svm<f64, Pr>,
    n_inputs: usize,
    kernel: Kernel,
    n_support: usize,
    platt: Platt,
) -> std::result::Result<SvmModel, String> {
    // linfa's serde form is the only public view of its hyperplane.
    let v = serde_json::to_value(svm).map_err(|e| format!("SVM: {e}"))?;
    let data = |x: &serde_json::Value| -> std::result::Result<Vec<f64>, String> {
        serde_json::from_value(x.get("data").cloned().unwrap_or_default())
            .map_err(|e| format!("the stored SVM is malformed: {e}"))
    };
    let separator = match (
        &v["sep_hyperplane"]["Linear"],
        &v["sep_hyperplane"]["WeightedCombination"],
    ) {
        (w, _) if !w.is_null() => Separator::Linear { weights: data(w)? },
        (_, sv) if !sv.is_null() => {
            let eps = v["kernel_method"]["Gaussian"]
                .as_f64()
                .ok_or("the stored SVM's kernel is not Gaussian")?;
            // linfa pairs the support vectors with the coefficients above
            // its threshold, in order.
            let alpha = svm
                .alpha
                .iter()
                .copied()
                .filter(|a| a.abs() > 100.0 * f64::EPSILON)
                .collect();
            Separator::Gaussian {
                eps,
                alpha,
                vectors: data(sv)?,
            }
        }
        _ => return Err("the stored SVM has no separating function".into()),
    };
    Ok(SvmModel {
        n_inputs,
        kernel,
        n_support,
        platt,
        rho: svm.rho,
        separator,
    })
}

impl SvmModel {
    /// Checks every shape and value: a vector one short or one column
    /// narrow is refused, not read past or misaligned.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.platt.validate()?;
        if !self.rho.is_finite() {
            return Err("the SVM offset is not a number".into());
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match (&self.separator, self.kernel) {
            (Separator::Linear { weights }, Kernel::Linear) => {
                if weights.len() != self.n_inputs || !finite(weights) {
                    return Err(format!(
                        "the SVM has {} weights for {} inputs (or a weight that is not a number)",
                        weights.len(),
                        self.n_inputs
                    ));
                }
            }
            (
                Separator::Gaussian {
                    eps,
                    alpha,
                    vectors,
                },
                Kernel::Gaussian,
            ) => {
                if !(eps.is_finite() && *eps > 0.0)
                    || alpha.len() != self.n_support
                    || vectors.len() != self.n_support * self.n_inputs
                    || !finite(alpha)
                    || !finite(vectors)
                {
                    return Err(format!(
                        "the SVM's {} coefficients and {} support-vector values do not match n_support {} × {} inputs (or the kernel width or a value is not a number)",
                        alpha.len(),
                        vectors.len(),
                        self.n_support,
                        self.n_inputs
                    ));
                }
            }
            _ => return Err("the SVM's separating function does not match its kernel".into()),
        }
        Ok(())
    }

    /// The decision value of one row (linfa-svm's `weighted_sum − rho`).
    fn decision(&self, row: ndarray::ArrayView1<f64>) -> f64 {
        let sum = match &self.separator {
            Separator::Linear { weights } => {
                let w = ndarray::ArrayView1::from(&weights[..]);
                (&w * &row).sum()
            }
            Separator::Gaussian {
                eps,
                alpha,
                vectors,
            } => vectors
                .chunks_exact(self.n_inputs.max(1))
                .zip(alpha)
                .map(|(sv, a)| {
                    let d = sv
                        .iter()
                        .zip(row.iter())
                        .map(|(x, y)| (*x - *y) * (*x - *y))
                        .sum::<f64>();
                    (-d / eps).exp() * *a
                })
                .sum(),
        };
        sum - self.rho
    }
}

impl Classifier for SvmModel {
    type Params = SvmParams;

    fn fit(x: ArrayView2<f64>, y: &[bool], params: &SvmParams, _seed: u64) -> Result<Self> {
        let targets: Array1<bool> = y.iter().copied().collect();
        let ds = DatasetBase::new(x.to_owned(), targets);
        let base = Svm::<f64, Pr>::params()
            .pos_neg_weights(params.c, params.c)
            .eps(params.eps);
        let base = match params.kernel {
            Kernel::Linear => base.linear_kernel(),
            Kernel::Gaussian => {
                let gamma = if params.gamma > 0.0 {
                    params.gamma
                } else {
                    1.0 / x.ncols() as f64
                };
                base.gaussian_kernel(1.0 / gamma)
            }
        };
        let svm = base
            .fit(&ds)
            .map_err(|e| Error::Fit(format!("SVM failed: {e}")))?;
        let decision: Vec<f64> = x
            .outer_iter()
            .map(|r| svm.weighted_sum(&r) - svm.rho)
            .collect();
        if decision.iter().any(|d| !d.is_finite()) {
            return Err(Error::Fit("SVM produced non-finite decision values".into()));
        }
        let platt = Platt::fit(&decision, y)?;
        let n_support = match params.kernel {
            Kernel::Linear => 0,
            Kernel::Gaussian => svm.nsupport(),
        };
        let model =
            from_linfa(&svm, x.ncols(), params.kernel, n_support, platt).map_err(Error::Fit)?;
        model.validate().map_err(Error::Fit)?;
        Ok(model)
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(x.outer_iter()
            .map(|r| self.platt.predict(self.decision(r)))
            .collect())
    }
}
