//! Genotype formats, allele flips, the polygenic score and principal
//! components, on the committed fixtures in tests/fixtures/genetics/
//! (written by make_fixtures.py there).

use std::path::Path;

use crate::common::{fails, fails_usage, repo, responder, write};

fn fx(name: &str) -> String {
    repo(&format!("tests/fixtures/genetics/{name}"))
}

fn train(geno: &str, out: &Path, extra: &[&str]) -> String {
    let o = responder()
        .args(["train", "--data", &fx("clinical.csv"), "--genotypes"])
        .arg(geno)
        .args([
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
            "--cv",
            "2",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    stderr
}

/// (stdout, stderr) of a successful `score --format csv`.
fn score(model: &Path, data: &str, geno: &str) -> (String, String) {
    let o = responder()
        .args(["score", "--model"])
        .arg(model)
        .args(["--data", data, "--genotypes", geno, "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    (String::from_utf8(o.stdout).unwrap(), stderr)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn feature_names(b: &serde_json::Value) -> Vec<String> {
    b["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_format_gives_the_same_features_model_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    train(&fx("train.raw"), &m, &[]);
    let b = json(&m);
    assert_eq!(
        feature_names(&b),
        ["age", "rs1", "rs2", "rs3", "rs4", "rs5", "rs6"]
    );
    // PLINK 1.9 .raw names the counted allele only
    assert_eq!(
        b["genotypes"]["alleles"]["rs1"],
        serde_json::json!({"counted": "A"})
    );
    let (want, _) = score(&m, &fx("clinical.csv"), &fx("train.raw"));
    for geno in [
        "train_plink2.raw",
        "train_ds.vcf",
        "train_gt.vcf",
        "train_gt.vcf.gz",
    ] {
        let (got, stderr) = score(&m, &fx("clinical.csv"), &fx(geno));
        assert_eq!(got, want, "scoring {geno}");
        if geno.contains("vcf") {
            // Scoring reads only the model's records: the multi-allelic
            // site, not a model SNP, is not read (training counts it).
            assert!(!stderr.contains("multi-allelic"), "{stderr}");
        }
    }
    // A VCF saved with a byte-order mark was recognised, then refused.
    let bom = dir.path().join("bom.vcf");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(std::fs::read(fx("train_gt.vcf")).unwrap());
    std::fs::write(&bom, bytes).unwrap();
    let (got, _) = score(&m, &fx("clinical.csv"), &bom.display().to_string());
    assert_eq!(got, want, "a VCF with a byte-order mark");
    // training on each format gives the same models
    for geno in ["train_plink2.raw", "train_ds.vcf", "train_gt.vcf.gz"] {
        let m2 = dir.path().join("m2.json");
        let stderr = train(&fx(geno), &m2, &[]);
        let b2 = json(&m2);
        assert_eq!(b2["arms"], b["arms"], "training on {geno}");
        assert_eq!(feature_names(&b2), feature_names(&b));
        if geno.contains("vcf") {
            assert!(stderr.contains("skipped 1 multi-allelic sites"), "{stderr}");
            // VCF: counted = ALT, other = REF
            assert_eq!(
                b2["genotypes"]["alleles"]["rs1"],
                serde_json::json!({"counted": "A", "other": "G"})
            );
        }
    }
}

#[test]
fn a_file_counting_the_other_allele_is_flipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    train(&fx("train_plink2.raw"), &m, &[]);
    let (want, _) = score(&m, &fx("clinical.csv"), &fx("train_plink2.raw"));
    let (got, stderr) = score(&m, &fx("clinical.csv"), &fx("flipped.raw"));
    assert_eq!(got, want);
    assert!(
        stderr.contains("flipped.raw: flipped 2 SNPs that count the other allele"),
        "{stderr}"
    );
    // also against a PLINK 1.9 training file (other allele unknown there)
    let m1 = dir.path().join("m1.json");
    train(&fx("train.raw"), &m1, &[]);
    let (got, stderr) = score(&m1, &fx("clinical.csv"), &fx("flipped.raw"));
    assert_eq!(got, want);
    assert!(stderr.contains("flipped 2 SNPs"), "{stderr}");
    // a dosage CSV names no alleles: no check, said on stderr
    let csv = dir.path().join("g.csv");
    let raw = std::fs::read_to_string(fx("train.raw")).unwrap();
    let mut text = String::from("patient_id,rs1,rs2,rs3,rs4,rs5,rs6\n");
    for line in raw.lines().skip(1) {
        let f: Vec<&str> = line.split(' ').collect();
        text.push_str(&format!("{},{}\n", f[1], f[6..].join(",")));
    }
    std::fs::write(&csv, text).unwrap();
    let (got, stderr) = score(&m1, &fx("clinical.csv"), csv.to_str().unwrap());
    assert_eq!(got, want);
    assert!(stderr.contains("names no alleles"), "{stderr}");
}

/// A SNP monomorphic in the scoring fileset: plink 1.9 writes `rs1_0`
/// (allele `0` = none) with every value 0. That is never a reason to flip:
/// the patients score as with `rs1_A` at 0 copies, and stderr says so.
#[test]
fn plink_missing_allele_code_is_never_flipped() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    for training in ["train.raw", "train_plink2.raw"] {
        train(&fx(training), &m, &[]);
        let raw = std::fs::read_to_string(fx("train.raw")).unwrap();
        let mut zero = String::new();
        let mut named = String::new();
        for (i, line) in raw.lines().enumerate() {
            let mut f: Vec<&str> = line.split(' ').collect();
            if i == 0 {
                f[6] = "rs1_0";
                zero.push_str(&(f.join(" ") + "\n"));
                f[6] = "rs1_A";
            } else {
                f[6] = "0";
                zero.push_str(&(f.join(" ") + "\n"));
            }
            named.push_str(&(f.join(" ") + "\n"));
        }
        let zero = write(dir.path(), "mono.raw", &zero);
        let named = write(dir.path(), "named.raw", &named);
        let (want, _) = score(&m, &fx("clinical.csv"), &named);
        let (got, stderr) = score(&m, &fx("clinical.csv"), &zero);
        assert_eq!(got, want, "{training}");
        assert!(!stderr.contains("flipped 1 SNP"), "{stderr}");
        assert!(
            stderr.contains("mono.raw: 1 SNP column counts allele `0`"),
            "{stderr}"
        );
    }
}

/// `train_plink2.raw` with its header rewritten by `header` and each
/// listed column's dosages replaced by 2 − dosage.
fn rewrite(header: &[(&str, &str)], flip: &[usize]) -> String {
    let raw = std::fs::read_to_string(fx("train_plink2.raw")).unwrap();
    let mut out = String::new();
    for (i, line) in raw.lines().enumerate() {
        let mut f: Vec<String> = line.split(' ').map(str::to_string).collect();
        if i == 0 {
            for (old, new) in header {
                let k = f.iter().position(|c| c == old).unwrap();
                f[k] = new.to_string();
            }
        } else {
            for &k in flip {
                if let Ok(d) = f[k].parse::<f64>() {
                    f[k] = format!("{}", 2.0 - d);
                }
            }
        }
        out.push_str(&(f.join(" ") + "\n"));
    }
    out
}

#[test]
fn alleles_that_do_not_match_are_an_error_naming_the_snp() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    train(&fx("train_plink2.raw"), &m, &[]);
    // C/A matches G/A on neither strand.
    let bad = write(
        dir.path(),
        "bad.raw",
        &rewrite(&[("rs3_G(/A)", "rs3_C(/A)")], &[]),
    );
    fails(
        responder().args(["score", "--model"]).arg(&m).args([
            "--data",
            &fx("clinical.csv"),
            "--genotypes",
            &bad,
        ]),
        &[
            "bad.raw, line 1, column `rs3_C(/A)`",
            "SNP `rs3`",
            "counted C, other A",
            "train_plink2.raw (counted G, other A)",
        ],
    );
    // evaluate reads genotypes the same way
    fails(
        responder().args(["evaluate", "--model"]).arg(&m).args([
            "--data",
            &fx("clinical.csv"),
            "--genotypes",
            &bad,
        ]),
        &["SNP `rs3`"],
    );
}

/// A/G in training vs T/C: the other strand, recognised, complemented and
/// counted; with the counted allele swapped too, also flipped.
#[test]
fn complement_strand_alleles_are_recognised_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    train(&fx("train_plink2.raw"), &m, &[]);
    let (want, _) = score(&m, &fx("clinical.csv"), &fx("train_plink2.raw"));
    // rs1 A/G → T/C (same counted base); rs2 C/T → A/G (complement of the
    // other allele counted: values 2 − d).
    let other = write(
        dir.path(),
        "strand.raw",
        &rewrite(
            &[("rs1_A(/G)", "rs1_T(/C)"), ("rs2_C(/T)", "rs2_A(/G)")],
            &[7],
        ),
    );
    let (got, stderr) = score(&m, &fx("clinical.csv"), &other);
    assert_eq!(got, want);
    assert!(
        stderr.contains("strand.raw: 2 SNPs on the other strand of the training file train_plink2.raw (A/G vs T/C), read as the complementary alleles: `rs1`, `rs2`"),
        "{stderr}"
    );
    // bad_allele.raw (rs3 C/T where training has G/A) is the other strand.
    let (got, stderr) = score(&m, &fx("clinical.csv"), &fx("bad_allele.raw"));
    assert_eq!(got, want);
    assert!(stderr.contains("1 SNP on the other strand"), "{stderr}");
}

/// A/T in training vs T/A (a genuine allele flip, or a strand flip: the
/// files cannot tell): dropped by default, kept as an allele flip with
/// --keep-ambiguous; the same labels are read as they are.
#[test]
fn palindromic_snps_are_dropped_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let train_file = write(
        dir.path(),
        "pal.raw",
        &rewrite(&[("rs5_A(/C)", "rs5_A(/T)")], &[]),
    );
    let m = dir.path().join("m.json");
    train(&train_file, &m, &[]);
    let (want, stderr) = score(&m, &fx("clinical.csv"), &train_file);
    assert!(!stderr.contains("palindromic"), "{stderr}");
    let flipped = write(
        dir.path(),
        "palflip.raw",
        &rewrite(&[("rs5_A(/C)", "rs5_T(/A)")], &[10]),
    );
    let (dropped, stderr) = score(&m, &fx("clinical.csv"), &flipped);
    assert!(
        stderr.contains("palflip.raw: dropped 1 palindromic SNP (A/T or C/G) whose counted allele differs from the training file pal.raw"),
        "{stderr}"
    );
    assert!(stderr.contains("`rs5`"), "{stderr}");
    assert_ne!(dropped, want);
    let o = responder()
        .args(["score", "--model"])
        .arg(&m)
        .args([
            "--data",
            &fx("clinical.csv"),
            "--genotypes",
            &flipped,
            "--format",
            "csv",
        ])
        .arg("--keep-ambiguous")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(String::from_utf8(o.stdout).unwrap(), want);
    assert!(
        stderr.contains("kept as an allele flip (--keep-ambiguous"),
        "{stderr}"
    );
}

