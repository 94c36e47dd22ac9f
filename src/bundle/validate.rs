//! Checks of a loaded bundle: every count, index, shape and cross-reference
//! a command will rely on, so that an edited or corrupt bundle is refused
//! with a message naming the key instead of panicking, hanging or giving
//! silently wrong results.

use std::collections::HashSet;

use crate::bundle::{Bundle, Design, Strategy};
use crate::features::genotype::{pc_name, PRS_FEATURE};
use crate::features::FittedFeature;
use crate::models::causal_forest::GROUP;

type Check = std::result::Result<(), String>;

/// The first name that appears twice.
fn duplicate<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = HashSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

/// One arm's effect model: a positive penalty, the X-learner's mix exactly
/// for an X-learner, `b0` replicates, finite weights of `width`. The
/// message starts after the key.
fn arm_effect(a: &super::ArmEffect, x: bool, width: usize, b0: usize) -> Check {
    if !(a.alpha.is_finite() && a.alpha > 0.0) {
        return Err(": `alpha` must be a positive number".into());
    }
    match (&a.x_learner, x) {
        (Some(s), true) if !(s.g > 0.0 && s.g < 1.0) => {
            return Err(".x_learner.g must lie in (0, 1)".into())
        }
        (Some(_), true) | (None, false) => {}
        (None, true) => return Err(".x_learner is missing".into()),
        (Some(_), false) => return Err(".x_learner is only used by the x-learner".into()),
    }
    if a.replicates.len() != b0 {
        return Err(format!(
            " has {} `replicates` but `effect.arms[0]` has {b0}: every arm needs the same number",
            a.replicates.len()
        ));
    }
    for (b, m) in std::iter::once(&a.model).chain(&a.replicates).enumerate() {
        let what = if b == 0 {
            "model".to_string()
        } else {
            format!("replicates[{}]", b - 1)
        };
        if !m.is_finite() || m.weights.len() != width {
            return Err(format!(
                ".{what} has {} weights (or one that is not a number); it needs {width} (the control arm's pipeline outputs)",
                m.weights.len()
            ));
        }
    }
    Ok(())
}

/// An X-learner's two stages: finite weights of `width`, `b0` replicate
/// pairs, and the propensity model that mixes them.
fn x_stages(st: &super::XStages, width: usize, b0: usize, propensity: bool) -> Check {
    if !propensity {
        return Err(" need `effect.propensity` to be mixed".into());
    }
    if st.replicates.len() != b0 {
        return Err(format!(
            " has {} replicate pairs; the arm has {b0} replicates",
            st.replicates.len()
        ));
    }
    let all = [&st.treated, &st.control]
        .into_iter()
        .chain(st.replicates.iter().flat_map(|(a, b)| [a, b]));
    for m in all {
        if !m.is_finite() || m.weights.len() != width {
            return Err(format!(
                " hold a stage with {} weights (or one that is not a number); it needs {width}",
                m.weights.len()
            ));
        }
    }
    Ok(())
}

impl Bundle {
    /// Internal consistency of a loaded bundle; the message names the key.
    pub(crate) fn validate(&self) -> Check {
        self.validate_arms_shape()?;
        self.validate_features()?;
        self.validate_genotypes()?;
        for (i, arm) in self.arms.iter().enumerate() {
            self.validate_arm(i)
                .map_err(|e| format!("arms[{i}] (`{}`): {e}", arm.label()))?;
        }
        self.validate_training()?;
        self.validate_effect()?;
        self.validate_cross_fitted()
    }

