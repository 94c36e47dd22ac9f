# Reference values for responder's smoothed calibration curve
# (src/eval/smooth.rs). Run from the project root:
#     Rscript bench/calibration_reference.R
# Writes tests/fixtures/calibration/<case>.json; the Rust tests read them.
# R is never run by the tests or by CI.
#
# The smoothed curve is R's loess(y ~ p) at its defaults (span 0.75,
# degree 2, gaussian family, tricube weights), with exact local fits and
# exact statistics (loess.control(surface = "direct", statistics =
# "exact")), as Austin & Steyerberg, "The Integrated Calibration Index (ICI)
# and related metrics for quantifying the calibration of logistic
# regression models", Stat Med 2019;38:4051-65, Appendix (loess(Y ~ P)),
# and CalibrationCurves::val.prob.ci.2 (Van Calster et al. 2016, J Clin
# Epidemiol 74:167-76). R's default surface = "interpolate" approximates
# these fits by cubic interpolation on a k-d tree; the fixture also keeps
# those values so the size of that approximation is visible.
#   ICI (= E-avg) = mean |p_i - f(p_i)|, E50 = median, E90 = 90th percentile
#   (R quantile type 7), E-max = max, where f is the loess fit.
#   Pointwise standard error: predict(..., se = TRUE)$se.fit = s * ||l(x)||,
#   s = residual.scale = sqrt(RSS / one.delta), one.delta = tr((I-L)'(I-L)).

num <- function(x) paste0("[", paste(formatC(x, digits = 17, format = "g"), collapse = ","), "]")

write_case <- function(name, p, y, note) {
  fit <- loess(y ~ p, control = loess.control(surface = "direct", statistics = "exact"))
  pr <- predict(fit, newdata = data.frame(p = p), se = TRUE)
  f <- as.numeric(pr$fit)
  d <- abs(p - f)
  approx_fit <- as.numeric(predict(loess(y ~ p), newdata = data.frame(p = p)))
  grid <- seq(min(p), max(p), length.out = 11)
  pg <- predict(fit, newdata = data.frame(p = grid), se = TRUE)
  out <- paste0(
    "{\n",
    "  \"case\": \"", name, "\",\n",
    "  \"note\": \"", note, "\",\n",
    "  \"generator\": \"bench/calibration_reference.R\",\n",
    "  \"r_version\": \"", R.version$major, ".", R.version$minor, "\",\n",
    "  \"p\": ", num(p), ",\n",
    "  \"y\": ", num(as.integer(y)), ",\n",
    "  \"fit\": ", num(f), ",\n",
    "  \"se_fit\": ", num(as.numeric(pr$se.fit)), ",\n",
    "  \"residual_scale\": ", formatC(pr$residual.scale, digits = 17, format = "g"), ",\n",
    "  \"one_delta\": ", formatC(fit$one.delta, digits = 17, format = "g"), ",\n",
    "  \"enp\": ", formatC(fit$enp, digits = 17, format = "g"), ",\n",
    "  \"grid\": ", num(grid), ",\n",
    "  \"grid_fit\": ", num(as.numeric(pg$fit)), ",\n",
    "  \"grid_se\": ", num(as.numeric(pg$se.fit)), ",\n",
    "  \"ici\": ", formatC(mean(d), digits = 17, format = "g"), ",\n",
    "  \"e50\": ", formatC(median(d), digits = 17, format = "g"), ",\n",
    "  \"e90\": ", formatC(as.numeric(quantile(d, 0.9)), digits = 17, format = "g"), ",\n",
    "  \"emax\": ", formatC(max(d), digits = 17, format = "g"), ",\n",
    "  \"ici_interpolate\": ", formatC(mean(abs(p - approx_fit)), digits = 17, format = "g"), "\n",
    "}\n")
  writeLines(out, file.path("tests/fixtures/calibration", paste0(name, ".json")), sep = "")
}

dir.create("tests/fixtures/calibration", showWarnings = FALSE, recursive = TRUE)
set.seed(20261205)
n <- 300
lp <- rnorm(n, -0.3, 1.2)
p <- plogis(lp)
y <- rbinom(n, 1, plogis(0.3 + 0.7 * lp))
write_case("miscalibrated_300", p, y, "p = plogis(N(-0.3, 1.2)); true logit = 0.3 + 0.7 logit(p)")

n <- 60
p <- round(plogis(rnorm(n, 0, 1)), 2) # ties, as from a tree
y <- rbinom(n, 1, p)
write_case("ties_60", p, y, "p rounded to 2 decimals (ties); y ~ Bernoulli(p)")

n <- 2500
lp <- rnorm(n, -1, 1)
p <- plogis(lp)
y <- rbinom(n, 1, plogis(-0.2 + 1.3 * lp))
write_case("underfit_2500", p, y, "p = plogis(N(-1, 1)); true logit = -0.2 + 1.3 logit(p)")