#[test]
fn polygenic_score_is_a_feature_and_scoring_recomputes_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let stderr = train(
        &fx("train_plink2.raw"),
        &m,
        &["--prs-weights", &fx("prs_weights.txt")],
    );
    assert!(
        stderr.contains("polygenic score `prs` from 5 of 6 SNPs; 1 not in"),
        "{stderr}"
    );
    let b = json(&m);
    assert!(feature_names(&b).contains(&"prs".to_string()));
    let prs = &b["genotypes"]["prs"][0];
    assert_eq!(prs["name"], "prs");
    assert_eq!(prs["unmatched"], 1);
    assert_eq!(prs["mean_imputation"], true);
    assert_eq!(prs["weights"][1]["snp"], "rs2");
    assert_eq!(
        prs["weights"][1]["flip"], true,
        "effect allele T is the other allele"
    );
    let (a, _) = score(&m, &fx("clinical.csv"), &fx("train_plink2.raw"));
    let (b2, _) = score(&m, &fx("clinical.csv"), &fx("flipped.raw"));
    assert_eq!(a, b2, "the score is computed after the flip");
    // a SNP of the score missing at scoring is an error naming it
    let raw = std::fs::read_to_string(fx("train_plink2.raw")).unwrap();
    let cut: String = raw
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{}\n", f[..f.len() - 2].join(" "))
        })
        .collect();
    let g = write(dir.path(), "cut.raw", &cut);
    fails(
        responder().args(["score", "--model"]).arg(&m).args([
            "--data",
            &fx("clinical.csv"),
            "--genotypes",
            &g,
        ]),
        &[
            "cut.raw",
            "polygenic score `prs` needs 1 SNP absent",
            "`rs5`",
        ],
    );
    // no-mean-imputation is stored
    let m2 = dir.path().join("m2.json");
    train(
        &fx("train.raw"),
        &m2,
        &[
            "--prs-weights",
            &fx("prs_weights.txt"),
            "--prs-no-mean-imputation",
            "--genotypes-as",
            "dosages",
        ],
    );
    assert_eq!(json(&m2)["genotypes"]["prs"][0]["mean_imputation"], false);
    // A bundle written before several scores (`prs` one object, no name)
    // scores as before.
    let mut old = json(&m);
    let one = old["genotypes"]["prs"][0].clone();
    old["genotypes"]["prs"] = one;
    old["genotypes"]["prs"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let m_old = dir.path().join("old.json");
    std::fs::write(&m_old, serde_json::to_vec(&old).unwrap()).unwrap();
    let (c, _) = score(&m_old, &fx("clinical.csv"), &fx("train_plink2.raw"));
    assert_eq!(a, c, "a one-object `prs` reads as the only score");
}

