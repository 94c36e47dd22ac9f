# validation_reference.R: reference numbers for Harrell's bootstrap optimism
# correction (rms::validate) on two real randomised trials.
#
# What: fits one unpenalised logistic model per trial with rms::lrm (all the
# chosen baseline covariates, including the treatment-arm column) and runs
# validate(fit, method = "boot", B = 400) with two fixed seeds, plus a few more
# seeds to measure the Monte-Carlo spread of the optimism-corrected indexes.
# It writes one JSON fixture per trial:
#   tests/fixtures/validation/rms_validate_licorice.json
#   tests/fixtures/validation/rms_validate_indo.json
# with the predictors and their exact encoding (numeric as is; factors one-hot
# with the first listed level as reference), the apparent lrm coefficients,
# and for Dxy, R2, Intercept, Slope, Emax and B (Brier) the columns
# index.orig, training, test, optimism, index.corrected and n, plus
# AUC = Dxy / 2 + 0.5.
#
# How to run (from the repository root; needs R with rms and jsonlite, e.g.
# Debian's `apt-get install r-base-core r-cran-rms r-cran-jsonlite`):
#   Rscript bench/validation_reference.R
# The data are read from ../shared/data (the shared/ folder beside the work
# tree); set RESPONDER_DATA_DIR to read them elsewhere. Set
# VALIDATION_MC_SEEDS=0 to skip the extra Monte-Carlo seeds.
#
# This script is NOT run in CI: the Rust tests read the committed JSON files,
# so neither R nor rms is needed to run the test suite. The Rust side cannot
# reproduce R's bootstrap draws, so it must compare its corrected indexes
# within Monte-Carlo noise (see "monte_carlo" in each fixture), not exactly.
#
# Data attribution (see shared/data/README.md):
#   licorice_sore_throat.csv: medicaldata::licorice_gargle, Ruetzler et al.
#     2013, Anesth Analg 117:614-621.
#   indo_pancreatitis.csv: medicaldata::indo_rct, Elmunzer et al. 2012,
#     N Engl J Med 366:1414-1422.

suppressPackageStartupMessages({
  library(rms)
  library(jsonlite)
})

B <- 400L
SEED_PRIMARY <- 20261204L
SEED_SECOND <- 20261205L
# Extra seeds (B = 400 each) only to estimate the Monte-Carlo SD of the
# corrected indexes; the two seeds above are the first two of them.
N_MC <- as.integer(Sys.getenv("VALIDATION_MC_SEEDS", "20"))

script_path <- function() {
  a <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(a) == 0) stop("run with Rscript bench/validation_reference.R")
  normalizePath(sub("^--file=", "", a[1]))
}
ROOT <- dirname(dirname(script_path()))
DATA_DIR <- Sys.getenv("RESPONDER_DATA_DIR",
                       file.path(dirname(ROOT), "shared", "data"))
OUT_DIR <- file.path(ROOT, "tests", "fixtures", "validation")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)

INDEXES <- c("Dxy", "R2", "Intercept", "Slope", "Emax", "B")
COLUMNS <- c("index.orig", "training", "test", "optimism", "index.corrected", "n")

yes_no <- c("no", "yes")

