//! A synthetic cohort with known truth: clinical features, SNP dosages, and
//! each patient's true response probability under every therapy. Response
//! depends on clinical features, a few causal SNPs and therapy × feature
//! interactions, so that the best therapy differs between patients.

use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::stats::sigmoid;

/// The simulated therapies, in output order.
pub(crate) const THERAPIES: [&str; 3] = ["TMS", "ketamine", "SSRI"];

/// The clinical columns between `patient_id` and `therapy`.
pub(crate) const CLINICAL_FEATURES: [&str; 8] = [
    "age",
    "sex",
    "madrs_baseline",
    "episode_months",
    "prior_failures",
    "anxiety",
    "crp",
    "bmi",
];

/// Share of clinical feature cells left empty.
pub(crate) const CLINICAL_MISSING: f64 = 0.05;
/// Share of genotype cells left empty.
pub(crate) const GENOTYPE_MISSING: f64 = 0.01;

/// A causal SNP: its index and per-allele effect on each therapy's logit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CausalSnp {
    /// Index among the SNP columns.
    pub(crate) index: usize,
    /// The SNP's name.
    pub(crate) name: String,
    /// Effect per allele on the logit under TMS, ketamine, SSRI.
    pub(crate) effect: [f64; 3],
}

/// The simulated cohort, as CSV text.
#[cfg(test)]
#[derive(Debug, Clone)]
pub(crate) struct Cohort {
    /// `clinical.csv`.
    pub(crate) clinical: String,
    /// `genotypes.csv`.
    pub(crate) genotypes: String,
    /// `truth.csv`.
    pub(crate) truth: String,
    /// The causal SNPs (for documentation and tests).
    pub(crate) causal: Vec<CausalSnp>,
}

fn normal(rng: &mut impl Rng) -> f64 {
    // Box–Muller; u1 in (0, 1].
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Per-allele effects of the causal SNPs on (TMS, ketamine, SSRI).
const CAUSAL_EFFECTS: [[f64; 3]; 8] = [
    [0.30, 0.30, 0.30],    // general response
    [-0.25, -0.25, -0.25], // general non-response
    [0.20, 0.20, 0.20],    // general response
    [0.0, 0.0, -0.60],     // SSRI metaboliser (CYP2C19-like)
    [0.0, 0.0, 0.45],      // SSRI target (SLC6A4-like)
    [0.0, 0.55, 0.0],      // ketamine (glutamatergic)
    [0.0, -0.40, 0.0],     // ketamine non-response
    [0.50, 0.0, 0.0],      // TMS (BDNF-like)
];

/// The SNPs of a cohort: names, minor-allele frequencies, causal SNPs.
struct Snps {
    names: Vec<String>,
    maf: Vec<f64>,
    causal: Vec<CausalSnp>,
}

impl Snps {
    /// Draws `snps` SNP names at increasing positions, their frequencies
    /// (0.05–0.5) and distinct causal SNPs.
    fn draw(rng: &mut impl Rng, snps: usize) -> Snps {
        let mut names = Vec::with_capacity(snps);
        let mut maf = Vec::with_capacity(snps);
        let mut pos: u64 = 1_000_000 + rng.gen_range(0..100_000);
        for _ in 0..snps {
            pos += rng.gen_range(1_000..60_000);
            names.push(format!("rs{pos}"));
            maf.push(rng.gen_range(0.05..0.5));
        }
        let mut causal = Vec::new();
        let mut taken = vec![false; snps];
        for effect in CAUSAL_EFFECTS.iter().take(snps) {
            let mut j = rng.gen_range(0..snps);
            while taken[j] {
                j = (j + 1) % snps;
            }
            taken[j] = true;
            causal.push(CausalSnp {
                index: j,
                name: names[j].clone(),
                effect: *effect,
            });
        }
        Snps { names, maf, causal }
    }
}

/// Variants of the simulated design (all off: the default cohort).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Design {
    /// No treatment-effect heterogeneity: every patient's response
    /// probability under each therapy is one prognostic probability plus a
    /// constant per therapy (the risk difference is the same for everyone).
    pub(crate) no_heterogeneity: bool,
    /// Therapy assigned by a multinomial logit of prior failures, CRP and
    /// anxiety (confounded), the true propensities written to
    /// propensity.csv.
    pub(crate) confounded: bool,
    /// Number of sites (0: no `site` column); each site shifts every
    /// therapy's logit by its own N(0, 0.5²) offset.
    pub(crate) sites: usize,
}