/// Several scores: files repeated with --prs-weights and a file with
/// several weight columns give `prs_<name>` features, each computed at
/// scoring; two scores with one name are refused.
#[test]
fn several_polygenic_scores() {
    let dir = tempfile::tempdir().unwrap();
    let multi = write(
        dir.path(),
        "multi.txt",
        "SNP A1 chr_name early late\nrs1 A 1 0.5 -0.1\nrs2 T 1 -0.2 0.3\nrs3 G 1 1.0 0\n",
    );
    let pgs = write(
        dir.path(),
        "PGS000123.txt",
        "#pgs_id=PGS000123\nrsID\teffect_allele\teffect_weight\nrs4\tT\t0.25\nrs5\tC\t0.4\n",
    );
    let m = dir.path().join("m.json");
    let stderr = train(
        &fx("train_plink2.raw"),
        &m,
        &[
            "--prs-weights",
            &multi,
            "--prs-weights",
            &pgs,
            "--prs-weights",
            &fx("prs_weights.txt"),
        ],
    );
    for name in ["prs_early", "prs_late", "prs_PGS000123", "prs_prs_weights"] {
        assert!(
            stderr.contains(&format!("polygenic score `{name}` from")),
            "{stderr}"
        );
    }
    let b = json(&m);
    let names = feature_names(&b);
    for name in ["prs_early", "prs_late", "prs_PGS000123", "prs_prs_weights"] {
        assert!(names.contains(&name.to_string()), "{names:?}");
    }
    assert_eq!(b["genotypes"]["prs"][1]["column"], "late");
    assert_eq!(b["genotypes"]["prs"][1]["weights"][1]["weight"], 0.3);
    let (a, _) = score(&m, &fx("clinical.csv"), &fx("train_plink2.raw"));
    let (f, _) = score(&m, &fx("clinical.csv"), &fx("flipped.raw"));
    assert_eq!(a, f, "every score is computed after the flip");
    let insp = responder().arg("inspect").arg(&m).output().unwrap();
    let text = String::from_utf8_lossy(&insp.stdout);
    assert!(text.contains("prs_late from 3 SNPs of multi.txt"), "{text}");
    fails_usage(
        responder()
            .args(["train", "--data", &fx("clinical.csv"), "--genotypes"])
            .arg(fx("train_plink2.raw"))
            .args(["--target", "responder", "--therapy-col", "therapy"])
            .args(["--prs-weights", &fx("prs_weights.txt")])
            .args(["--prs-weights", &fx("prs_weights.txt")])
            .arg("--out")
            .arg(dir.path().join("x.json")),
        &["`prs_prs_weights`", "rename a file or a weight column"],
    );
}

