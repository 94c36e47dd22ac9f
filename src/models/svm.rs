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
use crate::models::cached::Cached;
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
        help: "penalty of margin violations (larger = less regularisation, and a much slower linear fit)",
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
            c: p.num("c", c, Range::Above(0.0))?,
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

/// A fitted SVM: linfa's model as JSON plus the Platt map of its decision values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SvmModel {
    /// Number of inputs.
    pub(crate) n_inputs: usize,
    /// Kernel used.
    pub(crate) kernel: Kernel,
    /// Support vectors kept (Gaussian kernel only).
    pub(crate) n_support: usize,
    /// Map from decision value to probability.
    pub(crate) platt: Platt,
    /// linfa's fitted model (serde form).
    pub(crate) svm: serde_json::Value,
    /// linfa's model rebuilt from `svm`, on first use.
    #[serde(skip)]
    pub(crate) parsed: Cached<Svm<f64, Pr>>,
}

impl SvmModel {
    fn linfa(&self) -> Result<&Svm<f64, Pr>> {
        self.parsed.get_or_make(|| {
            serde_json::from_value(self.svm.clone())
                .map_err(|e| Error::Fit(format!("stored SVM cannot be read: {e}")))
        })
    }

    /// Checks stored values.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.platt.validate()?;
        self.linfa().map(|_| ()).map_err(|e| e.to_string())
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
        let value = serde_json::to_value(&svm).map_err(|e| Error::Fit(format!("SVM: {e}")))?;
        Ok(SvmModel {
            n_inputs: x.ncols(),
            kernel: params.kernel,
            n_support,
            platt,
            svm: value,
            parsed: Cached::default(),
        })
    }

    fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let svm = self.linfa()?;
        Ok(x.outer_iter()
            .map(|r| self.platt.predict(svm.weighted_sum(&r) - svm.rho))
            .collect())
    }
}