/// Constant risk differences over the prognostic probability under
/// `--no-heterogeneity`, for (TMS, ketamine, SSRI).
const CONSTANT_EFFECT: [f64; 3] = [0.06, 0.0, -0.04];

/// One simulated patient's clinical values and therapy.
struct Patient {
    age: f64,
    female: bool,
    madrs: f64,
    episode: f64,
    prior: f64,
    anxiety: bool,
    crp: f64,
    bmi: f64,
    therapy: usize,
    /// True propensities of the three therapies.
    propensity: [f64; 3],
}

impl Patient {
    /// Draws the clinical values, the therapy and then `dosage` (in this
    /// order: the stream of random numbers defines the cohort).
    fn draw(rng: &mut impl Rng, maf: &[f64], dosage: &mut [u8], design: Design) -> Patient {
        let age = (45.0 + 13.0 * normal(rng)).clamp(18.0, 80.0).round();
        let female = rng.gen_bool(0.6);
        let madrs = (31.0 + 6.0 * normal(rng)).clamp(20.0, 54.0).round();
        let episode = (10f64.ln() + 0.9 * normal(rng))
            .exp()
            .clamp(1.0, 240.0)
            .round();
        let u: f64 = rng.gen();
        let prior = [0.30, 0.60, 0.80, 0.92, 1.0]
            .iter()
            .position(|&c| u < c)
            .unwrap_or(4) as f64;
        let anxiety = rng.gen_bool(0.45);
        let crp = ((2.5f64.ln() + 0.8 * normal(rng)).exp().clamp(0.1, 50.0) * 10.0).round() / 10.0;
        let bmi = ((27.0 + 5.0 * normal(rng)).clamp(16.0, 50.0) * 10.0).round() / 10.0;
        let (therapy, propensity) = if design.confounded {
            // More prior failures → TMS; higher CRP → ketamine; anxiety → SSRI.
            let z_crp = (crp.ln() - 2.5f64.ln()) / 0.8;
            let lin = [
                0.7 * (prior - 1.3),
                0.8 * z_crp,
                0.6 * f64::from(u8::from(anxiety)),
            ];
            let m = lin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let w = lin.map(|v| (v - m).exp());
            let s: f64 = w.iter().sum();
            let e = w.map(|v| v / s);
            let u: f64 = rng.gen();
            let t = if u < e[0] {
                0
            } else if u < e[0] + e[1] {
                1
            } else {
                2
            };
            (t, e)
        } else {
            (rng.gen_range(0..THERAPIES.len()), [1.0 / 3.0; 3])
        };
        for (j, d) in dosage.iter_mut().enumerate() {
            *d = u8::from(rng.gen_bool(maf[j])) + u8::from(rng.gen_bool(maf[j]));
        }
        Patient {
            age,
            female,
            madrs,
            episode,
            prior,
            anxiety,
            crp,
            bmi,
            therapy,
            propensity,
        }
    }