#[test]
fn principal_components_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let stderr = train(&fx("train.raw"), &m, &["--genotype-pcs", "2"]);
    assert!(
        stderr.contains("2 principal components of 6 SNPs on 80 training patients"),
        "{stderr}"
    );
    let b = json(&m);
    assert_eq!(
        feature_names(&b),
        ["age", "rs1", "rs2", "rs3", "rs4", "rs5", "rs6", "pc1", "pc2"]
    );
    assert_eq!(b["genotypes"]["genotypes_as"], "both");
    assert_eq!(
        b["genotypes"]["pca"]["components"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (all, _) = score(&m, &fx("clinical.csv"), &fx("train.raw"));
    // the same patients in another format score the same
    let (vcf, _) = score(&m, &fx("clinical.csv"), &fx("train_gt.vcf.gz"));
    assert_eq!(all, vcf);
    // a patient's components do not depend on who else is scored
    let clinical = std::fs::read_to_string(fx("clinical.csv")).unwrap();
    let few: String = clinical.lines().take(4).map(|l| format!("{l}\n")).collect();
    let few = write(dir.path(), "few.csv", &few);
    let (some, _) = score(&m, &few, &fx("train.raw"));
    for line in some.lines().skip(1) {
        let tail = line.split_once(',').unwrap().1;
        assert!(
            all.lines().any(|l| l.split_once(',').unwrap().1 == tail),
            "{tail} not in the full scoring"
        );
    }
    // re-training gives the same bundle (deterministic PCA)
    let m2 = dir.path().join("m2.json");
    train(&fx("train.raw"), &m2, &["--genotype-pcs", "2"]);
    assert_eq!(std::fs::read(&m).unwrap(), std::fs::read(&m2).unwrap());
    // only the components
    let m3 = dir.path().join("m3.json");
    train(
        &fx("train_ds.vcf"),
        &m3,
        &["--genotype-pcs", "3", "--genotypes-as", "pcs"],
    );
    assert_eq!(feature_names(&json(&m3)), ["age", "pc1", "pc2", "pc3"]);
    let o = responder().arg("inspect").arg(&m3).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("genotypes")
            && text.contains("3 PCs of 6 SNPs")
            && text.contains("SNP columns left out"),
        "{text}"
    );
    // scoring a PC model needs the genotypes
    fails_usage(
        responder()
            .args(["score", "--model"])
            .arg(&m3)
            .args(["--data", &fx("clinical.csv")]),
        &["`pc1`", "--genotypes"],
    );
}