# One entry per trial. `numeric`: used as is. `factors`: column -> levels,
# first level = reference (levels are also in sorted order, so "first sorted
# level" gives the same reference). Every data value must be one of the levels.
TRIALS <- list(
  licorice = list(
    file = "licorice_sore_throat.csv",
    source = paste("medicaldata::licorice_gargle; Ruetzler et al. 2013,",
                   "Anesth Analg 117:614-621"),
    predictors = c("treat", "preOp_gender", "preOp_asa", "preOp_calcBMI",
                   "preOp_age", "preOp_mallampati", "preOp_smoking",
                   "intraOp_surgerySize"),
    factors = list(treat = c("licorice", "sugar"),
                   preOp_smoking = c("1", "2", "3")),
    notes = list(
      treat = "treatment arm (therapy column), an ordinary covariate of the one model",
      preOp_gender = "0 male, 1 female; numeric 0/1 (same as a factor with reference 0)",
      preOp_asa = "ASA class 1-3, ordinal score used as numeric (linear)",
      preOp_calcBMI = "BMI, numeric",
      preOp_age = "years, numeric",
      preOp_mallampati = paste("Mallampati 1-4, ordinal score used as numeric",
                               "(linear); only 1 patient has 4, so a factor",
                               "level 4 would be quasi-separated"),
      preOp_smoking = paste("1 current, 2 past, 3 never: nominal, so a factor;",
                            "the CSV holds digits, so the Rust side must force",
                            "it categorical (e.g. --categorical preOp_smoking)"),
      intraOp_surgerySize = "1 small, 2 medium, 3 large: ordinal score used as numeric (linear)"
    ),
    full_set_note = paste(
      "All baseline columns except preOp_pain (see excluded_columns)."),
    excluded = list(
      patient_id = "identifier",
      throat_pain_30min = "outcome (defines responder)",
      throat_pain_4h = "outcome (post-treatment)",
      responder = "target",
      preOp_pain = paste("only 2 of 233 patients have 1 (one responder, one",
                         "not): about 13.5 % of bootstrap samples draw",
                         "neither, the column is then constant and lrm fails",
                         "(rms drops those reps: 54 of 400), so it is left out")
    )
  ),
  indo = list(
    file = "indo_pancreatitis.csv",
    source = paste("medicaldata::indo_rct; Elmunzer et al. 2012,",
                   "N Engl J Med 366:1414-1422"),
    predictors = c("rx", "age", "gender", "sod", "pep", "recpanc", "psphinc",
                   "precut", "difcan", "amp", "paninj", "acinar", "pdstent",
                   "train"),
    factors = list(rx = c("indomethacin", "placebo"),
                   gender = c("female", "male"),
                   sod = yes_no, pep = yes_no, recpanc = yes_no,
                   psphinc = yes_no, precut = yes_no, difcan = yes_no,
                   amp = yes_no, paninj = yes_no, acinar = yes_no,
                   pdstent = yes_no, train = yes_no),
    notes = list(
      rx = "treatment arm (therapy column), an ordinary covariate of the one model",
      age = "years, numeric",
      gender = "female / male",
      sod = "sphincter of Oddi dysfunction",
      pep = "previous post-ERCP pancreatitis",
      recpanc = "recurrent pancreatitis",
      psphinc = "pancreatic sphincterotomy",
      precut = "precut sphincterotomy",
      difcan = "difficult cannulation",
      amp = "ampullectomy",
      paninj = "pancreatic duct injection",
      acinar = "acinarisation",
      pdstent = "pancreatic duct stent placed",
      train = "trainee involved"
    ),
    excluded = list(
      patient_id = "identifier",
      site = "centre, not a predictor (per brief)",
      pancreatitis = "outcome (defines responder)",
      bleed = "outcome (post-procedure)",
      responder = "target",
      risk = paste("trial risk score = weighted sum of the risk-factor flags",
                   "(linear regression of risk on the flags: R^2 = 0.989);",
                   "kept out to avoid near-collinearity with them"),
      pneudil = "3 patients, all responders (separation)",
      brush = "1 patient, a responder (separation)",
      pbmal = "2 patients, both responders (separation)",
      asa81 = "one value 'NA' (missing); asa = asa81 or asa325",
      asa325 = "one value 'NA' (missing); asa = asa81 or asa325",
      asa = "one value 'NA' (missing); exactly aliased with asa81/asa325",
      type = "SOD type: duplicates sod ('no SOD' <=> sod = no, 2 discordant rows)",
      prophystent = "correlation 0.81 with pdstent (kept pdstent)",
      therastent = "not kept (procedural detail; keeps ~14 parameters for 79 events)",
      sodsom = "not kept (procedural detail; correlation 0.60 with psphinc)",
      bsphinc = "not kept (procedural detail)",
      bstent = "not kept (procedural detail)",
      chole = "not kept (history detail)",
      status = "not kept (inpatient/outpatient, 23 inpatients)"
    ),
    full_set_note = paste(
      "The full baseline set (all columns but patient_id, site and the",
      "outcomes) cannot be fitted by lrm: singular information matrix",
      "(asa is aliased with asa81/asa325, type duplicates sod) and, with",
      "those removed, still singular because brush/pneudil/pbmal are",
      "(quasi-)separated. Hence this 14-column subset: the trial's",
      "patient- and procedure-related risk factors for post-ERCP",
      "pancreatitis (eligibility criteria) plus rx, age, gender, pdstent",
      "and train.")
  )
)