    /// The true response probability under each therapy.
    fn truth(&self, snps: &Snps, dosage: &[u8], design: Design, site_shift: f64) -> [f64; 3] {
        let z_age = (self.age - 45.0) / 13.0;
        let z_madrs = (self.madrs - 31.0) / 6.0;
        let z_ep = (self.episode.ln() - 10f64.ln()) / 0.9;
        let z_crp = (self.crp.ln() - 2.5f64.ln()) / 0.8;
        let z_bmi = (self.bmi - 27.0) / 5.0;
        let anx = f64::from(u8::from(self.anxiety));
        let fem = f64::from(u8::from(self.female));
        let prior = self.prior;
        let common = -0.30 * z_madrs - 0.20 * z_ep + 0.10 * fem;
        if design.no_heterogeneity {
            // One prognostic probability (clinical and SNP effects common to
            // all therapies) plus a constant risk difference per therapy.
            let mut l = common - 0.20 * (prior - 1.3) + site_shift;
            for c in &snps.causal {
                let centred = f64::from(dosage[c.index]) - 2.0 * snps.maf[c.index];
                l += c.effect.iter().sum::<f64>() / 3.0 * centred;
            }
            let q = sigmoid(0.8 * l).clamp(0.1, 0.9);
            return CONSTANT_EFFECT.map(|d| q + d);
        }
        let mut logit = [
            -0.10 + common - 0.35 * z_age - 0.45 * z_ep - 0.25 * (prior - 1.3),
            -0.35 + common + 0.40 * (prior - 1.3) + 0.50 * z_crp + 0.30 * anx,
            0.05 + common - 0.45 * (prior - 1.3) - 0.45 * anx - 0.30 * z_bmi,
        ];
        for c in &snps.causal {
            let centred = f64::from(dosage[c.index]) - 2.0 * snps.maf[c.index];
            for (t, l) in logit.iter_mut().enumerate() {
                *l += c.effect[t] * centred;
            }
        }
        logit.map(|l| sigmoid(l + site_shift))
    }

    /// The clinical cells between the ID and the therapy.
    fn cells(&self) -> [String; 8] {
        [
            format!("{}", self.age),
            (if self.female { "F" } else { "M" }).to_string(),
            format!("{}", self.madrs),
            format!("{}", self.episode),
            format!("{}", self.prior),
            (if self.anxiety { "yes" } else { "no" }).to_string(),
            format!("{:.1}", self.crp),
            format!("{:.1}", self.bmi),
        ]
    }
}

/// The three files' header lines.
fn headers(snps: &Snps, design: Design, out: &mut [&mut dyn Write; 4]) -> io::Result<()> {
    let clinical = format!(
        "patient_id,{},therapy,responder{}\n",
        CLINICAL_FEATURES.join(","),
        if design.sites > 0 { ",site" } else { "" }
    );
    let mut genotypes = String::from("patient_id");
    for n in &snps.names {
        genotypes.push(',');
        genotypes.push_str(n);
    }
    genotypes.push('\n');
    let mut truth = String::from("patient_id");
    for t in THERAPIES {
        truth.push_str(",p_");
        truth.push_str(t);
    }
    truth.push('\n');
    out[0].write_all(clinical.as_bytes())?;
    out[1].write_all(genotypes.as_bytes())?;
    out[2].write_all(truth.as_bytes())?;
    if design.confounded {
        out[3].write_all(b"patient_id,e_TMS,e_ketamine,e_SSRI\n")?;
    }
    Ok(())
}