#[test]
fn genetic_flag_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let base = |geno: Option<&str>| {
        let mut c = responder();
        c.args(["train", "--data", &fx("clinical.csv")]);
        if let Some(g) = geno {
            c.args(["--genotypes", g]);
        }
        c.args(["--target", "responder", "--cv", "2", "--out"])
            .arg(&out);
        c
    };
    fails_usage(
        base(None).args(["--genotype-pcs", "2"]),
        &["need --genotypes"],
    );
    fails_usage(
        base(Some(&fx("train.raw"))).args(["--genotypes-as", "pcs"]),
        &["--genotypes-as pcs needs --genotype-pcs"],
    );
    fails_usage(
        base(Some(&fx("train.raw"))).args(["--genotype-pcs", "2", "--genotypes-as", "dosages"]),
        &["--genotypes-as dosages leaves the components"],
    );
    fails_usage(
        base(Some(&fx("train.raw"))).args(["--genotype-pcs", "0"]),
        &["--genotype-pcs <K>", "1..=1000"],
    );
    fails_usage(
        base(Some(&fx("train.raw"))).args(["--genotype-pcs", "7"]),
        &["--genotype-pcs 7 is too many", "6 SNPs"],
    );
    let raw = std::fs::read_to_string(fx("train.raw")).unwrap();
    let constant: String = raw
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split(' ').collect();
            if i > 0 {
                f[6..].iter_mut().for_each(|c| *c = "1");
            }
            format!("{}\n", f.join(" "))
        })
        .collect();
    let c = write(dir.path(), "const.raw", &constant);
    fails(
        base(Some(&c)).args(["--genotype-pcs", "2"]),
        &["const.raw", "no SNP varies"],
    );
    let w = write(dir.path(), "w.txt", "rs1 A 0.5\nrs2 C x\n");
    fails(
        base(Some(&fx("train.raw"))).args(["--prs-weights", &w]),
        &["w.txt, line 2, column `weight`", "`x` is not a number"],
    );
    let w = write(dir.path(), "none.txt", "rsX A 0.5\n");
    fails(
        base(Some(&fx("train.raw"))).args(["--prs-weights", &w]),
        &["none.txt", "none of the 1 weights"],
    );
    // a bad VCF call names line and sample
    let vcf = std::fs::read_to_string(fx("train_gt.vcf"))
        .unwrap()
        .replacen("0/0", "0/5", 1);
    let v = write(dir.path(), "bad.vcf", &vcf);
    fails(
        &mut base(Some(&v)),
        &["bad.vcf, line 4, column `P", "GT `0/5` names allele 5"],
    );
    assert!(!out.exists(), "a failed run leaves no model");
}

#[test]
fn bundles_from_before_snp_ids_still_score() {
    // Earlier bundles named .raw features `rs1_A` and had no `genotypes`.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    train(&fx("train.raw"), &m, &[]);
    let (want, _) = score(&m, &fx("clinical.csv"), &fx("train.raw"));
    let mut b = json(&m);
    b.as_object_mut().unwrap().remove("genotypes");
    let mut text = serde_json::to_string_pretty(&b).unwrap();
    for (snp, allele) in [
        ("rs1", "A"),
        ("rs2", "C"),
        ("rs3", "G"),
        ("rs4", "T"),
        ("rs5", "A"),
        ("rs6", "G"),
    ] {
        text = text.replace(&format!("\"{snp}\""), &format!("\"{snp}_{allele}\""));
    }
    let old = write(dir.path(), "old.json", &text);
    let (got, _) = score(Path::new(&old), &fx("clinical.csv"), &fx("train.raw"));
    assert_eq!(got, want);
}

/// The PLINK fixture written by `bench/make_plink_fixtures.sh`.
fn plink(ext: &str) -> String {
    repo(&format!("tests/fixtures/plink/cohort{ext}"))
}

#[test]
fn plink_binary_fileset_reads_as_plinks_own_raw_export() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let clinical = repo("examples/cohort/clinical.csv");
    responder()
        .args(["train", "--data", &clinical, "--genotypes", &plink(".bed")])
        .args([
            "--target",
            "responder",
            "--therapy-col",
            "therapy",
            "--cv",
            "0",
            "--out",
        ])
        .arg(&model)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    // The .bim's A1 is counted and A2 named, as in plink's .raw.
    assert_eq!(v["genotypes"]["alleles"]["rs1101240"]["counted"], "G");
    assert_eq!(v["genotypes"]["alleles"]["rs1101240"]["other"], "A");
    let score = |geno: &str| {
        let out = responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &clinical, "--genotypes", geno, "--format", "csv"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let from_raw = score(&plink(".raw"));
    assert_eq!(from_raw.iter().filter(|&&b| b == b'\n').count(), 81);
    assert_eq!(score(&plink(".bed")), from_raw);
    // The fileset's prefix works too.
    assert_eq!(score(&plink("")), from_raw);
}

