//! Files read right: genotype and table files written by real tools
//! (tests/fixtures/genetics/real/, made by make.sh there with plink 1.9,
//! plink 2 and bcftools) are read as those tools mean them, or refused
//! with a message that names the problem and what to do.

use crate::common::{fails, fails_usage, repo, responder, small_clinical, write};

fn real(name: &str) -> String {
    repo(&format!("tests/fixtures/genetics/real/{name}"))
}

/// `train` on the real fixtures' clinical file with `geno`; (bundle JSON, stderr).
fn train_real(geno: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let o = responder()
        .args([
            "train",
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            geno,
        ])
        .args(["--target", "responder", "--cv", "2", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let bundle = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    (bundle, stderr)
}

/// `train` on the fixture clinical file with genotypes `geno` and `extra`
/// flags, expected to fail with `needles` in its message.
fn train_fails(geno: &str, extra: &[&str], needles: &[&str]) -> String {
    fails(
        responder()
            .args([
                "train",
                "--data",
                &real("clinical.csv"),
                "--genotypes",
                geno,
            ])
            .args(["--target", "responder", "--out", "/dev/null"])
            .args(extra),
        needles,
    )
}

fn features(b: &serde_json::Value) -> Vec<String> {
    b["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

/// `train --cv 0` on the real fixtures' clinical file (with `geno` when
/// given, and `extra`); the bundle's path, `name` in `dir`.
fn model_of(
    dir: &std::path::Path,
    name: &str,
    geno: Option<&str>,
    extra: &[&str],
) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut c = responder();
    c.args(["train", "--data", &real("clinical.csv")]);
    if let Some(g) = geno {
        c.args(["--genotypes", g]);
    }
    c.args(["--target", "responder", "--cv", "0"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

/// `score --format csv` of the real clinical file with `geno` (none when
/// `None`): (stdout, stderr) of a run that must succeed.
fn scored(model: &std::path::Path, geno: Option<&str>) -> (String, String) {
    let mut c = responder();
    c.args(["score", "--model"]).arg(model).args([
        "--data",
        &real("clinical.csv"),
        "--format",
        "csv",
    ]);
    if let Some(g) = geno {
        c.args(["--genotypes", g]);
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{geno:?}: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// bcftools merge of an imputed (GT:DS) and a genotyped (GT) batch writes
/// `0/1:.`; the genotyped samples' calls are used and counted on stderr.
#[test]
fn merged_vcf_uses_gt_where_ds_is_missing() {
    let (_, stderr) = train_real(&real("merged_ds_gt.vcf.gz"), &[]);
    assert!(
        stderr.contains("merged_ds_gt.vcf.gz: ") && stderr.contains("have no DS value"),
        "{stderr}"
    );
    assert!(stderr.contains("their GT call was used"), "{stderr}");
}

/// A GT naming allele 1 at a site whose ALT is `.` is refused, naming the
/// line and the sample.
#[test]
fn alt_dot_with_an_alt_call_is_refused() {
    train_fails(
        &real("alt_dot.vcf"),
        &[],
        &[
            "alt_dot.vcf, line 8, column `S002`",
            "ALT is `.` (no alternate allele)",
        ],
    );
}

/// Records split by `bcftools norm -m-` keep their ID; they are named
/// `ID:ALT` and both can be model features.
#[test]
fn split_multiallelic_records_are_usable() {
    let (b, stderr) = train_real(&real("multiallelic_split.vcf"), &[]);
    let f = features(&b);
    assert!(f.contains(&"rs87112396:C".to_string()), "{f:?}");
    assert!(f.contains(&"rs87112396:G".to_string()), "{f:?}");
    assert!(stderr.contains("named `ID:ALT`"), "{stderr}");
}

/// A PGS Catalog scoring file gives the same polygenic score as the PLINK
/// layout of the same weights.
#[test]
fn pgs_catalog_file_gives_the_plink_layout_score() {
    let geno = real("base_plink2_include-alt.raw");
    let prs = |w: &str| {
        let (b, _) = train_real(&geno, &["--prs-weights", &real(w)]);
        b["genotypes"]["prs"][0]["weights"].clone()
    };
    let want = prs("weights_plink.txt");
    assert!(want.as_array().is_some_and(|w| w.len() > 5), "{want}");
    assert_eq!(prs("PGS_example.txt"), want);
    assert_eq!(prs("PGS_example.txt.gz"), want);
}

/// A harmonised PGS Catalog file (tab-separated, hm_ columns, some empty
/// fields) whose rsID is empty on some lines: those take hm_rsID, or are
/// left out with a warning; the score equals the one from the published
/// layout when every weight keeps its ID.
#[test]
fn harmonised_pgs_file_with_empty_ids() {
    let geno = real("base_plink2_include-alt.raw");
    let text = std::fs::read_to_string(real("PGS_example.txt")).unwrap();
    let mut out = String::new();
    let mut data = 0;
    for line in text.lines() {
        if line.starts_with('#') {
            out += line;
        } else if line.starts_with("rsID") {
            out += &format!("{line}\thm_source\thm_rsID\thm_chr\thm_pos\thm_inferOtherAllele");
        } else {
            let f: Vec<&str> = line.split('\t').collect();
            data += 1;
            // Line 2 of the data: rsID empty, hm_rsID kept; line 3: both
            // empty (located by hm_chr/hm_pos where the genotypes have
            // positions).
            let (id, hm) = match data {
                2 => ("", f[0]),
                3 => ("", ""),
                _ => (f[0], f[0]),
            };
            out += &format!(
                "{id}\t{}\tENSEMBL\t{hm}\t{}\t{}\t",
                f[1..].join("\t"),
                f[1],
                f[2]
            );
        }
        out.push('\n');
    }
    assert_eq!(data, 14);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("PGS_hm.txt");
    std::fs::write(&p, out).unwrap();
    let (b, stderr) = train_real(&geno, &["--prs-weights", p.to_str().unwrap()]);
    assert!(
        stderr.contains(
            "PGS_hm.txt: 1 weight lines have no SNP ID, only a position, and are left out"
        ),
        "{stderr}"
    );
    let got = b["genotypes"]["prs"][0]["weights"]
        .as_array()
        .unwrap()
        .clone();
    let (all, _) = train_real(&geno, &["--prs-weights", &real("PGS_example.txt")]);
    let mut want = all["genotypes"]["prs"][0]["weights"]
        .as_array()
        .unwrap()
        .clone();
    let third = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .nth(3)
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    want.retain(|w| w["snp"] != third.as_str());
    assert!(
        want.len()
            < all["genotypes"]["prs"][0]["weights"]
                .as_array()
                .unwrap()
                .len()
    );
    assert_eq!(got, want);
    // From a `.bed`, which has positions, the line without IDs is located
    // by its hm_chr/hm_pos: every weight as in the file with IDs.
    let (b, stderr) = train_real(&real("base.bed"), &["--prs-weights", p.to_str().unwrap()]);
    assert!(
        stderr.contains("PGS_hm.txt: 1 of 1 weights located by chromosome and position"),
        "{stderr}"
    );
    let (all, _) = train_real(
        &real("base.bed"),
        &["--prs-weights", &real("PGS_example.txt")],
    );
    let got = &b["genotypes"]["prs"][0]["weights"];
    assert_eq!(got, &all["genotypes"]["prs"][0]["weights"]);
    assert!(
        got.as_array()
            .unwrap()
            .iter()
            .any(|w| w["snp"] == third.as_str()),
        "{got}"
    );
}

/// A line located by position onto a variant another line names by ID is
/// an error (both would be summed).
#[test]
fn a_variant_named_twice_by_id_and_position_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.txt");
    std::fs::write(
        &p,
        "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\nrs73040201\t1\t16336444\tT\tG\t0.1\n\t1\t16336444\tT\tG\t0.2\n",
    )
    .unwrap();
    train_fails(
        &real("base.bed"),
        &["--prs-weights", p.to_str().unwrap()],
        &[
            "w.txt, line 3",
            "lines 2 and 3 both name variant `rs73040201`",
        ],
    );
}

/// The PGS example with its alleles written on the other strand (not the
/// palindromic A/T, C/G lines): by default those weights are allele
/// mismatches, left out and counted (as plink2 --score); with
/// `--prs-strand-flip` they read as the complementary alleles and the
/// score's weights equal the original file's, from a `.bed`, a VCF and a
/// BCF, and by position too.
#[test]
fn prs_strand_flip_reads_the_other_strand() {
    fn comp(a: &str) -> &str {
        match a {
            "A" => "T",
            "T" => "A",
            "C" => "G",
            "G" => "C",
            x => x,
        }
    }
    let text = std::fs::read_to_string(real("PGS_example.txt")).unwrap();
    let mut flipped_lines = 0;
    let flipped: String = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            // rs27892198 is monomorphic in the fixture (`.bim` alleles `0 G`):
            // with one allele known, a strand cannot be told.
            let keep =
                l.starts_with('#') || f[0] == "rsID" || f[0] == "rs27892198" || comp(f[3]) == f[4];
            if keep {
                return format!("{l}\n");
            }
            flipped_lines += 1;
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                f[0],
                f[1],
                f[2],
                comp(f[3]),
                comp(f[4]),
                f[5]
            )
        })
        .collect();
    assert!(flipped_lines > 8);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("PGS_minus.txt");
    std::fs::write(&p, flipped).unwrap();
    let p = p.to_str().unwrap();
    for geno in ["base.bed", "base.vcf", "base.bcf"] {
        let weights = |extra: &[&str]| {
            let (b, stderr) = train_real(&real(geno), extra);
            (b["genotypes"]["prs"][0]["weights"].clone(), stderr)
        };
        let (want, _) = weights(&["--prs-weights", &real("PGS_example.txt")]);
        let (none, stderr) = weights(&["--prs-weights", p]);
        assert!(
            none.as_array().unwrap().len() < want.as_array().unwrap().len(),
            "{geno}"
        );
        assert!(
            stderr.contains("skipped because the effect allele is neither allele"),
            "{stderr}"
        );
        let (got, stderr) = weights(&["--prs-weights", p, "--prs-strand-flip"]);
        assert_eq!(got, want, "{geno}");
        assert!(
            stderr.contains("on the other strand of"),
            "{geno}: {stderr}"
        );
        let (by_pos, _) = weights(&[
            "--prs-weights",
            p,
            "--prs-strand-flip",
            "--prs-match",
            "position",
        ]);
        assert_eq!(by_pos, want, "{geno} by position");
    }
}

/// A PGS Catalog file that locates its variants by chromosome and/// A PGS Catalog file that locates its variants by chromosome and
/// position only (`rsID` removed; `chr1` for `1`) gives the same weights
/// as the file with rsIDs, the genotypes read from a `.bed`, a VCF, a
/// BGZF VCF and a BCF; a `.raw` has no positions and is refused.
#[test]
fn pgs_file_located_by_position() {
    let text = std::fs::read_to_string(real("PGS_example.txt")).unwrap();
    let by_position: String = text
        .lines()
        .map(|l| match l.starts_with('#') {
            true => format!("{l}\n"),
            false => {
                let f: Vec<&str> = l.split('\t').skip(1).collect();
                let chrom = if f[0] == "chr_name" {
                    f[0].to_string()
                } else {
                    format!("chr{}", f[0])
                };
                format!("{chrom}\t{}\n", f[1..].join("\t"))
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("PGS_pos.txt");
    std::fs::write(&p, by_position).unwrap();
    let p = p.to_str().unwrap();
    for geno in ["base.bed", "base.vcf", "base.vcf.gz", "base.bcf"] {
        let weights = |w: &str| {
            let (b, stderr) = train_real(&real(geno), &["--prs-weights", w]);
            (b["genotypes"]["prs"][0]["weights"].clone(), stderr)
        };
        let (want, _) = weights(&real("PGS_example.txt"));
        let (got, stderr) = weights(p);
        assert!(
            want.as_array().is_some_and(|w| w.len() > 5),
            "{geno}: {want}"
        );
        assert_eq!(got, want, "{geno}");
        assert!(
            stderr.contains("weights located by chromosome and position (GRCh37: the genotypes must be on the same build) matched a variant of"),
            "{geno}: {stderr}"
        );
    }
    train_fails(
        &real("base_plink2_include-alt.raw"),
        &["--prs-weights", p],
        &["base_plink2_include-alt.raw", "has no variant positions"],
    );
}

/// Genotypes whose IDs are an imputation server's `chr1:12345:A:G`, with a
/// PGS file of rsIDs: matched by ID, no weight fits (an error); with
/// `--prs-match position`, every weight lands on its variant, with the same
/// weights, flips and imputation as the rsID-named VCF gives.
#[test]
fn prs_match_position_ignores_the_ids() {
    let text = std::fs::read_to_string(real("base.vcf")).unwrap();
    let renamed: String = text
        .lines()
        .map(|l| {
            if l.starts_with('#') {
                return format!("{l}\n");
            }
            let mut f: Vec<String> = l.split('\t').map(str::to_string).collect();
            f[2] = format!("chr{}:{}:{}:{}", f[0], f[1], f[3], f[4]);
            format!("{}\n", f.join("\t"))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let vcf = dir.path().join("imputed.vcf");
    std::fs::write(&vcf, renamed).unwrap();
    let vcf = vcf.to_str().unwrap();
    let pgs = real("PGS_example.txt");
    train_fails(
        vcf,
        &["--prs-weights", &pgs],
        &["none of the 14 weights can be used with"],
    );
    let (b, stderr) = train_real(vcf, &["--prs-weights", &pgs, "--prs-match", "position"]);
    assert!(
        stderr.contains("weights located by chromosome and position"),
        "{stderr}"
    );
    let (want, _) = train_real(&real("base.vcf"), &["--prs-weights", &pgs]);
    let strip = |b: &serde_json::Value| -> Vec<serde_json::Value> {
        b["genotypes"]["prs"][0]["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let mut w = w.clone();
                w["snp"] = serde_json::Value::Null;
                w
            })
            .collect()
    };
    assert_eq!(strip(&b), strip(&want));
    let names = b["genotypes"]["prs"][0]["weights"].to_string();
    assert!(names.contains("\"chr1:16336444:G:T\""), "{names}");
    // A headerless weights file has no positions.
    let plain = dir.path().join("w.txt");
    std::fs::write(&plain, "rs73040201 T 0.15\n").unwrap();
    train_fails(
        vcf,
        &[
            "--prs-match",
            "position",
            "--prs-weights",
            plain.to_str().unwrap(),
        ],
        &["w.txt, line 1", "--prs-match position needs a header"],
    );
}

/// A model trained on a PLINK `.bed` (plink 2 `--make-bed`) gives
/// byte-identical scores from the same genotypes as a VCF (plink 2
/// `--export vcf`), its BGZF copy (bgzip), bcftools' `-Oz` and `-Ob` (BCF,
/// decoded by noodles) and an uncompressed BCF (`-Ou`); a model trained on
/// the BCF is the VCF's.
#[test]
fn bed_vcf_bgzf_and_bcf_score_byte_identically() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_of(dir.path(), "m.json", Some(&real("base_plink2.bed")), &[]);
    let score = |geno: &str| {
        let (out, stderr) = scored(&model, Some(geno));
        assert!(!stderr.contains("flipped"), "{geno}: {stderr}");
        (out, stderr)
    };
    let (want, _) = score(&real("base_plink2.bed"));
    assert!(want.len() > 1000);
    for g in [
        "base.vcf",
        "base.vcf.gz",
        "base_bcftools.vcf.gz",
        "base.bcf",
        "base_uncompressed.bcf",
    ] {
        let (got, stderr) = score(&real(g));
        assert_eq!(got, want, "{g}");
        if g.ends_with(".bcf") {
            assert!(stderr.contains("80 patients in both files"), "{stderr}");
        }
    }
    let (vcf, _) = train_real(&real("base.vcf"), &[]);
    let (bcf, _) = train_real(&real("base.bcf"), &[]);
    assert_eq!(features(&bcf), features(&vcf));
    assert_eq!(bcf["features"], vcf["features"]);
    assert_eq!(bcf["genotypes"]["alleles"], vcf["genotypes"]["alleles"]);
    assert!(vcf["arms"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(bcf["arms"], vcf["arms"]);
}

/// A truncated or corrupt BCF is an error naming the file and the line of
/// its VCF text, never a panic.
#[test]
fn broken_bcf_is_named() {
    use std::io::Read;
    let mut inflated = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(real("base.bcf")).unwrap())
        .read_to_end(&mut inflated)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let train = |bytes: &[u8], needles: &[&str]| {
        let p = dir.path().join("broken.bcf");
        std::fs::write(&p, bytes).unwrap();
        fails(
            responder()
                .args(["train", "--data", &real("clinical.csv"), "--genotypes"])
                .arg(&p)
                .args(["--target", "responder", "--out"])
                .arg(dir.path().join("m.json")),
            needles,
        )
    };
    let e = train(
        &inflated[..inflated.len() - 100],
        &["broken.bcf, line ", "the file is truncated or corrupt"],
    );
    assert!(e.is_ascii(), "{e}");
    train(&inflated[..40], &["broken.bcf: cannot read the BCF header"]);
    assert!(!dir.path().join("m.json").exists());
}

/// A VCF without its header lines is named for what it is; a VCF as
/// `--data` is pointed to `--genotypes`.
#[test]
fn headerless_vcf_and_vcf_as_data_are_named() {
    let train = |geno: &str| {
        let mut c = responder();
        c.args([
            "train",
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            geno,
        ])
        .args(["--target", "responder", "--out", "/dev/null"]);
        c
    };
    fails(
        &mut train(&real("base_noheader.vcf")),
        &["base_noheader.vcf, line 1: this looks like VCF variant lines without the VCF header"],
    );
    fails(
        responder()
            .args([
                "train",
                "--data",
                &real("base.vcf"),
                "--target",
                "responder",
            ])
            .args(["--out", "/dev/null"]),
        &["base.vcf: is a VCF (genotypes), not a table of patients"],
    );
}

/// Numbers written with a decimal comma in a `;`-separated file: refused
/// with a hint by default (never silently categorical), read with
/// `--decimal comma` to the same model as the decimal-point file.
#[test]
fn decimal_commas_are_read_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let point = small_clinical(60);
    let mut comma = String::new();
    for (i, line) in point.lines().enumerate() {
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        if i > 0 {
            f[3] = format!("{},5", f[3]); // score 12 → 12,5
        }
        comma.push_str(&(f.join(";") + "\n"));
    }
    let point: String = point
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            if i > 0 {
                f[3] = format!("{}.5", f[3]);
            }
            f.join(",") + "\n"
        })
        .collect();
    let point = write(dir.path(), "point.csv", &point);
    let comma = write(dir.path(), "comma.csv", &comma);
    let train = |data: &str, extra: &[&str]| {
        let mut c = responder();
        c.args(["train", "--data", data, "--target", "responder"])
            .args([
                "--therapy-col",
                "therapy",
                "--cv",
                "3",
                "--algorithm",
                "logistic",
            ])
            .args(extra);
        c
    };
    fails(
        &mut train(&comma, &["--out", "/dev/null"]),
        &[
            "comma.csv, line 2, column `score`: `0,5` and 59 more values",
            "decimal comma: pass --decimal comma",
        ],
    );
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let run = |c: &mut assert_cmd::Command, out: &std::path::Path| {
        let o = c.arg("--out").arg(out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
        v["arms"].clone()
    };
    let want = run(&mut train(&point, &[]), &a);
    let got = run(&mut train(&comma, &["--decimal", "comma"]), &b);
    assert_eq!(got, want);
    // Scoring a decimal-comma file needs the flag too, and says so.
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&a)
            .args(["--data", &comma]),
        &[
            "column `score`",
            "`0,5` is not a number",
            "pass --decimal comma",
        ],
    );
    let o = responder()
        .args(["score", "--model"])
        .arg(&a)
        .args(["--data", &comma, "--decimal", "comma", "--format", "csv"])
        .output()
        .unwrap();
    let p = responder()
        .args(["score", "--model"])
        .arg(&a)
        .args(["--data", &point, "--format", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(o.stdout, p.stdout);
    // A comma cannot be both the delimiter and the decimal mark.
    fails_usage(
        &mut train(&point, &["--decimal", "comma", "--out", "/dev/null"]),
        &["--decimal comma", "comma-separated"],
    );
}

/// Classic-Mac (CR-only) files: errors name the right line.
#[test]
fn cr_only_files_name_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = small_clinical(40)
        .replacen("P005,25,", "P005,x,", 1)
        .replace('\n', "\r");
    let p = write(dir.path(), "mac.csv", &text);
    fails(
        responder()
            .args([
                "train",
                "--data",
                &p,
                "--target",
                "responder",
                "--features",
                "age",
            ])
            .args(["--out", "/dev/null"]),
        &["mac.csv, line 7, column `age`: `x` is not a number"],
    );
}

/// A `;`-separated `.csv` is read as such; a one-field header of another
/// separator gets a --delimiter hint.
#[test]
fn semicolon_csv_is_sniffed_and_other_separators_hinted() {
    let dir = tempfile::tempdir().unwrap();
    let text = small_clinical(40);
    let semi = write(dir.path(), "semi.csv", &text.replace(',', ";"));
    let o = responder()
        .args([
            "train",
            "--data",
            &semi,
            "--target",
            "responder",
            "--cv",
            "2",
        ])
        .args(["--out", "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pipe = write(dir.path(), "pipe.csv", &text.replacen(',', "|", 6));
    fails(
        responder()
            .args(["train", "--data", &pipe, "--target", "responder"])
            .args(["--out", "/dev/null"]),
        &["pipe.csv, line 2", "header has 1", "pass --delimiter"],
    );
    let bar = write(dir.path(), "bar.csv", "patient_id|age|responder\nP1|3|1\n");
    fails(
        responder()
            .args(["train", "--data", &bar, "--target", "responder"])
            .args(["--out", "/dev/null"]),
        &[
            "bar.csv: missing column `patient_id`",
            "pass the file's delimiter with --delimiter",
        ],
    );
}

/// PLINK 1 binary filesets written by plink 1.9 and plink 2 (see
/// `tests/fixtures/genetics/real/make.sh`) score exactly as the `.raw`
/// files the same tools exported from them.
#[test]
fn plink_filesets_from_both_plinks_score_as_their_raw_exports() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    responder()
        .args(["train", "--data", &real("clinical.csv")])
        .args(["--genotypes", &real("base_plink19_include-alt.raw")])
        .args(["--target", "responder", "--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    let score = |geno: &str| {
        let out = responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &real("clinical.csv"), "--genotypes", geno])
            .args(["--format", "csv"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{geno}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for (bed, raw) in [
        ("base.bed", "base_plink19_include-alt.raw"),
        ("base_reordered.bed", "base_reordered.raw"),
    ] {
        assert_eq!(score(&real(bed)), score(&real(raw)), "{bed} vs {raw}");
    }
    // plink 2's .bed has the same genotypes as plink 1.9's: its .bim's A1
    // is counted, the alleles the model counts are aligned (6 flipped), and
    // no palindromic SNP is dropped, as none counts the other allele.
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args([
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            &real("base_plink2.bed"),
        ])
        .args(["--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("flipped 6 SNPs"), "{stderr}");
    assert!(!stderr.contains("palindromic"), "{stderr}");
    assert!(
        stderr.contains("80 patients in both files")
            && stderr.contains("the PLINK fileset's needed SNPs held packed, 2 bits a call"),
        "{stderr}"
    );
    assert!(!stderr.contains("reading whole files"), "{stderr}");
    assert_eq!(out.stdout, score(&real("base.bed")));
}

/// `--snps FILE` keeps only the listed SNPs as features (a PLINK `.bed`
/// then decodes only those and the polygenic score's); the score and the
/// model's predictions are those of the full read; a list naming no SNP of
/// the file is an error naming the list.
#[test]
fn snp_list_chooses_the_snp_features() {
    let dir = tempfile::tempdir().unwrap();
    let list = write(
        dir.path(),
        "snps.txt",
        "# candidate SNPs\nrs92609045\nrs36033531 extra fields\nrs0000001\n",
    );
    let bed = real("base.bed");
    let (b, stderr) = train_real(&bed, &["--snps", &list]);
    assert!(
        stderr.contains("snps.txt: 2 of 3 listed SNPs are in") && stderr.contains("`rs0000001`"),
        "{stderr}"
    );
    assert_eq!(
        features(&b),
        ["age", "rs92609045", "rs36033531"],
        "file order"
    );
    // The same SNPs read from the .raw export: the same model.
    let (r, _) = train_real(&real("base_plink19_include-alt.raw"), &["--snps", &list]);
    assert_eq!(b["arms"], r["arms"]);
    // The polygenic score is computed from every SNP of the weights, also
    // those not listed.
    let w = real("weights_plink.txt");
    let (with_list, _) = train_real(&bed, &["--snps", &list, "--prs-weights", &w]);
    let (without, _) = train_real(&bed, &["--prs-weights", &w]);
    assert_eq!(with_list["genotypes"]["prs"], without["genotypes"]["prs"]);
    assert_eq!(
        features(&with_list),
        ["age", "rs92609045", "rs36033531", "prs"]
    );
    let none = write(dir.path(), "none.txt", "rsX\nrsY\n");
    let train = |extra: &[&str]| {
        let mut c = responder();
        c.args([
            "train",
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            &bed,
        ])
        .args(["--target", "responder", "--cv", "2", "--out"])
        .arg(dir.path().join("x.json"))
        .args(extra);
        c
    };
    fails(
        &mut train(&["--snps", &none]),
        &["none.txt", "none of its 2 SNP IDs is in"],
    );
    let mut raw = responder();
    raw.args(["train", "--data", &real("clinical.csv"), "--genotypes"])
        .arg(real("base_plink19_include-alt.raw"))
        .args(["--target", "responder", "--snps", &none, "--out"])
        .arg(dir.path().join("x.json"));
    fails(&mut raw, &["none.txt", "none of its 2 SNP IDs is in"]);
    fails_usage(
        &mut train(&[
            "--snps",
            &list,
            "--genotype-pcs",
            "2",
            "--genotypes-as",
            "pcs",
        ]),
        &["--snps chooses SNP features and --genotypes-as pcs leaves them all out"],
    );
    fails_usage(
        responder()
            .args([
                "train",
                "--data",
                &real("clinical.csv"),
                "--target",
                "responder",
            ])
            .args(["--snps", &list, "--out"])
            .arg(dir.path().join("x.json")),
        &["--snps need --genotypes"],
    );
    let empty = write(dir.path(), "empty.txt", "# nothing\n\n");
    fails(
        &mut train(&["--snps", &empty]),
        &["empty.txt", "lists no SNP IDs"],
    );
    assert!(!dir.path().join("x.json").exists());
}

/// `score` streams a PLINK fileset by sample (its needed SNPs held packed):
/// a clinical file in another order, with patients absent from the
/// fileset, scores as the whole-file read (stdin) does, in blocks.
#[test]
fn plink_fileset_is_streamed_by_sample_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    responder()
        .args(["train", "--data", &real("clinical.csv")])
        .args(["--genotypes", &real("base.bed")])
        .args(["--target", "responder", "--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    let text = std::fs::read_to_string(real("clinical.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let mut shuffled = format!("{header}\n");
    for l in &lines[3..] {
        shuffled.push_str(l);
        shuffled.push('\n');
    }
    shuffled.push_str("NEW1,40,1\nNEW2,50,0\n");
    let data = write(dir.path(), "shuffled.csv", &shuffled);
    let run_on = |model: &std::path::Path, stdin: bool| {
        let mut c = responder();
        c.args(["score", "--model"]).arg(model);
        if stdin {
            c.args(["--data", "-"]).write_stdin(shuffled.clone());
        } else {
            c.args(["--data", &data]);
        }
        let out = c
            .args(["--genotypes", &real("base.bed"), "--format", "csv"])
            .args(["--batch-rows", "9"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (out.stdout, stderr)
    };
    let run = |stdin: bool| run_on(&model, stdin);
    let (whole, whole_err) = run(true);
    let (streamed, err) = run(false);
    assert_eq!(streamed, whole);
    // With a polygenic score (computed over the whole fileset once, then
    // joined to each block): the same scores and notes as the whole read.
    let snps = write(dir.path(), "snps.txt", "rs73040201\n");
    let prs_model = dir.path().join("prs.json");
    responder()
        .args(["train", "--data", &real("clinical.csv")])
        .args(["--genotypes", &real("base_plink2.bed"), "--snps", &snps])
        .args(["--prs-weights", &real("weights_plink.txt")])
        .args(["--target", "responder", "--cv", "0", "--out"])
        .arg(&prs_model)
        .assert()
        .success();
    let (whole_prs, whole_prs_err) = run_on(&prs_model, true);
    let (streamed_prs, prs_err) = run_on(&prs_model, false);
    assert_eq!(streamed_prs, whole_prs);
    assert!(prs_err.contains("needed SNPs held packed"), "{prs_err}");
    let notes = |e: &str| -> Vec<String> {
        e.lines()
            .filter(|l| {
                !l.contains("patients in both files")
                    && !l.starts_with("scored")
                    && !l.starts_with("reading whole files")
            })
            .map(|l| l.replace("<stdin>", "shuffled.csv"))
            .collect()
    };
    assert_eq!(notes(&prs_err), notes(&whole_prs_err));
    // Trained on plink 2's A1 = ALT, scored on plink 1.9's minor-allele A1:
    // the score's flips are noted, once.
    assert!(
        notes(&prs_err).iter().any(|l| l.contains("flipped")),
        "{prs_err}"
    );
    // A repeated IID in the .fam: the whole-file read names it.
    for ext in ["bed", "bim"] {
        std::fs::copy(
            real(&format!("base.{ext}")),
            dir.path().join(format!("dup.{ext}")),
        )
        .unwrap();
    }
    let fam =
        std::fs::read_to_string(real("base.fam"))
            .unwrap()
            .replacen("S002 S002", "S001 S001", 1);
    write(dir.path(), "dup.fam", &fam);
    fails(
        responder()
            .args(["score", "--model"])
            .arg(&model)
            .args(["--data", &data, "--genotypes"])
            .arg(dir.path().join("dup.bed")),
        &["dup.bed", "duplicate patient ID `S001`"],
    );
    assert!(
        whole_err.contains("77 patients in both files, 2 only in <stdin>, 3 only in"),
        "{whole_err}"
    );
    assert!(
        err.contains("77 patients in both files, 2 only in")
            && err.contains("3 only in")
            && err.contains("needed SNPs held packed"),
        "{err}"
    );
}

/// `score` streams the clinical file against a VCF or BCF held parsed (its
/// needed SNPs only): a clinical file in another order, with patients
/// absent from the VCF, scores as the whole-file read (stdin) does, in
/// blocks; palindromic SNPs counted the other way round are judged by the
/// whole file's allele frequencies in every block.
#[test]
fn vcf_is_streamed_by_sample_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    responder()
        .args(["train", "--data", &real("clinical.csv")])
        .args(["--genotypes", &real("base.vcf.gz")])
        .args(["--target", "responder", "--cv", "0", "--out"])
        .arg(&model)
        .assert()
        .success();
    let text = std::fs::read_to_string(real("clinical.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let mut shuffled = format!("{header}\n");
    for l in &lines[3..] {
        shuffled.push_str(l);
        shuffled.push('\n');
    }
    shuffled.push_str("NEW1,40,1\nNEW2,50,0\n");
    let data = write(dir.path(), "shuffled.csv", &shuffled);
    // Two palindromic SNPs with REF and ALT swapped (and the calls with
    // them): told apart from a strand flip by frequency.
    let vcf = std::fs::read_to_string(real("base.vcf")).unwrap();
    let swapped: String = vcf
        .lines()
        .map(|l| {
            let mut f: Vec<String> = l.split('\t').map(str::to_string).collect();
            if f.len() > 2 && (f[2] == "rs18080825" || f[2] == "rs112361229") {
                f.swap(3, 4);
                for c in &mut f[9..] {
                    *c = match c.as_str() {
                        "0/0" => "1/1".into(),
                        "1/1" => "0/0".into(),
                        other => other.into(),
                    };
                }
            }
            f.join("\t") + "\n"
        })
        .collect();
    let swapped = write(dir.path(), "swapped.vcf", &swapped);
    let run = |stdin: bool, geno: &str| {
        let mut c = responder();
        c.args(["score", "--model"]).arg(&model);
        if stdin {
            c.args(["--data", "-"]).write_stdin(shuffled.clone());
        } else {
            c.args(["--data", &data]);
        }
        let out = c
            .args(["--genotypes", geno, "--format", "csv"])
            .args(["--batch-rows", "9"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (out.stdout, stderr)
    };
    let (whole, whole_err) = run(true, &real("base.vcf.gz"));
    assert!(
        whole_err.contains("77 patients in both files, 2 only in <stdin>, 3 only in"),
        "{whole_err}"
    );
    for geno in [real("base.vcf.gz"), real("base.bcf"), swapped] {
        let (streamed, err) = run(false, &geno);
        assert_eq!(streamed, whole, "{geno}");
        assert!(
            err.contains("77 patients in both files, 2 only in")
                && err.contains("3 only in")
                && err.contains("streamed in blocks of 9 rows")
                && err.contains("needed SNPs held parsed"),
            "{err}"
        );
        if geno.ends_with("swapped.vcf") {
            assert!(err.contains("told apart by allele frequency"), "{err}");
            assert_eq!(run(true, &geno).0, whole);
        }
    }
    // The VCF's whole text from stdin (the reader of the text, not the
    // streamed parse) gives the same scores.
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &data, "--genotypes", "-", "--format", "csv"])
        .write_stdin(std::fs::read(real("base.vcf")).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("reading whole files"),
        "{err}"
    );
    assert_eq!(out.stdout, whole);
}

/// A VCF is read for the model's SNPs only: with `--snps`, training and
/// scoring read only those records (a broken record of another SNP is not
/// read), give the same model and scores as the whole file, and keep the
/// file's line numbers in messages; training on every SNP names the broken
/// line.
#[test]
fn vcf_is_read_for_the_needed_snps_only() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(real("base.vcf")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_record = lines.iter().position(|l| !l.starts_with('#')).unwrap();
    let ids: Vec<&str> = lines[first_record..]
        .iter()
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    let snps = write(dir.path(), "snps.txt", &format!("{}\n{}\n", ids[0], ids[2]));
    // The record of a SNP the model does not use loses its last sample.
    let broken_at = first_record + 5;
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let cut = edited[broken_at].rfind('\t').unwrap();
    edited[broken_at].truncate(cut);
    let broken = write(dir.path(), "broken.vcf", &(edited.join("\n") + "\n"));
    let whole = model_of(
        dir.path(),
        "whole.json",
        Some(&real("base.vcf")),
        &["--snps", &snps],
    );
    let part = model_of(dir.path(), "part.json", Some(&broken), &["--snps", &snps]);
    let arms = |p: &std::path::Path| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["arms"].clone()
    };
    assert_eq!(arms(&whole), arms(&part));
    assert_eq!(
        scored(&whole, Some(&broken)).0,
        scored(&whole, Some(&real("base.vcf"))).0
    );
    train_fails(
        &broken,
        &[],
        &[
            &format!("broken.vcf, line {}", broken_at + 1),
            "tab-separated fields",
        ],
    );
}

/// A model with a polygenic score scores from a VCF and a BCF (whose
/// records are filtered to the model's SNPs and the score's) as from the
/// `.bed`; a model without genotype features scores with a VCF given; a
/// VCF holding none of the model's SNPs is named by the whole read.
#[test]
fn filtered_vcf_keeps_the_score_snps() {
    let dir = tempfile::tempdir().unwrap();
    let snps = write(dir.path(), "snps.txt", "rs73040201\n");
    let weights = real("weights_plink.txt");
    let model = model_of(
        dir.path(),
        "m.json",
        Some(&real("base.vcf")),
        &["--snps", &snps, "--prs-weights", &weights],
    );
    let want = scored(&model, Some(&real("base_plink2.bed"))).0;
    assert_eq!(scored(&model, Some(&real("base.vcf"))).0, want);
    assert_eq!(scored(&model, Some(&real("base.bcf"))).0, want);
    // The score's SNPs are streamed over a VCF/BCF file record by record
    // (training and scoring), held from stdin: the same model from every
    // format, the same scores every way.
    for (k, geno) in ["base.vcf.gz", "base.bcf", "base_plink2.bed"]
        .iter()
        .enumerate()
    {
        let other = model_of(
            dir.path(),
            &format!("m{k}.json"),
            Some(&real(geno)),
            &["--snps", &snps, "--prs-weights", &weights],
        );
        assert_eq!(scored(&other, Some(&real("base.vcf.gz"))).0, want, "{geno}");
    }
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &real("clinical.csv"), "--format", "csv"])
        .args(["--genotypes", "-"])
        .write_stdin(std::fs::read(real("base.vcf.gz")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    let clinical = model_of(dir.path(), "c.json", None, &[]);
    assert_eq!(
        scored(&clinical, Some(&real("base.vcf"))).0,
        scored(&clinical, None).0
    );
    // A VCF with none of the model's SNPs (every ID renamed).
    let text = std::fs::read_to_string(real("base.vcf")).unwrap();
    let renamed = text.replace("\trs", "\tzz");
    let other = write(dir.path(), "other.vcf", &renamed);
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            &other,
        ]),
        &["rs73040201"],
    );
}

/// Streamed over a VCF, a score's palindromic SNPs labelled alike at a
/// frequency on the other side of one half are warned about as from stdin
/// (naming them), and the notes of several scores' passes over a file are
/// printed once (a truncated BGZF file: one note).
#[test]
fn streamed_scores_warn_and_note_once() {
    let dir = tempfile::tempdir().unwrap();
    let snps = write(dir.path(), "snps.txt", "rs73040201\n");
    let weights = real("weights_multi.txt");
    // `train --snps LIST --prs-weights weights` on `geno`, writing `out`.
    let train = |geno: &str, list: &str, out: &str| {
        let mut c = responder();
        c.args([
            "train",
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            geno,
        ])
        .args(["--snps", list, "--prs-weights", &weights])
        .args(["--target", "responder", "--cv", "0", "--out"])
        .arg(dir.path().join(out));
        c
    };
    let model = model_of(
        dir.path(),
        "m.json",
        Some(&real("base.vcf")),
        &["--snps", &snps, "--prs-weights", &weights],
    );
    // The two palindromic score SNPs with 0 and 1 swapped in every call.
    let text = std::fs::read_to_string(real("base.vcf")).unwrap();
    let swapped: Vec<String> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() > 2 && (f[2] == "rs18080825" || f[2] == "rs112361229") {
                let mut out = f[..9].join("\t");
                for c in &f[9..] {
                    let c: String = c
                        .chars()
                        .map(|ch| match ch {
                            '0' => '1',
                            '1' => '0',
                            ch => ch,
                        })
                        .collect();
                    out.push('\t');
                    out.push_str(&c);
                }
                out
            } else {
                l.to_string()
            }
        })
        .collect();
    let odd = write(dir.path(), "odd.vcf", &(swapped.join("\n") + "\n"));
    let (_, stderr) = scored(&model, Some(&odd));
    let warned = |e: &str| {
        e.contains("palindromic SNPs (A/T or C/G)")
            && e.contains("count the same allele as the training file")
            && e.contains("`rs112361229`, `rs18080825`")
    };
    assert!(warned(&stderr), "{stderr}");
    let out = responder()
        .args(["score", "--model"])
        .arg(&model)
        .args(["--data", &real("clinical.csv"), "--genotypes", "-"])
        .write_stdin(std::fs::read(&odd).unwrap())
        .output()
        .unwrap();
    assert!(warned(&String::from_utf8_lossy(&out.stderr)));
    // A warning still, under -q, in explain (which prints notes itself).
    let out = responder()
        .args(["-q", "explain", "--model"])
        .arg(&model)
        .args(["--data", &real("clinical.csv"), "--genotypes", &odd])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(warned(&String::from_utf8_lossy(&out.stderr)));
    // A score SNP at a multi-allelic site: a warning, even with -q.
    let multi: String = text
        .lines()
        .map(|l| match l.split('\t').nth(2) == Some("rs18080825") {
            true => l.replacen("\tT\t", "\tT,G\t", 1) + "\n",
            false => format!("{l}\n"),
        })
        .collect();
    assert_ne!(multi, text);
    let multi = write(dir.path(), "multi.vcf", &multi);
    let out = train(&multi, &snps, "multi.json")
        .arg("-q")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: ")
            && stderr.contains("skipped 1 multi-allelic sites")
            && stderr.contains("polygenic score records; split them (bcftools norm -m-)"),
        "{stderr}"
    );
    // The --snps SNP itself multi-allelic: the list's error says so.
    let only = write(dir.path(), "only.txt", "rs18080825\n");
    fails(
        &mut train(&multi, &only, "only.json"),
        &[
            "only.txt",
            "none of its 1 SNP IDs is in",
            "(1 multi-allelic site among its records was skipped: split them with bcftools norm -m-)",
        ],
    );
    // Scored from that file, the SNP is absent: the error says why.
    fails(
        responder().args(["score", "--model"]).arg(&model).args([
            "--data",
            &real("clinical.csv"),
            "--genotypes",
            &multi,
        ]),
        &[
            "needs 1 SNP absent from this file: `rs18080825`",
            "skipped 1 multi-allelic sites",
            "bcftools norm -m-",
        ],
    );
    // Three scores over a BGZF VCF cut at a block boundary: one note.
    let mut bytes = std::fs::read(real("base.vcf.gz")).unwrap();
    bytes.truncate(bytes.len() - 28);
    let cut = dir.path().join("cut.vcf.gz");
    std::fs::write(&cut, &bytes).unwrap();
    let cut = cut.display().to_string();
    let out = train(&cut, &snps, "cut.json").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("may be truncated").count(), 1, "{stderr}");
    assert_eq!(
        scored(&dir.path().join("cut.json"), Some(&cut))
            .1
            .matches("may be truncated")
            .count(),
        1
    );
}

/// A BGZF file without its end-of-file block (a copy cut at a block
/// boundary reads cleanly, its last records missing) is read with a note
/// on stderr naming it, as htslib warns; bgzip's own file has no note.
#[test]
fn bgzf_without_its_end_block_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(real("base.vcf.gz")).unwrap();
    bytes.truncate(bytes.len() - 28);
    let cut = dir.path().join("cut.vcf.gz");
    std::fs::write(&cut, &bytes).unwrap();
    let cut = cut.display().to_string();
    let (_, stderr) = train_real(&cut, &[]);
    assert!(
        stderr.contains("cut.vcf.gz: the BGZF file does not end with the end-of-file block")
            && stderr.contains("may be truncated"),
        "{stderr}"
    );
    let (_, stderr) = train_real(&real("base.vcf.gz"), &[]);
    assert!(!stderr.contains("end-of-file block"), "{stderr}");
    // Read for the model's SNPs at scoring, and as a BCF.
    let model = model_of(dir.path(), "m.json", Some(&real("base.vcf")), &[]);
    assert!(scored(&model, Some(&cut)).1.contains("may be truncated"));
    let mut bcf = std::fs::read(real("base.bcf")).unwrap();
    bcf.truncate(bcf.len() - 28);
    let cut_bcf = dir.path().join("cut.bcf");
    std::fs::write(&cut_bcf, &bcf).unwrap();
    let cut_bcf = cut_bcf.display().to_string();
    assert!(scored(&model, Some(&cut_bcf))
        .1
        .contains("may be truncated"));
    assert!(!scored(&model, Some(&real("base.bcf")))
        .1
        .contains("may be truncated"));
}

/// A genotype file given as a named pipe (`<(zcat …)`, `mkfifo`) is read
/// once: nothing reopens it after its writer is done (which would block).
#[cfg(unix)]
#[test]
fn genotypes_from_a_named_pipe_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("geno.raw");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let text = std::fs::read(real("base_plink2.raw")).unwrap();
    let path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(path, text));
    let out = dir.path().join("m.json");
    responder()
        .args(["train", "--data", &real("clinical.csv"), "--genotypes"])
        .arg(&fifo)
        .args(["--target", "responder", "--cv", "0", "--out"])
        .arg(&out)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
    writer.join().unwrap().unwrap();
    assert!(out.exists());
}
