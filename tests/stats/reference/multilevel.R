# Reference three-level and CHE (correlated and hierarchical effects) fits for
# tests/stats/test_multilevel.py and tests/stats/test_robust.py (metafor 3.8-1, clubSandwich).
# Run from the repository root:
#   Rscript tests/stats/reference/multilevel.R > tests/stats/reference/multilevel.json
# Each case keeps its data (yi, vi, cluster, effect id) so that the tests need no R.
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})

i2_levels <- function(res, V) {
  # metafor's "I2 for multilevel models" (Cheung 2014, metafor website): typical sampling variance
  # (k - p) / tr(P), P = W - W X (X'WX)^-1 X'W with W the inverse sampling covariance.
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typical <- (res$k - res$p) / sum(diag(P))
  100 * res$sigma2 / (sum(res$sigma2) + typical)
}

tight <- list()  # metafor defaults: nlminb cannot reach tighter tolerances on these profiles

fit_case <- function(name, yi, vi, cluster, esid, method, rho = NULL) {
  V <- if (is.null(rho)) diag(vi) else vcalc(vi, cluster = cluster, obs = esid, rho = rho)
  res <- rma.mv(yi, V, random = ~ 1 | cluster / esid, method = method, control = tight)
  ci <- confint(res, control = list(tol = 1e-10))
  no_within <- rma.mv(yi, V, random = ~ 1 | cluster / esid, method = method, sigma2 = c(NA, 0), control = tight)
  no_between <- rma.mv(yi, V, random = ~ 1 | cluster / esid, method = method, sigma2 = c(0, NA), control = tight)
  a_within <- anova(res, no_within)
  a_between <- anova(res, no_between)
  out <- list(
    name = name, method = method, rho = rho,
    yi = yi, vi = vi, cluster = as.character(cluster), esid = as.character(esid),
    estimate = as.numeric(coef(res)), se = res$se, zval = res$zval, pval = res$pval,
    ci_lb = res$ci.lb, ci_ub = res$ci.ub,
    sigma2 = res$sigma2,
    sigma2_ci_lb = c(ci[[1]]$random[1, 2], ci[[2]]$random[1, 2]),
    sigma2_ci_ub = c(ci[[1]]$random[1, 3], ci[[2]]$random[1, 3]),
    i2 = i2_levels(res, V),
    QE = res$QE, QEp = res$QEp, loglik = as.numeric(logLik(res)),
    lrt_within = a_within$LRT, lrt_within_p = a_within$pval,
    lrt_between = a_between$LRT, lrt_between_p = a_between$pval,
    pi_lb = predict(res)$pi.lb, pi_ub = predict(res)$pi.ub
  )
  if (!is.null(rho)) {
    ct <- coef_test(res, vcov = "CR2", cluster = cluster, test = "Satterthwaite")
    out$cr2_se <- ct$SE
    out$cr2_df <- ct$df_Satt
    out$cr2_t <- ct$tstat
    out$cr2_p <- ct$p_Satt
  }
  out
}

a <- dat.assink2016
k <- dat.konstantopoulos2011
cases <- list(
  fit_case("konstantopoulos2011", k$yi, k$vi, k$district, k$school, "REML"),
  fit_case("konstantopoulos2011", k$yi, k$vi, k$district, k$school, "ML"),
  fit_case("assink2016", a$yi, a$vi, a$study, a$esid, "REML"),
  fit_case("assink2016", a$yi, a$vi, a$study, a$esid, "ML"),
  fit_case("assink2016", a$yi, a$vi, a$study, a$esid, "REML", rho = 0.6),
  fit_case("assink2016", a$yi, a$vi, a$study, a$esid, "REML", rho = 0.3),
  fit_case("konstantopoulos2011", k$yi, k$vi, k$district, k$school, "REML", rho = 0.6)
)
cat(toJSON(list(r_version = R.version.string,
                metafor = as.character(packageVersion("metafor")),
                clubSandwich = as.character(packageVersion("clubSandwich")),
                cases = cases), digits = NA, auto_unbox = TRUE, pretty = FALSE), "\n")