#[test]
fn broken_plink_filesets_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        for ext in ["bed", "bim", "fam"] {
            std::fs::copy(
                plink(&format!(".{ext}")),
                dir.path().join(format!("{name}.{ext}")),
            )
            .unwrap();
        }
        dir.path().join(format!("{name}.bed")).display().to_string()
    };
    let clinical = repo("examples/cohort/clinical.csv");
    let train = |geno: &str| {
        let mut c = responder();
        c.args(["train", "--data", &clinical, "--genotypes", geno])
            .args(["--target", "responder", "--cv", "0", "--out"])
            .arg(dir.path().join("m.json"));
        c
    };
    let no_bim = copy("nobim");
    std::fs::remove_file(dir.path().join("nobim.bim")).unwrap();
    fails(
        &mut train(&no_bim),
        &["nobim.bed", "needs its .bim next to it"],
    );
    let short = copy("short");
    let mut bytes = std::fs::read(&short).unwrap();
    bytes.pop();
    std::fs::write(&short, bytes).unwrap();
    fails(
        &mut train(&short),
        &[
            "short.bed",
            "has 402 bytes",
            "80 samples",
            "20 SNPs",
            "need 403",
        ],
    );
    let old = copy("old");
    let mut bytes = std::fs::read(&old).unwrap();
    bytes[2] = 0;
    std::fs::write(&old, bytes).unwrap();
    fails(&mut train(&old), &["old.bed", "individual-major"]);
    let bad = copy("badbim");
    std::fs::write(dir.path().join("badbim.bim"), "1 rs1 0 1000 A\n").unwrap();
    fails(&mut train(&bad), &["badbim.bim", "line 1", "has 5 fields"]);
    // A plink2 .pgen is named, with the command that converts it.
    let pgen = dir.path().join("x.pgen");
    std::fs::write(&pgen, [0x6c, 0x1b, 0x10, 0, 0, 0, 0, 0]).unwrap();
    fails(
        &mut train(&pgen.display().to_string()),
        &[
            "x.pgen",
            "is a PLINK binary genotype file",
            "plink2 --pfile PREFIX --make-bed",
        ],
    );
    assert!(!dir.path().join("m.json").exists());
}

/// A clinical file for the reference panel (`R001…R300`) or the new
/// samples (`N001…N040`) of the ancestry fixtures: two arms, an age and an
/// outcome that depends on both.
fn ancestry_clinical(dir: &Path, prefix: char, n: usize) -> String {
    let mut s = String::from("patient_id,therapy,age,responder\n");
    for i in 1..=n {
        let arm = if i % 2 == 0 { "ssri" } else { "tms" };
        let age = 20 + (i * 7) % 50;
        let y = u8::from((i * 13 + age / 3) % 5 < 2);
        s.push_str(&format!("{prefix}{i:03},{arm},{age},{y}\n"));
    }
    write(dir, &format!("{prefix}.csv"), &s)
}

/// `--pc-weights` projects a reference panel's plink 2 allele weights for
/// training and scoring patients alike; the scores do not depend on which
/// alleles the scoring file counts. Its errors name what to give.
#[test]
fn projected_ancestry_components() {
    let dir = tempfile::tempdir().unwrap();
    let clin = ancestry_clinical(dir.path(), 'R', 300);
    let m = dir.path().join("m.json");
    let weights = fx("real/ref.eigenvec.allele");
    let train_with = |weights: &str, extra: &[&str]| {
        let mut c = responder();
        c.args(["train", "--data", &clin, "--genotypes", &fx("real/ref.bed")])
            .args([
                "--target",
                "responder",
                "--therapy-col",
                "therapy",
                "--cv",
                "2",
            ])
            .args(["--pc-weights", weights])
            .args(extra)
            .arg("--out")
            .arg(&m);
        c
    };
    let o = train_with(&weights, &["--genotypes-as", "pcs"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("5 ancestry components pc1…pc5 projected from 1000 SNPs"),
        "{stderr}"
    );
    let b = json(&m);
    assert_eq!(
        feature_names(&b),
        ["age", "pc1", "pc2", "pc3", "pc4", "pc5"],
        "SNP columns left out"
    );
    assert_eq!(b["genotypes"]["projection"]["freq_file"], "ref.acount");
    let new = ancestry_clinical(dir.path(), 'N', 40);
    let (a, _) = score(&m, &new, &fx("real/new.bed"));
    let (r, err) = score(&m, &new, &fx("real/new.raw"));
    assert_eq!(a, r, "plink 1.9's .raw counts other alleles: flipped back");
    assert!(err.contains("flipped"), "{err}");
    assert_eq!(a.lines().count(), 41);
    // An edited projection is refused when the bundle is loaded.
    for (key, value) in [
        ("weights", serde_json::json!([1.0])),
        ("freq", serde_json::json!(1.5)),
        ("snp", serde_json::json!(5000)),
    ] {
        let mut e = b.clone();
        e["genotypes"]["projection"]["alleles"][0][key] = value;
        let p = dir.path().join("edited.json");
        std::fs::write(&p, serde_json::to_vec(&e).unwrap()).unwrap();
        fails(
            responder().args(["score", "--model"]).arg(&p).args([
                "--data",
                &new,
                "--genotypes",
                &fx("real/new.bed"),
            ]),
            &["edited.json", "`genotypes.projection`"],
        );
    }
    // The same projection with .afreq frequencies given explicitly.
    let o = train_with(&weights, &["--pc-freqs", &fx("real/ref.afreq")])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(feature_names(&json(&m)).contains(&"rs92226486".to_string()));
    // A SNP no reference sample was called for (OBS_CT 0) has no
    // frequency: its weight lines are left out and counted.
    let acount = std::fs::read_to_string(fx("real/ref.acount")).unwrap();
    let mut lines: Vec<String> = acount.lines().map(str::to_string).collect();
    let f: Vec<String> = lines[1].split('\t').map(str::to_string).collect();
    lines[1] = format!("{}\t{}\t{}\t{}\t0\t0", f[0], f[1], f[2], f[3]);
    let uncalled = write(dir.path(), "uncalled.acount", &(lines.join("\n") + "\n"));
    let o = train_with(&weights, &["--pc-freqs", &uncalled])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("projected from 999 SNPs")
            && stderr.contains("2 without a reference frequency"),
        "{stderr}"
    );
    // Errors.
    let freqless = write(
        dir.path(),
        "freqless.afreq",
        "#CHROM\tID\tREF\tALT\tOBS_CT\n1\trs92226486\tT\tC\t600\n",
    );
    fails(
        &mut train_with(&weights, &["--pc-freqs", &freqless]),
        &[
            "freqless.afreq, line 1",
            "neither ALT_CTS with OBS_CT nor ALT_FREQS",
        ],
    );
    let lone = dir.path().join("lone.eigenvec.allele");
    std::fs::copy(fx("real/ref.eigenvec.allele"), &lone).unwrap();
    let lone = lone.to_str().unwrap().to_string();
    fails_usage(
        &mut train_with(&lone, &[]),
        &["lone.eigenvec.allele", "give --pc-freqs REF.acount"],
    );
    fails_usage(
        &mut train_with(&weights, &["--genotype-pcs", "2"]),
        &["--pc-weights projects a reference panel's: give one"],
    );
    let bad = write(
        dir.path(),
        "bad.eigenvec.allele",
        "#CHROM\tID\tREF\tALT\tPC1\n1\trs1\tA\tG\t0.5\n",
    );
    let acount = fx("real/ref.acount");
    fails(
        &mut train_with(&bad, &["--pc-freqs", &acount]),
        &[
            "bad.eigenvec.allele, line 1",
            "no `A1` column",
            "--pca allele-wts",
        ],
    );
    let text = std::fs::read_to_string(fx("real/ref.eigenvec.allele"))
        .unwrap()
        .replacen("0.369091", "x", 1);
    let bad = write(dir.path(), "bad2.eigenvec.allele", &text);
    let acount = fx("real/ref.acount");
    fails(
        &mut train_with(&bad, &["--pc-freqs", &acount]),
        &[
            "bad2.eigenvec.allele, line 2, column `PC1`",
            "`x` is not a number",
        ],
    );
}