prepare <- function(spec) {
  path <- file.path(DATA_DIR, spec$file)
  raw <- read.csv(path, stringsAsFactors = FALSE, colClasses = "character",
                  na.strings = character(0), check.names = FALSE)
  d <- data.frame(responder = as.integer(raw$responder))
  if (any(is.na(d$responder)) || !all(d$responder %in% c(0L, 1L)))
    stop(spec$file, ": responder must be 0/1")
  encoding <- list()
  for (v in spec$predictors) {
    x <- raw[[v]]
    if (is.null(x)) stop(spec$file, ": no column ", v)
    if (any(x == "" | x == "NA")) stop(spec$file, ": missing values in ", v)
    if (v %in% names(spec$factors)) {
      lev <- spec$factors[[v]]
      if (!all(x %in% lev)) stop(spec$file, ": unexpected level in ", v)
      d[[v]] <- factor(x, levels = lev)
      encoding[[length(encoding) + 1]] <- list(
        column = v, type = "factor", levels = I(lev), reference = lev[1],
        design_columns = I(paste0(v, "=", lev[-1])),
        counts = as.list(setNames(as.integer(table(d[[v]])), lev)),
        note = spec$notes[[v]])
    } else {
      d[[v]] <- as.numeric(x)
      if (any(is.na(d[[v]]))) stop(spec$file, ": non-numeric value in ", v)
      encoding[[length(encoding) + 1]] <- list(
        column = v, type = "numeric", design_columns = I(v),
        min = min(d[[v]]), max = max(d[[v]]), note = spec$notes[[v]])
    }
  }
  list(data = d, encoding = encoding, path = path)
}

# rms::validate output -> list(index -> list(column -> value)), plus AUC.
tidy_validate <- function(v) {
  out <- list()
  for (ix in INDEXES) {
    row <- list()
    for (cl in COLUMNS) {
      val <- unname(v[ix, cl])
      row[[cl]] <- if (cl == "n") as.integer(val) else as.numeric(val)
    }
    out[[ix]] <- row
  }
  dxy <- out$Dxy
  out$AUC <- list(
    index.orig = dxy$index.orig / 2 + 0.5,
    training = dxy$training / 2 + 0.5,
    test = dxy$test / 2 + 0.5,
    optimism = dxy$optimism / 2,
    index.corrected = dxy$index.corrected / 2 + 0.5,
    n = dxy$n)
  out
}