    /// A DR- or X-learner has an effect model for every arm but its control,
    /// with the control pipeline's width, finite numbers and the same
    /// number of replicates; a causal forest has a forest for each; other
    /// strategies have none.
    fn validate_effect(&self) -> Check {
        let effect_strategy = self.strategy.has_effect_stage();
        let Some(e) = &self.effect else {
            return match effect_strategy {
                true => Err(format!(
                    "`strategy` is {} but `effect` is missing",
                    self.strategy.as_str()
                )),
                false => Ok(()),
            };
        };
        if !effect_strategy {
            return Err(format!(
                "`effect` is only used by the dr-learner, x-learner and causal-forest, but `strategy` is {}",
                self.strategy.as_str()
            ));
        }
        let k = self.arms.len();
        if e.control >= k || k < 2 {
            return Err(format!(
                "`effect.control` is {} but there are {k} arms",
                e.control
            ));
        }
        let want: Vec<usize> = (0..k).filter(|&a| a != e.control).collect();
        let forest = self.strategy == Strategy::CausalForest;
        let (key, arms): (&str, Vec<usize>) = match forest {
            true => ("forests", e.forests.iter().map(|a| a.arm).collect()),
            false => ("arms", e.arms.iter().map(|a| a.arm).collect()),
        };
        let other_empty = match forest {
            true => e.arms.is_empty(),
            false => e.forests.is_empty(),
        };
        if arms != want || !other_empty {
            return Err(format!(
                "`effect.{key}` covers arms {arms:?}; it needs {want:?} (every arm but the control {}, in order), and only the {} has it",
                e.control,
                self.strategy.as_str()
            ));
        }
        if !(e.propensity_floor > 0.0 && e.propensity_floor < 0.5) {
            return Err("`effect.propensity_floor` must lie in (0, 0.5)".into());
        }
        let width = self.arms[e.control].pipeline.width();
        if forest {
            return self.validate_forests(e, width);
        }
        let x = self.strategy == Strategy::XLearner;
        if let Some(m) = &e.propensity {
            if !x || !m.is_valid(self.arms.len(), width) {
                return Err(format!(
                    "`effect.propensity` must be an x-learner's multinomial model of the {} arms on the {width} outputs of the control arm's pipeline, with finite numbers",
                    self.arms.len()
                ));
            }
        }
        let b0 = e.replicates();
        for (j, a) in e.arms.iter().enumerate() {
            arm_effect(a, x, width, b0).map_err(|m| format!("`effect.arms[{j}]`{m}"))?;
            let staged = a.x_learner.as_ref().and_then(|s| s.stages.as_ref());
            if let Some(st) = staged {
                x_stages(st, width, b0, e.propensity.is_some())
                    .map_err(|m| format!("`effect.arms[{j}].x_learner.stages`{m}"))?;
            }
        }
        if b0 != self.arms[0].replicates.len() {
            return Err(format!(
                "`effect.arms[0]` has {b0} `replicates` but arms[0] has {}: the intervals pair them",
                self.arms[0].replicates.len()
            ));
        }
        Ok(())
    }

    /// Causal forests: whole little bags, the same number of trees in each,
    /// valid trees on the control pipeline's outputs, no arm replicates.
    fn validate_forests(&self, e: &super::EffectModel, width: usize) -> Check {
        let t0 = e.forests[0].forest.trees.len();
        for (j, f) in e.forests.iter().enumerate() {
            let t = f.forest.trees.len();
            if t != t0 || t < 2 * GROUP || t % GROUP != 0 {
                return Err(format!(
                    "`effect.forests[{j}]` has {t} trees: every forest needs the same number, a multiple of {GROUP} and at least {}",
                    2 * GROUP
                ));
            }
            for (b, tree) in f.forest.trees.iter().enumerate() {
                tree.validate(width)
                    .map_err(|m| format!("`effect.forests[{j}].forest.trees[{b}]`: {m}"))?;
            }
        }
        let offset = e.forests[0].t_learner_offset;
        if e.forests.iter().any(|f| f.t_learner_offset != offset) {
            return Err(
                "`effect.forests[].t_learner_offset` must be the same for every forest".into(),
            );
        }
        if !offset && !self.arms[0].replicates.is_empty() {
            return Err("a causal forest without `t_learner_offset` has no `replicates` in its arms (its intervals come from its little bags)".into());
        }
        Ok(())
    }

    /// Arms exist, are named when there is a therapy column, and are distinct.
    fn validate_arms_shape(&self) -> Check {
        if self.arms.is_empty() {
            return Err("`arms` is empty".into());
        }
        match &self.therapy_column {
            None if self.arms.len() > 1 => {
                return Err(format!(
                    "`therapy_column` is missing but there are {} arms: without it no patient can be assigned to an arm",
                    self.arms.len()
                ))
            }
            None => {}
            Some(col) => {
                if col.is_empty() {
                    return Err("`therapy_column` is empty".into());
                }
                if let Some(i) = self.arms.iter().position(|a| a.therapy.as_deref().is_none_or(str::is_empty)) {
                    return Err(format!("arms[{i}].therapy is missing or empty, but the bundle has a therapy column"));
                }
            }
        }
        if let Some(d) = duplicate(self.arms.iter().filter_map(|a| a.therapy.as_deref())) {
            return Err(format!("arm `{d}` appears twice in `arms`"));
        }
        if self.strategy == Strategy::SLearner && self.arms.len() < 2 {
            return Err("`strategy` is s-learner but there is only one arm".into());
        }
        Ok(())
    }