/// A polygenic score over a PLINK `.bed` is streamed over the file (its
/// SNPs are never decoded into the table) and gives the bits of the same
/// score over the `.raw` export, in training and in scoring, also for a
/// model whose only genetic feature is the score; a scoring fileset whose
/// alleles do not match is an error naming the SNP, said once.
#[test]
fn polygenic_score_streamed_over_a_bed() {
    let dir = tempfile::tempdir().unwrap();
    let clin = fx("real/clinical.csv");
    let w = fx("real/weights_plink.txt");
    let train_on = |geno: &str, out: &Path| {
        let o = responder()
            .args(["train", "--data", &clin, "--genotypes", geno])
            .args(["--target", "responder", "--cv", "2", "--features", "age"])
            .args(["--prs-weights", &w, "--out"])
            .arg(out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        stderr
    };
    let (mb, mr) = (dir.path().join("bed.json"), dir.path().join("raw.json"));
    let stderr = train_on(&fx("real/base.bed"), &mb);
    assert!(
        stderr.contains("polygenic score `prs` from 13 of 14 SNPs; 1 not in"),
        "{stderr}"
    );
    train_on(&fx("real/base_plink19_include-alt.raw"), &mr);
    let (b, r) = (json(&mb), json(&mr));
    assert_eq!(feature_names(&b), ["age", "prs"]);
    assert_eq!(b["genotypes"]["prs"], r["genotypes"]["prs"]);
    assert_eq!(b["arms"], r["arms"], "the same model");
    let raw = fx("real/base_plink19_include-alt.raw");
    let (a, _) = score(&mb, &clin, &fx("real/base.bed"));
    assert_eq!(a, score(&mb, &clin, &raw).0);
    assert_eq!(a, score(&mr, &clin, &fx("real/base.bed")).0);
    assert_eq!(a, score(&mr, &clin, &raw).0);
    let stderr = fails(
        responder().args(["score", "--model"]).arg(&mb).args([
            "--data",
            &clin,
            "--genotypes",
            &fx("real/strand.bed"),
        ]),
        &[
            "strand.bim",
            "SNP `rs116951199` of the polygenic score `prs`",
            "do not match",
        ],
    );
    // Said once (not first as the reason to read whole files, then again).
    assert_eq!(stderr.matches("do not match").count(), 1, "{stderr}");
    // A clinical file sharing no ID with the fileset: that is the error,
    // not the score's.
    let other = std::fs::read_to_string(&clin).unwrap().replace("S0", "X0");
    let other_path = dir.path().join("other.csv");
    std::fs::write(&other_path, other).unwrap();
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&mb)
            .arg("--data")
            .arg(&other_path)
            .args(["--genotypes", &fx("real/strand.bed")]),
        &["no patient ID in common"],
    );
    // A weight's SNP whose ID the .bim repeats is refused, as by a table.
    for ext in ["bed", "fam"] {
        std::fs::copy(
            fx(&format!("real/base.{ext}")),
            dir.path().join(format!("dup.{ext}")),
        )
        .unwrap();
    }
    let bim = std::fs::read_to_string(fx("real/base.bim"))
        .unwrap()
        .replacen("rs92609045", "rs73040201", 1);
    std::fs::write(dir.path().join("dup.bim"), bim).unwrap();
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&mb)
            .args(["--data", &clin, "--genotypes"])
            .arg(dir.path().join("dup.bed")),
        &["dup.bim", "rs73040201", "appears more than once"],
    );
}