run_trial <- function(name, spec) {
  prep <- prepare(spec)
  d <- prep$data
  fml <- as.formula(paste("responder ~", paste(spec$predictors, collapse = " + ")))
  fit <- lrm(fml, data = d, x = TRUE, y = TRUE)
  if (isTRUE(fit$fail)) stop(name, ": lrm failed")

  design_cols <- colnames(fit$x)
  stopifnot(identical(design_cols,
                      unlist(lapply(prep$encoding, `[[`, "design_columns"))))

  co <- coef(fit)
  se <- sqrt(diag(vcov(fit)))
  st <- fit$stats

  seeds <- SEED_PRIMARY + seq_len(max(N_MC, 2L)) - 1L
  runs <- list()
  for (s in seeds) {
    set.seed(s)
    v <- rms::validate(fit, method = "boot", B = B)  # jsonlite also exports validate()
    runs[[as.character(s)]] <- tidy_validate(v)
    cat(sprintf("%s seed %d: corrected AUC %.4f Brier %.4f slope %.4f intercept %.4f\n",
                name, s, runs[[as.character(s)]]$AUC$index.corrected,
                runs[[as.character(s)]]$B$index.corrected,
                runs[[as.character(s)]]$Slope$index.corrected,
                runs[[as.character(s)]]$Intercept$index.corrected))
  }
  r1 <- runs[[as.character(SEED_PRIMARY)]]
  r2 <- runs[[as.character(SEED_SECOND)]]
  ix_all <- c(INDEXES, "AUC")
  diff <- setNames(lapply(ix_all, function(ix)
    r2[[ix]]$index.corrected - r1[[ix]]$index.corrected), ix_all)

  mc <- NULL
  if (length(runs) > 2) {
    corr <- sapply(runs, function(r) sapply(ix_all, function(ix) r[[ix]]$index.corrected))
    opt <- sapply(runs, function(r) sapply(ix_all, function(ix) r[[ix]]$optimism))
    mc <- list(
      description = paste0(
        "validate(fit, method='boot', B=", B, ") repeated with seeds ",
        min(seeds), "..", max(seeds), " (the primary and second seed are the",
        " first two). SD across seeds = Monte-Carlo SD of one B=", B,
        " run; a Rust run with its own RNG should fall within about 3 SD",
        " (plus its own MC SD, i.e. ~3*sqrt(2)*SD for an independent run)",
        " of the mean."),
      seeds = seeds, B = B,
      corrected_mean = as.list(rowMeans(corr)),
      corrected_sd = as.list(apply(corr, 1, sd)),
      corrected_min = as.list(apply(corr, 1, min)),
      corrected_max = as.list(apply(corr, 1, max)),
      optimism_mean = as.list(rowMeans(opt)),
      optimism_sd = as.list(apply(opt, 1, sd)))
  }

  res <- list(
    description = paste(
      "Reference for Harrell's bootstrap optimism correction: rms::validate",
      "on an unpenalised lrm fit. Generated by bench/validation_reference.R;",
      "not run in CI."),
    generated_by = "bench/validation_reference.R",
    trial = name,
    r_version = R.version$version.string,
    rms_version = as.character(packageVersion("rms")),
    hmisc_version = as.character(packageVersion("Hmisc")),
    rng_kind = RNGkind(),
    data = list(
      file = spec$file,
      md5 = unname(tools::md5sum(prep$path)),
      source = spec$source,
      n = nrow(d),
      responders = sum(d$responder == 1L),
      non_responders = sum(d$responder == 0L),
      row_order = "file order (bootstrap draws index rows in this order)"),
    target = "responder",
    modelled_probability = "P(responder = 1)",
    call = paste0("lrm(", deparse(fml, width.cutoff = 500L), ", x = TRUE, y = TRUE)"),
    predictors = spec$predictors,
    encoding = prep$encoding,
    design_columns = design_cols,
    excluded_columns = spec$excluded,
    full_set_note = spec$full_set_note,
    apparent_fit = list(
      coefficients = as.list(co),
      standard_errors = as.list(se),
      stats = as.list(st),
      note = paste(
        "stats are lrm's own (its C/Dxy are computed on rounded",
        "probabilities and can differ from validate's index.orig in the 4th",
        "decimal: compare with validate$primary$*$index.orig)."),
      coefficient_names = paste(
        "'Intercept' then the design columns; a factor column is",
        "'<column>=<level>' (indicator of that level, reference omitted)")),
    validate = list(
      call = paste0("set.seed(SEED); validate(fit, method = \"boot\", B = ", B, ")"),
      B = B,
      seed = SEED_PRIMARY,
      second_seed = SEED_SECOND,
      primary = r1,
      second = r2,
      corrected_difference_second_minus_primary = diff),
    monte_carlo = mc,
    definitions = list(
      index.orig = "apparent: model fitted and evaluated on the full data",
      training = "mean over bootstrap reps of the index of the bootstrap fit on its bootstrap sample",
      test = "mean over bootstrap reps of the index of the bootstrap fit evaluated on the original data",
      optimism = "training - test",
      index.corrected = "index.orig - optimism",
      n = "number of bootstrap reps that fitted successfully",
      Dxy = "Somers' Dxy = 2 * (AUC - 0.5)",
      AUC = "Dxy / 2 + 0.5 (optimism: Dxy optimism / 2)",
      R2 = "Nagelkerke R2",
      Intercept = paste("calibration intercept: logistic recalibration",
                        "logit P(y=1) = a + b * LP of the evaluated linear",
                        "predictor (apparent: 0; corrected = 0 - optimism)"),
      Slope = "calibration slope b of the same recalibration (apparent: 1)",
      Emax = "max |recalibrated p - p| over p in [0, 1] (apparent: 0)",
      B = "Brier score mean((p - y)^2), y in {0, 1}")
  )
  out <- file.path(OUT_DIR, paste0("rms_validate_", name, ".json"))
  writeLines(toJSON(res, auto_unbox = TRUE, pretty = TRUE, digits = NA,
                    null = "null", na = "null"), out)
  cat("wrote", out, "\n")
}

for (name in names(TRIALS)) run_trial(name, TRIALS[[name]])