/// Writes a cohort of `patients` patients with `snps` SNPs from `seed` as
/// it is drawn (memory does not grow with the number of patients) into
/// `out` = clinical, genotypes, truth, propensities (written only when
/// `variant.confounded`). Returns the causal SNPs.
pub(crate) fn simulate_into(
    patients: usize,
    snps: usize,
    seed: u64,
    variant: Design,
    out: &mut [&mut dyn Write; 4],
) -> io::Result<Vec<CausalSnp>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let design = Snps::draw(&mut rng, snps);
    // Site offsets come from their own stream, so the default cohort's
    // random numbers are unchanged.
    let mut site_rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5173_5173);
    let site_shift: Vec<f64> = (0..variant.sites)
        .map(|_| 0.5 * normal(&mut site_rng))
        .collect();
    headers(&design, variant, out)?;
    let mut dosage = vec![0u8; snps];
    let (mut clinical, mut genotypes, mut truth) = (String::new(), String::new(), String::new());
    for i in 0..patients {
        let id = format!("P{:05}", i + 1);
        let patient = Patient::draw(&mut rng, &design.maf, &mut dosage, variant);
        let site = (variant.sites > 0).then(|| site_rng.gen_range(0..variant.sites));
        let p = patient.truth(
            &design,
            &dosage,
            variant,
            site.map_or(0.0, |s| site_shift[s]),
        );
        let responder = rng.gen_bool(p[patient.therapy]);
        // Clinical row, with cells missing at random.
        clinical.clear();
        clinical.push_str(&id);
        for cell in patient.cells() {
            clinical.push(',');
            if !rng.gen_bool(CLINICAL_MISSING) {
                clinical.push_str(&cell);
            }
        }
        clinical.push(',');
        clinical.push_str(THERAPIES[patient.therapy]);
        clinical.push_str(if responder { ",1" } else { ",0" });
        if let Some(s) = site {
            clinical.push_str(&format!(",S{}", s + 1));
        }
        clinical.push('\n');
        genotypes.clear();
        genotypes.push_str(&id);
        for &d in &dosage {
            genotypes.push(',');
            if !rng.gen_bool(GENOTYPE_MISSING) {
                genotypes.push(char::from(b'0' + d));
            }
        }
        genotypes.push('\n');
        truth.clear();
        truth.push_str(&id);
        for v in p {
            truth.push_str(&format!(",{v:.6}"));
        }
        truth.push('\n');
        out[0].write_all(clinical.as_bytes())?;
        out[1].write_all(genotypes.as_bytes())?;
        out[2].write_all(truth.as_bytes())?;
        if variant.confounded {
            let e = patient.propensity;
            out[3].write_all(format!("{id},{:.6},{:.6},{:.6}\n", e[0], e[1], e[2]).as_bytes())?;
        }
    }
    Ok(design.causal)
}

/// Simulates `patients` patients with `snps` SNPs from `seed`, in memory.
#[cfg(test)]
pub(crate) fn simulate(patients: usize, snps: usize, seed: u64) -> Cohort {
    let (mut c, mut g, mut t) = (Vec::new(), Vec::new(), Vec::new());
    let causal = simulate_into(
        patients,
        snps,
        seed,
        Design::default(),
        &mut [&mut c, &mut g, &mut t, &mut io::sink()],
    )
    .expect("writing to memory cannot fail");
    let text = |v: Vec<u8>| String::from_utf8(v).expect("ASCII");
    Cohort {
        clinical: text(c),
        genotypes: text(g),
        truth: text(t),
        causal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_cohort() {
        let a = simulate(50, 10, 3);
        let b = simulate(50, 10, 3);
        assert_eq!(a.clinical, b.clinical);
        assert_eq!(a.genotypes, b.genotypes);
        assert_eq!(a.truth, b.truth);
        assert_ne!(a.clinical, simulate(50, 10, 4).clinical);
    }

    #[test]
    fn shapes_and_missingness() {
        let c = simulate(400, 20, 1);
        assert_eq!(c.clinical.lines().count(), 401);
        assert_eq!(c.truth.lines().count(), 401);
        let g: Vec<&str> = c.genotypes.lines().collect();
        assert_eq!(g.len(), 401);
        assert_eq!(g[0].split(',').count(), 21);
        let empty = c
            .clinical
            .lines()
            .skip(1)
            .flat_map(|l| l.split(',').skip(1).take(8))
            .filter(|s| s.is_empty())
            .count();
        let share = empty as f64 / (400.0 * 8.0);
        assert!((0.03..0.07).contains(&share), "{share}");
        assert_eq!(c.causal.len(), 8);
    }

    #[test]
    fn best_therapy_differs_between_patients() {
        let c = simulate(300, 30, 2);
        let mut best = [0usize; 3];
        for line in c.truth.lines().skip(1) {
            let p: Vec<f64> = line
                .split(',')
                .skip(1)
                .map(|s| s.parse().unwrap())
                .collect();
            let b = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            best[b] += 1;
        }
        assert!(best.iter().all(|&n| n > 30), "{best:?}");
    }
}