    /// Feature names are distinct; computed genotype features (`prs`,
    /// `pcK`) are computed by the bundle's genotype section.
    fn validate_features(&self) -> Check {
        if self.features.is_empty() {
            return Err("`features` is empty".into());
        }
        if let Some(d) = duplicate(self.features.iter().map(|f| f.name.as_str())) {
            return Err(format!("feature `{d}` appears twice in `features`"));
        }
        let g = self.genotypes.as_ref();
        let n_pcs = g.map_or(0, |g| {
            g.pca.as_ref().map_or(0, |p| p.components.len())
                + g.projection.as_ref().map_or(0, |p| p.components)
        });
        for f in &self.features {
            if f.name == PRS_FEATURE && !g.is_some_and(|g| g.prs.iter().any(|p| p.name == f.name)) {
                return Err("`features` has `prs` but `genotypes.prs` has no score of that name: it cannot be computed".into());
            }
            let pc = f
                .name
                .strip_prefix("pc")
                .and_then(|k| k.parse::<usize>().ok());
            if let Some(k) = pc.filter(|&k| k >= 1 && pc_name(k) == f.name) {
                if g.is_some_and(|g| g.pca.is_some() || g.projection.is_some()) && k > n_pcs {
                    return Err(format!(
                        "`features` has `{}` but `genotypes.{}` has {n_pcs} components",
                        f.name,
                        if g.is_some_and(|g| g.pca.is_some()) {
                            "pca"
                        } else {
                            "projection"
                        }
                    ));
                }
            }
        }
        Ok(())
    }

    /// The genotype section: distinct SNPs, a PCA with SNPs and components,
    /// finite weights.
    fn validate_genotypes(&self) -> Check {
        let Some(g) = &self.genotypes else {
            return Ok(());
        };
        if let Some(d) = duplicate(g.prs.iter().map(|p| p.name.as_str())) {
            return Err(format!("score `{d}` appears twice in `genotypes.prs`"));
        }
        if let Some(p) = g
            .prs
            .iter()
            .find(|p| p.name != PRS_FEATURE && !p.name.starts_with("prs_"))
        {
            return Err(format!(
                "`genotypes.prs` has a score named `{}`: scores are named `prs` or `prs_<name>`",
                p.name
            ));
        }
        if g.frequencies
            .values()
            .any(|f| !(f.is_finite() && (0.0..=1.0).contains(f)))
        {
            return Err("`genotypes.frequencies` has a value that is not a frequency (0–1)".into());
        }
        for p in &g.prs {
            let n = &p.name;
            if p.weights.is_empty() {
                return Err(format!("`genotypes.prs` `{n}`: `weights` is empty"));
            }
            if let Some(d) = duplicate(p.weights.iter().map(|w| w.snp.as_str())) {
                return Err(format!(
                    "`genotypes.prs` `{n}`: SNP `{d}` appears twice in `weights`"
                ));
            }
            if p.weights.iter().any(|w| {
                !w.weight.is_finite() || !w.impute.is_finite() || !(0.0..=2.0).contains(&w.impute)
            }) {
                return Err(format!("`genotypes.prs` `{n}`: `weights` has a weight or imputation value that is not a number (or an imputed dosage outside 0–2)"));
            }
        }
        if let Some(p) = &g.pca {
            if p.snps.is_empty() || p.components.is_empty() {
                return Err(format!(
                    "`genotypes.pca` has {} SNPs and {} components: it needs at least one of each",
                    p.snps.len(),
                    p.components.len()
                ));
            }
            if let Some(d) = duplicate(p.snps.iter().map(String::as_str)) {
                return Err(format!("SNP `{d}` appears twice in `genotypes.pca.snps`"));
            }
            p.validate().map_err(|e| format!("`genotypes.pca`: {e}"))?;
        }
        if let Some(p) = &g.projection {
            if g.pca.is_some() {
                return Err("`genotypes` has both `pca` and `projection`: a model has one set of components".into());
            }
            if let Some(d) = duplicate(p.snps.iter().map(String::as_str)) {
                return Err(format!(
                    "SNP `{d}` appears twice in `genotypes.projection.snps`"
                ));
            }
            p.validate()
                .map_err(|e| format!("`genotypes.projection`: {e}"))?;
        }
        Ok(())
    }