/// Palindromic SNPs (A/T, C/G) whose files count different alleles are
/// told apart by allele frequency when both minor-allele frequencies are at
/// most 0.4: an allele flip (the values are the other allele's) and a
/// strand flip (the labels complemented, the values unchanged) both score
/// as the original file; nearer 0.5 the SNP is still dropped.
#[test]
fn palindromes_resolved_by_allele_frequency() {
    let dir = tempfile::tempdir().unwrap();
    let clin = fx("real/clinical.csv");
    let raw = std::fs::read_to_string(fx("real/base_plink19_include-alt.raw")).unwrap();
    let m = dir.path().join("m.json");
    let o = responder()
        .args(["train", "--data", &clin, "--genotypes"])
        .arg(fx("real/base_plink19_include-alt.raw"))
        .args(["--target", "responder", "--cv", "2", "--out"])
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success());
    let b = json(&m);
    let f = &b["genotypes"]["frequencies"];
    assert!(
        f["rs18080825"].as_f64().is_some_and(|v| v > 0.2 && v < 0.4),
        "{f}"
    );
    // Columns (0-based fields) and their swapped header names.
    let edit = |cols: &[(usize, &str)], values: bool| -> String {
        raw.lines()
            .enumerate()
            .map(|(i, l)| {
                let mut f: Vec<String> = l.split(' ').map(str::to_string).collect();
                for &(c, name) in cols {
                    if i == 0 {
                        f[c] = name.to_string();
                    } else if values && f[c] != "NA" {
                        f[c] = (2 - f[c].parse::<i32>().unwrap()).to_string();
                    }
                }
                f.join(" ") + "\n"
            })
            .collect()
    };
    let two = [(9, "rs18080825_A(/T)"), (32, "rs112361229_G(/C)")];
    let flipped = write(dir.path(), "flipped.raw", &edit(&two, true));
    let strand = write(dir.path(), "strand.raw", &edit(&two, false));
    let (a, _) = score(&m, &clin, &fx("real/base_plink19_include-alt.raw"));
    for g in [&flipped, &strand] {
        let (out, err) = score(&m, &clin, g);
        assert_eq!(out, a, "{g}");
        assert!(
            err.contains("2 palindromic SNPs (A/T or C/G) count a different allele")
                && err.contains("told apart by allele frequency"),
            "{err}"
        );
    }
    // The same labels at the other allele's frequency (a strand flip the
    // labels do not show): read as labelled, with a warning naming them.
    let header: Vec<String> = raw
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .map(str::to_string)
        .collect();
    let same = [(9, header[9].as_str()), (32, header[32].as_str())];
    let odd = write(dir.path(), "same_label.raw", &edit(&same, true));
    let (_, err) = score(&m, &clin, &odd);
    assert!(
        err.contains("warning: ")
            && err.contains(
                "2 palindromic SNPs (A/T or C/G) count the same allele as the training file"
            )
            && err.contains("`rs18080825`")
            && err.contains("check the strand"),
        "{err}"
    );
    let (_, err) = score(&m, &clin, &fx("real/base_plink19_include-alt.raw"));
    assert!(!err.contains("same allele as the training file"), "{err}");
    // Streamed in blocks of 7 rows, each block is judged by the whole
    // file's frequencies (not its own 7 patients').
    let out = responder()
        .args(["score", "--model"])
        .arg(&m)
        .args(["--data", &clin, "--genotypes", &flipped, "--format", "csv"])
        .args(["--batch-rows", "7"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("streamed in blocks of 7 rows"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), a);
    // An edited training frequency is refused when the bundle is loaded.
    let mut e = b.clone();
    e["genotypes"]["frequencies"]["rs18080825"] = serde_json::json!(1.5);
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&e).unwrap()).unwrap();
    fails(
        responder().args(["score", "--model"]).arg(&edited).args([
            "--data",
            &clin,
            "--genotypes",
            &flipped,
        ]),
        &[
            "edited.json",
            "`genotypes.frequencies` has a value that is not a frequency",
        ],
    );
    let near_half = write(
        dir.path(),
        "near_half.raw",
        &edit(&[(17, "rs6092462_C(/G)")], true),
    );
    let (out, err) = score(&m, &clin, &near_half);
    assert_ne!(out, a, "dropped, imputed");
    assert!(err.contains("dropped 1 palindromic SNP"), "{err}");
}