    /// One arm: counts, pipeline, model and design.
    fn validate_arm(&self, i: usize) -> Check {
        let arm = &self.arms[i];
        if arm.n == 0 || arm.responders == 0 || arm.responders >= arm.n {
            return Err(format!(
                "`responders` ({}) must be between 1 and `n` ({}) − 1: a model needs both classes",
                arm.responders, arm.n
            ));
        }
        if arm.pipeline.schema() != self.features {
            return Err("its `pipeline` does not match `features`".into());
        }
        arm.pipeline
            .validate()
            .map_err(|e| format!("`pipeline`: {e}"))?;
        for f in &arm.pipeline.features {
            if let FittedFeature::Categorical { name, levels, .. } = f {
                if let Some(d) = duplicate(levels.iter().map(String::as_str)) {
                    return Err(format!("`pipeline`: level `{d}` of `{name}` appears twice"));
                }
            }
        }
        arm.model.validate().map_err(|e| format!("`model`: {e}"))?;
        if arm.model.name() != arm.algorithm.name() {
            return Err(format!(
                "`model` is {} but `algorithm` is {}",
                arm.model.name(),
                arm.algorithm.name()
            ));
        }
        let width = arm.design.width(arm.pipeline.width());
        if arm.model.n_inputs() != width {
            return Err(format!(
                "the model takes {} inputs but the pipeline and design make {width}",
                arm.model.n_inputs()
            ));
        }
        self.arm_replicates(arm, width)?;
        self.check_design(i, arm)
    }

    /// An arm's `design` fits the strategy: per-arm models, or one
    /// S-learner's copies (the S-learner, or the outcome models of the DR-,
    /// X-learner and causal forest).
    fn check_design(&self, i: usize, arm: &super::Arm) -> Check {
        match (self.strategy, arm.design) {
            // The DR-, X-learner and causal forest's outcome models are a
            // T- or an S-learner: the same on every arm.
            (s, d) if s.has_effect_stage() && d.name() != self.arms[0].design.name() =>
            {
                Err(format!(
                    "its `design` is {} but arms[0]'s is {}: the outcome models are one T- or one S-learner",
                    d.name(),
                    self.arms[0].design.name()
                ))
            }
            (
                Strategy::TLearner
                | Strategy::DrLearner
                | Strategy::XLearner
                | Strategy::CausalForest,
                Design::PerArm,
            ) => Ok(()),
            (
                Strategy::SLearner
                | Strategy::DrLearner
                | Strategy::XLearner
                | Strategy::CausalForest,
                Design::SLearner {
                    arm: a,
                    arms,
                    deviation_penalty,
                },
            ) => {
                if a != i || arms != self.arms.len() {
                    return Err(format!(
                        "`design` says arm {a} of {arms}, but it is arm {i} of {}",
                        self.arms.len()
                    ));
                }
                self.check_deviation_penalty(i, arm, deviation_penalty)?;
                // One model for all arms: every copy must be the same.
                let first = &self.arms[0];
                if arm.model != first.model
                    || arm.pipeline != first.pipeline
                    || arm.algorithm != first.algorithm
                    || arm.replicates != first.replicates
                {
                    return Err(
                        "its copy of the S-learner's shared model differs from arms[0]'s".into(),
                    );
                }
                Ok(())
            }
            (s, _) => Err(format!("`design` does not fit `strategy` {}", s.as_str())),
        }
    }

    /// An S-learner arm's `deviation_penalty`: in (0, 1]; 1 on every arm
    /// (equal penalties, as bundles before the data-shared lasso) or a
    /// lasso's √(n_a / n) on every arm; and then format version 3.
    fn check_deviation_penalty(
        &self,
        i: usize,
        arm: &super::Arm,
        deviation_penalty: f64,
    ) -> std::result::Result<(), String> {
        if !(deviation_penalty > 0.0 && deviation_penalty <= 1.0) {
            return Err(format!(
                "`design.deviation_penalty` is {deviation_penalty}; it must be above 0 and at most 1"
            ));
        }
        // 1 on every arm (equal penalties, as bundles before the
        // data-shared lasso), or a lasso's √(n_a / n) on every arm.
        let sizes: Vec<usize> = self.arms.iter().map(|a| a.n).collect();
        let lasso = matches!(arm.model, crate::models::FittedModel::Lasso(_));
        let want = crate::bundle::deviation_penalties(&sizes, lasso)[i];
        let all_one = self
            .arms
            .iter()
            .all(|a| a.design.deviation_penalty() == 1.0);
        if !all_one && (deviation_penalty - want).abs() > 1e-12 {
            return Err(format!(
                "`design.deviation_penalty` is {deviation_penalty}, but the data-shared lasso's weight for {} of {} patients is {want} (√(n_arm / n); 1 on every arm for equal penalties)",
                arm.n,
                sizes.iter().sum::<usize>()
            ));
        }
        if deviation_penalty != 1.0 && self.format_version < 3 {
            return Err(format!(
                "`design.deviation_penalty` needs `format_version` 3, but the bundle says {}",
                self.format_version
            ));
        }
        Ok(())
    }

    /// An arm's bootstrap replicates: valid models of the arm's algorithm
    /// and width, as many as arms[0]'s.
    fn arm_replicates(&self, arm: &super::Arm, width: usize) -> Check {
        for (b, r) in arm.replicates.iter().enumerate() {
            r.validate()
                .map_err(|e| format!("`replicates[{b}]`: {e}"))?;
            if r.name() != arm.algorithm.name() || r.n_inputs() != width {
                return Err(format!(
                    "`replicates[{b}]` is {} with {} inputs; the arm's model is {} with {width}",
                    r.name(),
                    r.n_inputs(),
                    arm.algorithm.name()
                ));
            }
        }
        let b0 = self.arms[0].replicates.len();
        if arm.replicates.len() != b0 {
            return Err(format!(
                "it has {} `replicates` but arms[0] has {b0}: every arm needs the same number",
                arm.replicates.len()
            ));
        }
        Ok(())
    }

    /// The training summary adds up.
    fn validate_training(&self) -> Check {
        let t = &self.training;
        let n: usize = self.arms.iter().map(|a| a.n).sum();
        let r: usize = self.arms.iter().map(|a| a.responders).sum();
        if t.n != n || t.responders != r {
            return Err(format!(
                "`training` counts {} patients and {} responders but the arms add up to {n} and {r}",
                t.n, t.responders
            ));
        }
        if t.n_joined < t.n {
            return Err(format!(
                "`training.n_joined` ({}) is below `training.n` ({})",
                t.n_joined, t.n
            ));
        }
        Ok(())
    }

    /// Cross-fitted predictions: one row per distinct training patient.
    fn validate_cross_fitted(&self) -> Check {
        let Some(cf) = &self.cross_fitted else {
            return Ok(());
        };
        let n = cf.ids.len();
        if cf.received.len() != n
            || cf.p.len() != self.arms.len()
            || cf.p.iter().any(|v| v.len() != n)
        {
            return Err(format!(
                "`cross_fitted` has {n} IDs, {} received arms and {} probability rows (one per arm, of {n} each, are needed)",
                cf.received.len(),
                cf.p.len()
            ));
        }
        if let Some(i) = cf.received.iter().position(|&a| a >= self.arms.len()) {
            return Err(format!(
                "`cross_fitted.received[{i}]` names arm {} of {}",
                cf.received[i],
                self.arms.len()
            ));
        }
        if cf.p.iter().flatten().any(|p| !(0.0..=1.0).contains(p)) {
            return Err("`cross_fitted.p` has a value that is not a probability".into());
        }
        if cf.ids.iter().any(String::is_empty) {
            return Err("`cross_fitted.ids` has an empty ID".into());
        }
        if let Some(d) = duplicate(cf.ids.iter().map(String::as_str)) {
            return Err(format!("patient `{d}` appears twice in `cross_fitted.ids`"));
        }
        Ok(())
    }
}
